"""The loop's fast lane (``descent/fastlane.py``): what it must see, and its pieces.

Its whole-run behaviour — bit for bit the step-by-step loop's, with every way a run ends
inside a pass — is tested in ``tests/test_loop_run.py`` against ``benchmarks/loop_reference.py``.
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap

import numpy as np
import pytest

from descend.data.encoding import encode_tree
from descend.descent import fastlane, optim
from descend.descent.loop import Descent

pytestmark = pytest.mark.timeout(60)


def test_every_rule_the_full_body_calls_is_one_the_fast_lane_knows():
    """A rule method called by ``Descent.run`` that :data:`FULL_BODY_RULES` does not list fails
    here: a new per-step rule must get its test into the passes (or turn the lane off for the
    runs that have it) before it is listed — otherwise the lane would skip it silently."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(Descent.run)))
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    }
    assert called == set(fastlane.FULL_BODY_RULES)


def _pass_input(losses: list[float]) -> fastlane.Pass:
    return fastlane.Pass(len(losses), losses, [], [], [], np.zeros(1), np.zeros(1), math.inf,
                         math.inf, 0, 0)  # fmt: skip


def _calm_by_hand(losses, prev, best, calm, floor, stall_tol, sqrt_eps):
    """The full body's per-step calm rule, written out step by step (the loop's own lines)."""
    for loss in losses:
        scale = abs(loss)
        scale = floor if floor > scale else scale
        progress = loss < best - stall_tol * scale
        still = math.isfinite(prev) and abs(loss - prev) <= sqrt_eps * scale
        calm = calm + 1 if still and not progress else 0
        best = min(best, loss)
        prev = loss
    return calm


@pytest.mark.parametrize("start", [0, 3, 40])
def test_calm_after_is_the_per_step_counter(rng, start):
    """The vectorised calm counter equals the per-step rule on sequences that are still, that
    set new lows by more and by less than stall_tol, that rise, and that start after NaN."""
    eps = float(np.finfo(float).eps)
    sqrt_eps, stall_tol = math.sqrt(eps), 64 * eps
    for _ in range(200):
        base = rng.uniform(0.5, 2.0)
        kinds = rng.integers(0, 4, size=rng.integers(1, 40))
        losses, x = [], base
        for kind in kinds:
            x = x * (
                1.0 + [0.0, -1e-14, -1e-6, 1e-12][kind] * rng.uniform(0.5, 2.0)
            )  # still, tiny low, real low, tiny rise
            losses.append(x)
        prev = math.nan if rng.random() < 0.2 else base
        best = min(base, math.inf if rng.random() < 0.5 else base * 1.1)
        floor = eps * base
        want = _calm_by_hand(losses, prev, best, start, floor, stall_tol, sqrt_eps)
        got = fastlane.calm_after(_pass_input(losses), prev, best, start, floor, stall_tol,
                                  sqrt_eps)  # fmt: skip
        assert got == want


def test_runs_counts_consecutive_flags():
    """c_j = c_{j−1} + 1 where the flag is set, else 0, from a start value."""
    flags = np.array([True, True, False, True, False, False, True, True, True])
    got = fastlane.runs(flags, 5, np.arange(flags.size))
    np.testing.assert_array_equal(got, [6, 7, 0, 1, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(fastlane.runs(np.array([True, True]), 0, np.arange(2)), [1, 2])


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "rmsprop", "adagrad"])
def test_fused_rewind_restores_the_rule_state(rng, name):
    """``Fused.mark``/``rewind``: updates after a rewind are those after the mark, bit for bit
    (what the lane relies on when the full body makes a chunk again)."""
    opt = optim.get(name, 0.05)
    assert opt.fused is not None
    kernel = opt.fused()
    theta = rng.normal(size=4)
    kernel.load(opt.init(theta))
    grads = [rng.normal(size=4) for _ in range(6)]
    for g in grads[:2]:
        kernel.apply(g, 0.05)
    mark = kernel.mark()
    first = [kernel.apply(g, 0.05).copy() for g in grads[2:]]
    state = kernel.state()
    kernel.rewind(mark)
    again = [kernel.apply(g, 0.05).copy() for g in grads[2:]]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert encode_tree(kernel.state()) == encode_tree(state)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("batch_size", [None, 7])
def test_the_lane_and_the_full_body_give_the_same_run(monkeypatch, rng, batch_size):
    """``FAST_LANE = False`` sends every step through the full body: the same snapshot (θ,
    counters, record, optimizer and sampler state), stop and message, bit for bit."""
    import descend as ds
    from descend.descent import loop

    X = rng.normal(size=(50, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=50)
    objective = ds.objective(X, y)
    runs = []
    for lane in (True, False):
        monkeypatch.setattr(loop, "FAST_LANE", lane)
        d = Descent(objective, np.zeros(objective.n_params), optim.get("momentum", 0.05),
                    max_steps=3000, batch_size=batch_size, tol=1e-10)  # fmt: skip
        for n in (5, 1030, 3000):
            d.run(n)
        runs.append((d.snapshot().to_dict(), d.stop_reason, d.message))
    assert runs[0] == runs[1]
    assert runs[0][1] is not None
