"""Tests for descend.descent.schedules: literal values, validation, registry, serialisation."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from descend.descent import schedules as sch


def values(schedule: sch.Schedule, steps: list[int]) -> list[float]:
    return [schedule(t) for t in steps]


def test_constant() -> None:
    """η_t = η at every step."""
    assert values(sch.constant(0.3), [0, 1, 10**6]) == [0.3, 0.3, 0.3]


def test_step_decay() -> None:
    """1·0.5^⌊t/3⌋ at t = 0, 2, 3, 5, 6, 9."""
    s = sch.step_decay(1.0, step_size=3)
    assert values(s, [0, 2, 3, 5, 6, 9]) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    assert sch.step_decay(0.2, step_size=10, gamma=0.1)(25) == pytest.approx(0.002, rel=1e-15)


def test_exponential_decay() -> None:
    """2·0.5^(t/4): continuous, halving every 4 steps."""
    s = sch.exponential_decay(2.0, decay_rate=0.5, decay_steps=4)
    assert values(s, [0, 4, 8]) == [2.0, 1.0, 0.5]
    assert s(2) == pytest.approx(2.0 / math.sqrt(2.0), rel=1e-15)
    assert sch.exponential_decay(1.0, 0.9)(3) == pytest.approx(0.729, rel=1e-15)


def test_inverse_time_decay() -> None:
    """1/(1 + 0.5·t/2) at t = 0, 4, 12."""
    s = sch.inverse_time_decay(1.0, decay_rate=0.5, decay_steps=2)
    assert values(s, [0, 4, 12]) == [1.0, 0.5, 0.25]
    assert sch.inverse_time_decay(0.1, 1.0)(9) == pytest.approx(0.01, rel=1e-15)


def test_cosine_decay() -> None:
    """Half-cosine from η to αη over T steps, flat afterwards."""
    s = sch.cosine_decay(1.0, decay_steps=4)
    expected = [1.0, 0.5 + 0.5 * math.sqrt(0.5), 0.5, 0.5 - 0.5 * math.sqrt(0.5), 0.0, 0.0]
    assert values(s, [0, 1, 2, 3, 4, 100]) == pytest.approx(expected, abs=1e-15)
    s = sch.cosine_decay(2.0, decay_steps=10, alpha=0.1)
    assert values(s, [0, 5, 10, 50]) == pytest.approx([2.0, 1.1, 0.2, 0.2], rel=1e-14)


def test_warmup() -> None:
    """Linear 0 → S(0) over W steps, then S(t − W)."""
    s = sch.warmup(sch.step_decay(1.0, step_size=2), warmup_steps=4)
    assert values(s, [0, 1, 2, 3, 4, 5, 6, 8]) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.25]
    s = sch.warmup(0.1, warmup_steps=2, init_lr=0.05)
    assert values(s, [0, 1, 2, 99]) == pytest.approx([0.05, 0.075, 0.1, 0.1], rel=1e-15)
    assert sch.warmup(0.1, warmup_steps=0)(0) == 0.1


def test_as_schedule() -> None:
    """Floats become constants; schedules and plain callables pass through."""
    assert sch.as_schedule(0.5) == sch.constant(0.5)
    s = sch.cosine_decay(1.0, 10)
    assert sch.as_schedule(s) is s

    def fn(t: int) -> float:
        return 1.0 / (t + 1)

    assert sch.as_schedule(fn) is fn


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "0.1", None, True])
def test_as_schedule_rejects_bad_learning_rates(bad: Any) -> None:
    """A learning rate that is not a positive finite number is named in the error."""
    with pytest.raises(ValueError, match=re.escape(f"Invalid learning rate: {bad!r}")):
        sch.as_schedule(bad)


NOT_AN_INT: Any = 2.5


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: sch.step_decay(0.1, step_size=0), "Invalid step_size: 0"),
        (lambda: sch.step_decay(0.1, step_size=NOT_AN_INT), "Invalid step_size: 2.5"),
        (lambda: sch.step_decay(0.1, 10, gamma=1.5), "Invalid gamma: 1.5 (must be in (0, 1])"),
        (lambda: sch.exponential_decay(0.1, decay_rate=0.0), "Invalid decay_rate: 0.0"),
        (lambda: sch.inverse_time_decay(0.1, decay_rate=-1.0), "Invalid decay_rate: -1.0"),
        (lambda: sch.cosine_decay(0.1, decay_steps=10, alpha=2.0), "Invalid alpha: 2.0"),
        (lambda: sch.warmup(0.1, warmup_steps=-1), "Invalid warmup_steps: -1"),
        (lambda: sch.warmup(0.1, warmup_steps=5, init_lr=-0.1), "Invalid init_lr: -0.1"),
        (lambda: sch.cosine_decay(-0.1, decay_steps=10), "Invalid learning rate: -0.1"),
    ],
)
def test_invalid_parameters_are_named(build: object, message: str) -> None:
    """Construction fails with a message naming the parameter and the value."""
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_get_schedule_defaults_from_max_steps() -> None:
    """Each named schedule gets documented defaults scaled to max_steps."""
    M = 1000
    assert sch.get_schedule("constant", 0.1, max_steps=M) == sch.constant(0.1)
    assert sch.get_schedule("step", 0.1, max_steps=M) == sch.step_decay(0.1, 250, 0.5)
    exp = sch.get_schedule("exponential", 0.1, max_steps=M)
    assert exp(M) == pytest.approx(0.001, rel=1e-12)
    inv = sch.get_schedule("inverse_time", 0.1, max_steps=M)
    assert inv(M) == pytest.approx(0.01, rel=1e-12)
    cos = sch.get_schedule("cosine", 0.1, max_steps=M)
    assert (cos(0), cos(M)) == (0.1, 0.0)
    wc = sch.get_schedule("warmup-cosine", 0.1, max_steps=M)
    assert wc == sch.warmup(sch.cosine_decay(0.1, 950), 50)
    assert (wc(0), wc(25), wc(50), wc(M)) == pytest.approx((0.0, 0.05, 0.1, 0.0), abs=1e-15)
    assert sch.get_schedule("warmup", 0.1, max_steps=M) == sch.warmup(0.1, 50)


def test_get_schedule_overrides_and_errors() -> None:
    """kwargs override defaults; unknown names and parameters are listed in the error."""
    assert sch.get_schedule("step", 0.1, max_steps=100, gamma=0.1) == sch.step_decay(0.1, 25, 0.1)
    with pytest.raises(ValueError, match="Unknown schedule 'linear'; valid names: constant, cos"):
        sch.get_schedule("linear", 0.1)
    with pytest.raises(ValueError, match="Unknown parameter 'gama' for schedule 'step'; valid:"):
        sch.get_schedule("step", 0.1, gama=0.1)


def test_registry_and_describe() -> None:
    """SCHEDULES lists every name with a summary; describe() shows defaults for max_steps."""
    assert {"constant", "step", "exponential", "inverse-time", "cosine", "warmup-cosine"} <= set(
        sch.SCHEDULES
    )
    for name in sch.SCHEDULES:
        assert sch.get_schedule(name, 0.1, max_steps=200)(0) >= 0.0
    by_name = {d["name"]: d for d in sch.describe(max_steps=400)}
    assert by_name["cosine"]["defaults"] == {"decay_steps": 400, "alpha": 0.0}
    json.dumps(sch.describe())


@pytest.mark.parametrize(
    "schedule",
    [
        sch.constant(0.1),
        sch.step_decay(0.1, 10, 0.3),
        sch.exponential_decay(0.1, 0.5, 7),
        sch.inverse_time_decay(0.1, 2.0, 3),
        sch.cosine_decay(0.1, 50, 0.01),
        sch.warmup(sch.cosine_decay(0.1, 50), 5, 0.01),
    ],
)
def test_to_dict_round_trips_through_json(schedule: Any) -> None:
    """to_dict() is JSON-serialisable and from_dict() rebuilds an equal schedule."""
    d = schedule.to_dict()
    assert isinstance(d["name"], str)
    back = sch.from_dict(json.loads(json.dumps(d)))
    assert back == schedule
    assert values(back, list(range(0, 80, 7))) == values(schedule, list(range(0, 80, 7)))


def test_schedules_are_frozen_with_readable_repr() -> None:
    """Schedules are immutable values with a constructor-like repr."""
    s: Any = sch.step_decay(0.1, 10)
    assert repr(s) == "StepDecay(lr=0.1, step_size=10, gamma=0.5)"
    with pytest.raises(AttributeError):
        s.lr = 1.0
    assert isinstance(s(3), float)
