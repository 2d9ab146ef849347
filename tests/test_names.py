"""Names a user types: "did you mean", the step limit's alias, the missing-extra message."""

import pytest

from descend.data.names import MissingExtraError, did_you_mean, require, step_limit


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("max_step", ["max_steps", "tol", "seed"], "max_steps"),
        ("--max-stepz", ["--max-steps", "--lr"], "--max-steps"),
        ("adma", ["gd", "adam", "momentum"], "adam"),
        ("betta", ["beta", "eps"], "beta"),
    ],
)
def test_did_you_mean_names_the_closest(word, choices, expected):
    """A one-letter slip gets the intended name (difflib's ratio ≥ 0.6)."""
    assert f"'{expected}'" in did_you_mean(word, choices)


def test_did_you_mean_is_silent_for_unrelated_words():
    """Nothing close: no suggestion rather than a misleading one."""
    assert did_you_mean("qqqqqq", ["max_steps", "tol"]) == ""


def test_step_limit_alias():
    """max_iter is taken as max_steps; both with different values are refused."""
    opts = {"max_iter": 7, "beta": 0.5}
    assert step_limit(10_000, opts, 10_000) == 7 and opts == {"beta": 0.5}
    assert step_limit(12, {}, 10_000) == 12
    assert step_limit(7, {"max_iter": 7}, 10_000) == 7
    with pytest.raises(TypeError, match="both given"):
        step_limit(5, {"max_iter": 7}, 10_000)


def test_require_names_the_extra_and_the_install_command(monkeypatch):
    """A missing optional library is one line with pip's command for the extra."""
    monkeypatch.setitem(__import__("sys").modules, "dask", None)
    with pytest.raises(MissingExtraError) as exc:
        require("dask", "dask", "--dask")
    msg = str(exc.value)
    assert "\n" not in msg and 'pip install "descend[dask]"' in msg and "--dask" in msg
    assert isinstance(exc.value, ImportError)
