"""``Descent.run`` (the chunked fast path) against the step-by-step loop it replaced.

The reference is the loop as it ran before (``benchmarks/loop_reference.py``: a verbatim copy
of the old ``Descent.step`` and its driver, one step per call). Every case runs the same fit
twice — once as it runs now, once with ``Descent.run`` patched to the reference — and asserts
the same stop reason, step count, message, warnings, history (every column, bit for bit), θ,
optimizer state and certificate. The matrix covers the update rules, full batch and
mini-batch, constant, "auto" and scheduled rates, and every way a run ends.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from benchmarks.loop_reference import reference_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend as ds
from descend.data.encoding import encode_tree
from descend.descent import optim
from descend.descent.loop import Descent, LoopState
from descend.problems.models.linear import Linear

pytestmark = pytest.mark.timeout(120)

COLUMNS = (
    "step",
    "loss",
    "grad_norm",
    "step_size",
    "lr",
    "params",
    "val_loss",
    "sharpness",
    "preconditioned_sharpness",
)


@pytest.fixture
def reg(rng):
    """A small regression with unequal feature scales (κ > 1 after scaling)."""
    X = rng.normal(size=(40, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    return X, X @ [1.5, -2.0, 0.5] + 1.0 + 0.1 * rng.normal(size=40)


def _same(new: Any, old: Any, renamed: tuple[str, str] = ("", "")) -> None:
    assert new.stop_reason == old.stop_reason
    assert new.n_steps == old.n_steps
    assert new.message == old.message.replace(*renamed)  # a checkpoint's path: its own
    assert new.warnings == old.warnings
    np.testing.assert_array_equal(new.params, old.params)
    assert (new.loss == old.loss) or (math.isnan(new.loss) and math.isnan(old.loss))
    for col in COLUMNS:
        a, b = getattr(new.history, col), getattr(old.history, col)
        assert (a is None) == (b is None), col
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=col)
    assert set(new.history.state_norms) == set(old.history.state_norms)
    for key, norms in new.history.state_norms.items():
        np.testing.assert_array_equal(norms, old.history.state_norms[key], err_msg=key)
    assert encode_tree(new.opt_state) == encode_tree(old.opt_state)
    assert (new.certificate is None) == (old.certificate is None)
    if new.certificate is not None:
        assert new.certificate == old.certificate


def _both(monkeypatch: pytest.MonkeyPatch, fit: Any) -> tuple[Any, Any]:
    """(the fit as it runs now, the same fit through the step-by-step reference)."""
    new = fit()
    with monkeypatch.context() as m:
        m.setattr(Descent, "run", reference_run)
        old = fit()
    return new, old


RULES = ["gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("optimizer", RULES)
@pytest.mark.parametrize("batch_size", [None, 8])
@pytest.mark.parametrize("lr", [0.02, "auto", "schedule"])
def test_every_rule_and_rate_matches_the_step_loop(monkeypatch, reg, optimizer, batch_size, lr):
    """Converging runs (certified, stalled at the noise floor or at max_steps) and their
    records are the reference's, bit for bit."""
    X, y = reg
    kw: dict[str, Any] = {}
    if lr == "schedule":
        lr, kw = 0.05, {"schedule": "cosine"}
    new, old = _both(
        monkeypatch,
        lambda: ds.fit(
            X, y, optimizer=optimizer, learning_rate=lr, batch_size=batch_size, max_steps=400, **kw
        ),
    )
    _same(new, old)
    assert new.n_steps > 0


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    ("case", "kw", "reason"),
    [
        ("certified", {"learning_rate": "auto"}, "converged"),
        ("max_steps", {"learning_rate": 1e-4, "max_steps": 50}, "max_steps"),
        ("stalled", {"learning_rate": "auto", "tol": 0.0, "max_steps": 5000}, "stalled"),
        ("rising", {"learning_rate": 0.56}, "diverged"),  # just above 2/λ_max ≈ 0.539
        ("momentum blow-up", {"optimizer": "momentum", "learning_rate": 1.5}, "diverged"),
        ("blow-up", {"learning_rate": 5.0}, "diverged"),
        ("overflow", {"learning_rate": 1e200}, "diverged"),
        ("adam blow-up", {"optimizer": "adam", "learning_rate": 1e150}, "diverged"),
        ("mini-batch blow-up", {"learning_rate": 1e3, "batch_size": 5}, "diverged"),
        ("mini-batch certified", {"learning_rate": 0.05, "batch_size": 5, "tol": 1e-3}, None),
        (
            "mini-batch stall",
            {"loss": "huber", "learning_rate": 0.05, "batch_size": 5, "tol": 1e-2, "patience": 3},
            "stalled",
        ),
        ("clipped (no fused form)", {"optimizer": "adam", "clip_norm": 0.5}, None),
        ("rmsprop momentum", {"optimizer": "rmsprop", "momentum": 0.5}, None),
        ("adamw", {"optimizer": "adamw", "learning_rate": 0.05}, None),
        ("averaged", {"learning_rate": 0.05, "average": 10, "max_steps": 300}, None),
        ("state norms (general body)", {"optimizer": "momentum", "record_state": True}, None),
        ("l1 (general body)", {"penalty": "l1", "alpha": 0.05}, None),
        ("armijo (general body)", {"learning_rate": "armijo"}, None),
        ("unscaled", {"learning_rate": 1e-3, "model": Linear(scale=False), "max_steps": 300}, None),
    ],
)
def test_every_ending_matches_the_step_loop(monkeypatch, reg, case, kw, reason):
    """Each way a run ends — certified, max_steps, stalled, diverged by rising, by blowing up,
    by overflowing to inf/NaN (full batch and mini-batch) — and the rules without a fused
    form give the reference's verdict, message, record and θ."""
    X, y = reg
    settings = {"max_steps": 2000, **kw}
    with np.errstate(all="ignore"):
        new, old = _both(monkeypatch, lambda: ds.fit(X, y, **settings))
    _same(new, old)
    if reason is not None:
        assert new.stop_reason == reason, new.message
    if case == "rising":
        assert "kept rising" in new.message


@pytest.mark.filterwarnings("ignore")
def test_norris_and_a_surface_match_the_step_loop(monkeypatch):
    """NIST Norris (36×1, a certified least-squares fit) and a textbook surface through
    ``ds.minimize`` (no data, stationarity instead of a certificate)."""
    norris = ds.datasets.load("norris")
    for optimizer in ("gd", "momentum", "adam"):
        new, old = _both(
            monkeypatch,
            lambda o=optimizer: ds.fit(norris.X, norris.y, optimizer=o, learning_rate="auto"),
        )
        _same(new, old)
    for surface, optimizer, lr in (
        (ds.surfaces.rosenbrock(), "momentum", 1e-3),
        (ds.surfaces.quadratic(), "gd", 0.05),
    ):
        new, old = _both(
            monkeypatch,
            lambda s=surface, o=optimizer, r=lr: ds.minimize(
                s, [-1.0, 1.0], optimizer=o, learning_rate=r, max_steps=3000
            ),
        )
        _same(new, old)
    assert new.stop_reason == "stationary"


@pytest.mark.filterwarnings("ignore")
def test_callbacks_and_validation_match_the_step_loop(monkeypatch, reg):
    """A callback that stops the run (full batch, and at a mini-batch epoch's end), and early
    stopping on a validation split."""
    X, y = reg
    seen: list[int] = []

    def stop_at(step: int) -> Any:
        def callback(k: int, theta: Any, loss: float) -> bool:
            seen.append(k)
            return k == step

        return callback

    for batch_size, step in ((None, 37), (8, 9), (8, 12)):  # 40 rows / 8: epochs end at 4, 9, …
        new, old = _both(
            monkeypatch,
            lambda b=batch_size, s=step: ds.fit(
                X, y, batch_size=b, callback=stop_at(s), max_steps=500
            ),
        )
        _same(new, old)
        assert new.stop_reason == "interrupted" and new.n_steps == step + 1
    assert seen[: step + 1] == list(range(step + 1))
    new, old = _both(
        monkeypatch,
        lambda: ds.fit(
            X,
            y,
            learning_rate=0.05,
            validation_fraction=0.25,
            early_stopping=True,
            n_iter_no_change=3,
            max_steps=3000,
        ),
    )
    _same(new, old)


@pytest.mark.filterwarnings("ignore")
def test_separated_matches_the_step_loop(monkeypatch, rng):
    """Log loss on separable rows (the general body: the separation rules)."""
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    new, old = _both(
        monkeypatch, lambda: ds.fit(X, y, loss="logloss", learning_rate=0.5, max_steps=3000)
    )
    _same(new, old)
    assert new.stop_reason == "separated"


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("batch_size", [None, 7])
def test_checkpoints_and_resume_match_the_step_loop(monkeypatch, tmp_path, reg, batch_size):
    """A checkpointed run (chunks end at each checkpoint) stopped by its callback, then
    resumed: the files, the resumed run and the uninterrupted run are the reference's."""
    X, y = reg
    kw = dict(
        optimizer="adam",
        learning_rate=0.01,
        batch_size=batch_size,
        max_steps=600,
        tol=0,
        patience=10_000,
    )
    paths = iter([tmp_path / "a.ckpt", tmp_path / "b.ckpt"])

    def part() -> Any:
        return ds.fit(
            X,
            y,
            callback=lambda k, t, v: k == 250,
            checkpoint=next(paths),
            checkpoint_every=100,
            **kw,
        )

    new, old = _both(monkeypatch, part)
    renamed = (str(tmp_path / "b.ckpt"), str(tmp_path / "a.ckpt"))
    _same(new, old, renamed)
    a, b = ds.load_checkpoint(tmp_path / "a.ckpt"), ds.load_checkpoint(tmp_path / "b.ckpt")
    assert a.step == b.step == 251
    new_res = ds.resume(tmp_path / "a.ckpt", X, y)
    with monkeypatch.context() as m:
        m.setattr(Descent, "run", reference_run)
        old_res = ds.resume(tmp_path / "b.ckpt", X, y)
        full = ds.fit(X, y, **kw)
    _same(new_res, old_res, renamed)
    np.testing.assert_array_equal(new_res.params, full.params)
    np.testing.assert_array_equal(new_res.history.loss, full.history.loss)


def test_run_makes_at_most_n_steps_and_stops_like_step(reg):
    """``run(n)`` makes n updates (the record grows by n); past max_steps it stops with the
    budget verdict, as the (max_steps + 1)-th call of ``step`` does, and then makes none."""
    X, y = reg
    objective = ds.objective(X, y)
    run = Descent(objective, np.zeros(objective.n_params), optim.gd(1e-3), max_steps=25)
    assert run.run(10) == 10 and run.k == 10 and len(run.recorder) == 10
    assert run.run(15) == 15 and run.k == 25 and run.stop_reason is None
    assert run.run(5) == 0 and run.stop_reason == "max_steps" and run.k == 25
    assert run.run(5) == 0 and len(run.recorder) == 25


def test_squared_error_is_the_matmul_formula_bit_for_bit(rng):
    """The fused MSE (``ndarray.dot`` on a contiguous design) gives the bits of the formula
    written with ``@`` (as it was written before), on C- and F-ordered and strided designs."""
    for n, p in ((36, 1), (442, 10), (8, 3), (1, 1), (257, 31)):
        model = Linear(intercept=True)
        for Z in (
            rng.normal(size=(n, p)),
            np.asfortranarray(rng.normal(size=(n, p))),
            rng.normal(size=(n, 2 * p))[:, ::2],
        ):
            theta, y = rng.normal(size=p + 1), rng.normal(size=n) * 100
            model.n_params = p + 1
            loss, grad = model.squared_error(theta, Z, y)
            yhat = Z @ theta[:p]
            yhat += theta[p]
            r = y - yhat
            d = (-2.0 / n) * r
            want = np.empty(p + 1)
            want[:p] = Z.T @ d
            want[p] = np.add.reduce(d)
            assert loss == float(r @ r) / n
            np.testing.assert_array_equal(grad, want)
            bound = model.squared_error_on(Z, y)  # the same, its lookups made once
            for t in (theta, rng.normal(size=p + 1)):
                a, b = bound(t), model.squared_error(t, Z, y)
                assert a[0] == b[0]
                np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    ("optimizer", "lr", "batch_size"),
    [
        ("gd", 0.5393, None),  # oscillating at the stability limit: the reversal counter grows
        ("gd", 0.02, None),
        ("momentum", 0.3, None),
        ("adam", 0.05, None),
        ("gd", 0.05, 7),
        ("adam", 0.01, 7),
    ],
)
def test_every_counter_matches_the_step_loop(reg, optimizer, lr, batch_size):
    """The whole loop state — θ, the optimizer state, the history, the stopping rules'
    counters (calm, rising, reversals, the gradient's lows), the lowest-loss θ, the epoch
    losses, the sampler — after ``run`` in uneven chunks equals the state after the same
    number of reference steps, at every chunk boundary (its exact JSON encoding)."""
    X, y = reg
    objective = ds.objective(X, y)
    theta0 = np.zeros(objective.n_params)

    def descent() -> Descent:
        return Descent(objective, theta0, optim.get(optimizer, lr), max_steps=3000,
                       batch_size=batch_size, tol=0.0, record_params=True)  # fmt: skip

    new, old = descent(), descent()
    for n in (1, 2, 5, 100, 1500, 1, 2000):
        made = new.run(n)
        assert reference_run(old, n) == made
        assert new.snapshot().to_dict() == old.snapshot().to_dict()
        assert (new.stop_reason, new.message) == (old.stop_reason, old.message)
    assert new.flips > 0 or lr != 0.5393


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    ("case", "kw", "reason"),
    [
        ("mae smoothing", {"loss": "mae", "learning_rate": "auto"}, None),
        (
            "mae smoothing, few steps",
            {"loss": "mae", "learning_rate": "auto", "max_steps": 40},
            None,
        ),
        ("huber armijo", {"loss": "huber", "learning_rate": "armijo", "tol": 0.0}, None),
        ("armijo to the floor", {"learning_rate": "armijo", "tol": 0.0, "gtol": 0.0}, "stalled"),
        ("sharpness", {"learning_rate": 0.05, "track_sharpness": 7, "max_steps": 200}, None),
        (
            "preconditioned sharpness",
            {"optimizer": "adam", "learning_rate": 0.05, "track_sharpness": 5, "max_steps": 150},
            None,
        ),
        (
            "sharpness, mini-batch",
            {"learning_rate": 0.05, "batch_size": 8, "track_sharpness": 6, "max_steps": 120},
            None,
        ),
        ("state norms, adam", {"optimizer": "adam", "record_state": True, "max_steps": 300}, None),
        (
            "state norms, mini-batch",
            {"optimizer": "momentum", "batch_size": 8, "record_state": True, "max_steps": 300},
            None,
        ),
        (
            "l1, mini-batch",
            {"penalty": "l1", "alpha": 0.05, "batch_size": 8, "max_steps": 400},
            None,
        ),
        ("l1 stationary", {"penalty": "l1", "alpha": 0.5, "learning_rate": "auto"}, None),
        (
            "validation, no early stopping",
            {"validation_fraction": 0.25, "learning_rate": 0.05, "max_steps": 300},
            None,
        ),
        (
            "validation, mini-batch early stopping",
            {
                "validation_fraction": 0.25,
                "early_stopping": True,
                "n_iter_no_change": 2,
                "batch_size": 6,
                "learning_rate": 0.2,
                "max_steps": 3000,
            },
            None,
        ),
        (
            "validation, diverging",
            {"validation_fraction": 0.25, "learning_rate": 5.0, "max_steps": 300},
            "diverged",
        ),
    ],
)
def test_every_feature_matches_the_step_loop(monkeypatch, reg, case, kw, reason):
    """The features the common runs lack — the MAE's smoothing continuation (stages that end
    without stopping, the line search's warm start), the line search with other losses and
    rules, sharpness tracking (plain and preconditioned, full batch and mini-batch), the
    optimizer state's norms, an L1 part (proximal steps, judged by the minimum-norm
    subgradient), a validation split (with and without early stopping, per step and per
    epoch) — give the reference's verdict, message, record (every column, the tracked ones
    and the state norms included) and θ."""
    X, y = reg
    settings = {"max_steps": 2000, **kw}
    with np.errstate(all="ignore"):
        new, old = _both(monkeypatch, lambda: ds.fit(X, y, **settings))
    _same(new, old)
    if reason is not None:
        assert new.stop_reason == reason, new.message
    if "track_sharpness" in kw:
        assert np.isfinite(new.history.sharpness).sum() > 1


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("batch_size", [None, 6])
def test_log_loss_matches_the_step_loop(monkeypatch, rng, batch_size):
    """Log loss on rows that are not separable (the separation rules run and do not fire)
    and on separable ones (full batch and mini-batch: the rule fires at a step or an epoch's
    end)."""
    X = rng.normal(size=(40, 2))
    noisy = (X[:, 0] + 0.8 * rng.normal(size=40) > 0).astype(float)
    clean = (X[:, 0] - X[:, 1] > 0).astype(float)
    for labels in (noisy, clean):
        new, old = _both(
            monkeypatch,
            lambda t=labels: ds.fit(
                X, t, loss="logloss", learning_rate=0.5, batch_size=batch_size, max_steps=2000
            ),
        )
        _same(new, old)
    assert new.stop_reason == "separated"


@pytest.mark.filterwarnings("ignore")
def test_step_by_step_is_run_and_the_reference(reg):
    """``step()`` (``run(1)``) one call at a time returns the rows the record holds and ends
    where the reference ends, on a run with the general features (the MAE's continuation,
    whose stage changes make no row)."""
    X, y = reg
    objective = ds.objective(X, y, loss="mae")
    theta0 = np.zeros(objective.n_params)
    from descend.descent.rates import Smoothing

    def descent() -> Descent:
        return Descent(objective, theta0, optim.gd(1.0), max_steps=400, line_search=True,
                       smoothing=Smoothing(), record_params=True)  # fmt: skip

    new, old = descent(), descent()
    rows = []
    while (row := new.step()) is not None:
        rows.append(row)
    assert reference_run(old, 10**6) == len(rows) == new.k
    assert rows == new.recorder.rows == old.recorder.rows
    assert (new.stop_reason, new.message) == (old.stop_reason, old.message)
    assert new.snapshot().to_dict() == old.snapshot().to_dict()
    assert new.delta is not None and new.stage_delta is not None  # stages ended on the way


def test_line_search_without_decrease_matches_the_step_loop():
    """A line search that finds no decrease ends the run as "stalled", as in the reference
    (here: a surface whose loss at θ_k, as the step sees it, is 10⁶ below the value the search
    measures, so no trial step looks lower)."""
    bowl = ds.surfaces.quadratic()

    class Below(type(bowl)):  # type: ignore[misc]
        def value_and_grad(self, theta: Any) -> Any:
            loss, g = super().value_and_grad(theta)
            return loss - 1e6, g

    surface = Below()

    def descent() -> Descent:
        return Descent(surface, [-1.0, 1.0], optim.gd(1.0), line_search=True, max_steps=50)

    new, old = descent(), descent()
    assert new.run(100) == reference_run(old, 100) == 0
    assert new.stop_reason == old.stop_reason == "stalled"
    assert new.message == old.message and "found no decrease" in new.message
    assert new.snapshot().to_dict() == old.snapshot().to_dict()


@pytest.mark.filterwarnings("ignore")
def test_separable_rows_found_by_the_linear_program_match_the_step_loop(monkeypatch):
    """Standardised breast cancer (569×30, separable: a linear program finds it when the
    problem is built): the run ends by the rule that marks θ's classes at doubling steps
    (epochs for mini-batches), full batch and mini-batch, as in the reference."""
    pytest.importorskip("scipy")
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    Z = StandardScaler().fit_transform(X)
    for kw in ({"learning_rate": "auto"}, {"learning_rate": 1.0, "batch_size": 64, "seed": 3}):
        new, old = _both(
            monkeypatch,
            lambda kw=kw: ds.fit(Z, y.astype(float), loss="logloss", max_steps=20_000, **kw),
        )
        _same(new, old)
        assert new.stop_reason == "separated" and "no row changed class" in new.message


# ---------------------------------------------------------------------------------------------
# the fast lane (descent/fastlane.py): every way a run ends inside one of its passes
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def passes(monkeypatch):
    """The fast lane's passes as they run: (kind, steps asked, steps made; -1 = made again by
    the full body)."""
    from descend.descent import loop

    seen: list[tuple[str, int, int]] = []
    full, batch = loop.full_batch_pass, loop.batch_pass

    def full_pass(*args: Any) -> Any:
        p = full(*args)
        seen.append(("full", args[3], -1 if p is None else p.q))
        return p

    def batch_pass(*args: Any) -> Any:
        p = batch(*args)
        seen.append(("batch", args[4], p[0]))
        return p

    monkeypatch.setattr(loop, "full_batch_pass", full_pass)
    monkeypatch.setattr(loop, "batch_pass", batch_pass)
    return seen


def _handed_over(seen: list[tuple[str, int, int]]) -> bool:
    """A pass stopped inside its chunk (0 ≤ made < asked): the full body took the step."""
    return any(0 <= q < m for _, m, q in seen)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    ("case", "kw", "reason"),
    [
        ("certified", {"learning_rate": 0.05}, "converged"),
        ("certified, momentum", {"optimizer": "momentum", "learning_rate": 0.02}, "converged"),
        ("certified, adam", {"optimizer": "adam", "learning_rate": 0.05}, "converged"),
        ("stalled", {"learning_rate": 0.3, "tol": 0.0}, "stalled"),
        (
            "stalled, momentum",
            {"optimizer": "momentum", "learning_rate": 0.1, "tol": 0.0},
            "stalled",
        ),  # fmt: skip
        ("max_steps, uneven", {"learning_rate": 1e-4, "max_steps": 1500}, "max_steps"),
        ("max_steps, two chunks", {"learning_rate": 1e-4, "max_steps": 2049}, "max_steps"),
        ("rising", {"learning_rate": 0.56}, "diverged"),
        ("blown", {"learning_rate": 5.0}, "diverged"),
        ("overflow", {"learning_rate": 1e200}, "diverged"),
        ("momentum rising", {"optimizer": "momentum", "learning_rate": 1.2}, "diverged"),
        ("mini-batch certified", {"learning_rate": 0.05, "batch_size": 5, "tol": 1e-3}, None),
        (
            "mini-batch stall",
            {"loss": "huber", "learning_rate": 0.05, "batch_size": 7, "tol": 1e-2, "patience": 3},
            "stalled",
        ),  # fmt: skip
        ("mini-batch blow-up", {"learning_rate": 30.0, "batch_size": 5}, "diverged"),
        (
            "mini-batch max_steps",
            {
                "learning_rate": 0.01,
                "batch_size": 7,
                "max_steps": 1111,
                "tol": 0.0,
                "patience": 10**6,
            },
            "max_steps",
        ),  # fmt: skip
    ],
)
def test_the_fast_lane_ends_like_the_step_loop(monkeypatch, passes, reg, case, kw, reason):
    """Each way a run ends, reached inside a fast-lane pass at an uneven step (the pass stops
    before the step, the full body makes it): the reference's verdict, message, record, θ and
    optimizer state, bit for bit."""
    X, y = reg
    settings = {"max_steps": 5000, **kw}
    with np.errstate(all="ignore"):
        new, old = _both(monkeypatch, lambda: ds.fit(X, y, **settings))
    _same(new, old)
    if reason is not None:
        assert new.stop_reason == reason, new.message
    assert passes, "the run never took the fast lane"
    if "batch_size" not in kw and reason != "max_steps":
        assert _handed_over(passes), passes


def test_the_fast_lane_keeps_the_long_tail_of_a_fixed_rate_run(monkeypatch, passes, rng):
    """A noisy, ill-conditioned fit at a fixed rate. For thousands of steps before it is
    certified, the excess bound ‖g‖²/(2μ) ≤ tol·|L| holds but not the distance bound
    ‖g‖/μ ≤ tol·‖θ‖ that the certificate also needs, and the loss is still (it moves by less
    than √ε relative) while ‖∇L‖ keeps setting new lows — no rule fires. The passes apply the
    rules' own tests there (the run's certificate; the stall's quiet gradient), so they make
    those steps (each chunk but the last whole) instead of handing every chunk to the full
    body — and the run is the reference's, bit for bit."""
    X = rng.normal(size=(60, 3)) @ np.array([[1.0, 0.9, 0.0], [0.0, 0.2, 0.3], [0.0, 0.0, 1.0]])
    y = X @ [1.5, -2.0, 0.5] + 1.0 + 2.0 * rng.normal(size=60)
    new, old = _both(monkeypatch, lambda: ds.fit(X, y, learning_rate=0.05, max_steps=30_000))
    _same(new, old)
    assert new.stop_reason == "converged", new.message
    mu, tol, h = new.certificate.mu, new.settings["tol"], new.history
    excess = np.nonzero(h.grad_norm**2 <= 2.0 * mu * tol * np.abs(h.loss))[0]
    assert excess.size and excess[0] < new.n_steps - 2000  # the stretch this test is about
    change = np.abs(np.diff(h.loss)) / np.abs(h.loss[1:])
    assert np.count_nonzero(change <= np.sqrt(np.finfo(float).eps)) > 2000  # still steps
    made = [(m, q) for kind, m, q in passes if kind == "full"]
    assert made and all(q == m for m, q in made[:-1]), made
    assert made[-1][1] < made[-1][0]  # the last pass stops before the certified step


@pytest.mark.filterwarnings("ignore")
def test_the_fast_lane_stops_at_stationarity_like_the_step_loop(monkeypatch, passes):
    """A surface without a certificate: "stationary" inside a pass."""
    new, old = _both(
        monkeypatch,
        lambda: ds.minimize(
            ds.surfaces.quadratic(),
            [-1.0, 1.0],
            optimizer="momentum",
            learning_rate=0.02,
            max_steps=3000,
        ),  # fmt: skip
    )
    _same(new, old)
    assert new.stop_reason == "stationary" and _handed_over(passes)


def _warned(fit: Any) -> tuple[Any, list[str]]:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            res = fit()
    return res, [f"{w.category.__name__}: {w.message}" for w in caught]


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_floating_point_warnings_appear_once_where_the_step_loop_meets_them(
    monkeypatch, passes, reg, optimizer
):
    """A pass that meets a floating-point error gives the chunk to the full body, which warns
    as the step loop does: the same warnings, in the same order, each once — an objective that
    overflows inside while its values stay finite (from some θ on), and Adam's g² overflowing
    on data (its update then stays finite)."""
    bowl = ds.surfaces.quadratic()

    class Overflows(type(bowl)):  # type: ignore[misc]
        def value_and_grad(self, theta: Any) -> Any:
            if theta[0] > -0.5:
                np.multiply(np.array([1e308]), 10.0)  # overflows: a warning, nothing else
            return super().value_and_grad(theta)

    X, y = reg
    fits = [
        lambda: ds.minimize(
            Overflows(), [-1.0, 1.0], optimizer=optimizer, learning_rate=0.01, max_steps=1500
        ),  # fmt: skip
    ]
    if optimizer == "adam":
        fits.append(lambda: ds.fit(X, y, optimizer="adam", learning_rate=1e300, max_steps=500))
    for fit in fits:
        passes.clear()
        new, new_warnings = _warned(fit)
        with monkeypatch.context() as m:
            m.setattr(Descent, "run", reference_run)
            old, old_warnings = _warned(fit)
        _same(new, old)
        assert new_warnings == old_warnings and new_warnings
        assert any(q == -1 for _, _, q in passes), passes  # the full body made a chunk again


def test_an_exception_in_the_objective_leaves_the_step_loops_state(reg, passes):
    """An objective that raises at some θ: the run raises where the step loop raises, and the
    state left behind (θ, counters, record, optimizer state) is the step loop's, full batch
    and mini-batch."""
    X, y = reg
    base = ds.objective(X, y)

    class Boom(type(base)):  # type: ignore[misc]
        def value_and_grad(self, theta: Any, rows: Any = None) -> Any:
            if theta[0] > 1.0:
                raise RuntimeError("boom")
            return super().value_and_grad(theta, rows)

    objective = Boom.__new__(Boom)
    objective.__dict__.update(base.__dict__)
    theta0 = np.zeros(objective.n_params)
    for batch_size in (None, 7):

        def descent(b: Any = batch_size) -> Descent:
            return Descent(objective, theta0, optim.get("momentum", 0.01), max_steps=5000,
                           batch_size=b, tol=0.0, record_params=True)  # fmt: skip

        new, old = descent(), descent()
        with pytest.raises(RuntimeError, match="boom"):
            new.run(5000)
        with pytest.raises(RuntimeError, match="boom"):
            reference_run(old, 5000)
        assert new.k == old.k > 1
        assert new.snapshot().to_dict() == old.snapshot().to_dict()
    assert passes


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("batch_size", [None, 7])
def test_a_resumed_run_continues_mid_chunk_like_the_step_loop(passes, reg, batch_size):
    """Snapshots taken at uneven points inside what would be one chunk (run(n) with n of 1,
    37, 1023, 1025, …), encoded to JSON and resumed in a fresh Descent: the resumed run's
    state at each point, and its end, are the uninterrupted step loop's."""
    X, y = reg
    objective = ds.objective(X, y)
    theta0 = np.zeros(objective.n_params)

    def descent(start: Any = None) -> Descent:
        return Descent(objective, theta0, optim.get("adam", 0.02), max_steps=4000,
                       batch_size=batch_size, tol=1e-9, start=start)  # fmt: skip

    old = descent()
    new = descent()
    for n in (1, 37, 1023, 1025, 3, 700, 4000):
        new.run(n)
        reference_run(old, n)
        state = new.snapshot().to_dict()
        assert state == old.snapshot().to_dict()
        assert (new.stop_reason, new.message) == (old.stop_reason, old.message)
        if new.stop_reason is not None:
            break
        new = descent(LoopState.from_dict(state))
    assert any(q > 0 for _, _, q in passes)


@pytest.mark.filterwarnings("ignore")
def test_going_on_after_a_stop_matches_the_step_loop(passes, reg):
    """What the playground does: a certified run told to go on (``clear_stop``: the verdicts
    wait ``patience`` steps, then the lane's tests apply again), and a diverged run restarted
    (``restart``: L_0 and the guards afresh, the first step the full body's) — the same state,
    stop and message as the step loop after each ``run``."""
    X, y = reg
    objective = ds.objective(X, y)
    theta0 = np.zeros(objective.n_params)

    def descent(lr: float) -> Descent:
        return Descent(objective, theta0, optim.get("momentum", lr), max_steps=6000,
                       patience=20)  # fmt: skip

    for lr, go_on in ((0.05, "clear_stop"), (1.2, "restart")):
        new, old = descent(lr), descent(lr)
        for n in (3000, 500, 37, 3000):
            assert new.run(n) == reference_run(old, n)
            assert new.snapshot().to_dict() == old.snapshot().to_dict()
            assert (new.stop_reason, new.message) == (old.stop_reason, old.message)
            if new.stop_reason is not None:
                for d in (new, old):
                    getattr(d, go_on)()
        assert new.k > 40  # steps after the first stop
    assert _handed_over(passes)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(6, 60),
    d=st.integers(1, 4),
    spread=st.floats(0.0, 3.0),
    noise=st.sampled_from([0.0, 1e-3, 0.3]),
    optimizer=st.sampled_from(RULES),
    lr=st.one_of(st.sampled_from(["auto"]), st.floats(-4.0, 1.0).map(lambda e: 10.0**e)),
    tol=st.sampled_from([None, 0.0, 1e-3]),
    batch_size=st.sampled_from([None, None, 4, 7]),
    max_steps=st.integers(1, 6000),
    extra=st.sampled_from(
        [
            {},
            {},
            {"schedule": "cosine"},
            {"average": 10},
            {"patience": 3},
            {"loss": "huber"},
            {"clip_norm": 0.5},
        ]
    ),
)
def test_random_fits_match_the_step_loop(
    seed, n, d, spread, noise, optimizer, lr, tol, batch_size, max_steps, extra
):
    """Any small regression, rule, rate (stable, at the edge or far past it), tolerance,
    batch and step limit: the run is the step-by-step reference's, bit for bit — whichever
    step inside a chunk a rule stops at."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-spread, spread, size=d)
    y = X @ rng.normal(size=d) + 1.0 + noise * rng.normal(size=n)
    kw: dict[str, Any] = {"optimizer": optimizer, "learning_rate": lr, "max_steps": max_steps}
    if tol is not None:
        kw["tol"] = tol
    if batch_size is not None:
        kw["batch_size"] = batch_size
    kw.update(extra)
    mp = pytest.MonkeyPatch()
    try:
        with np.errstate(all="ignore"):
            new, old = _both(mp, lambda: ds.fit(X, y, seed=seed, **kw))
    finally:
        mp.undo()
    _same(new, old)
