"""The compiled full-batch pass (``problems/fused_steps.py``) against the NumPy pass.

The compiled pass makes the NumPy pass's steps with the arithmetic in another order, so the
comparisons are to rounding (1e-12 relative), not bit for bit; the default route (kernels not
opted in) stays bit for bit the step-by-step reference (``tests/test_loop_run.py``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import descend as ds
from descend.descent import fastlane, optim
from descend.problems import fused

pytest.importorskip("numba")
pytestmark = pytest.mark.timeout(300)

RULES = ["gd", "momentum", "nesterov", "adam"]
EPS = float(np.finfo(np.float64).eps)


def _data(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Diabetes-like data: standardised-scale features, a linear signal and noise."""
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d) + rng.normal(size=d)
    y = X @ rng.normal(size=d) * 50.0 + 150.0 + 50.0 * rng.normal(size=n)
    return X, y


def _both(objective, name: str, lr: float, theta0: np.ndarray, m: int, record: bool):
    """The NumPy pass and the compiled pass from the same start (stopping tests off): the two
    Pass results, each rule's state afterwards and each θ path (None when not recorded)."""
    out = []
    p = theta0.shape[0]
    for compiled in (False, True):
        opt = optim.get(name, lr)
        assert opt.fused is not None
        rule = opt.fused()
        rule.load(opt.init(theta0))
        params = np.full((m + 1, p), np.nan) if record else None
        if params is not None:
            params[0] = theta0
        args = (theta0, 0, m)
        tests = dict(
            best_theta=theta0, best_loss=math.inf, grad_low=math.inf, last_low=0, low_gap=0,
            blow=math.inf, floor=0.0, hit_c=None, hit_level=0.0, prev_loss=math.inf,
            rising=0, still=0, rise_level=math.inf, rise_patience=1 << 30,
            sqrt_eps=math.sqrt(EPS), stall_window=1 << 30,
        )  # fmt: skip
        if compiled:
            with fused.switched(True):
                route = fastlane.compiled_route(objective, rule)
            assert route is not None
            got = fastlane.compiled_pass(route, *args, params, 0, stall_tol=0.0, **tests)
        else:
            rates = rule.rates(m)
            apply = rule.applier(p)
            u = np.zeros(p) if name == "gd" else None
            got = fastlane.full_batch_pass(objective.value_and_grad, *args, rates, apply, u,
                                           params, 0, dist_c=0.0, theta_floor=0.0,
                                           certificate=None, **tests)  # fmt: skip
        assert got is not None
        out.append((got, rule.state(), params))
    return out


@pytest.mark.parametrize("shape", [(442, 10), (353, 10), (36, 1), (97, 4)])
@pytest.mark.parametrize("name", RULES)
def test_compiled_steps_are_the_numpy_passs_to_rounding(rng, shape, name):
    """Over 300 steps: every loss, θ, the lowest loss and the rule's state (``Fused.state()``)
    agree to 1e-12 relative, the gradient norms and step sizes to 1e-12 of their largest."""
    X, y = _data(rng, *shape)
    objective = ds.objective(X, y)
    assert objective.dense_least_squares() is not None
    theta0 = objective.model.init_params(rng)
    lr = 0.05 if name == "adam" else 0.01
    (a, sa, pa), (b, sb, pb) = _both(objective, name, lr, theta0, 300, record=True)
    assert a.q == b.q == 300
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-12)
    # ‖g‖ and ‖u‖ fall by orders of magnitude: their rounding is that of the first gradient's
    for field in ("gnorms", "sizes"):
        want = np.asarray(getattr(a, field))
        np.testing.assert_allclose(getattr(b, field), want, rtol=1e-12, atol=1e-12 * want.max())
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-12, atol=1e-12 * np.abs(a.theta).max())
    np.testing.assert_allclose(pb, pa, rtol=1e-12, atol=1e-12 * np.abs(pa).max())
    # the lowest loss's θ: near the minimum the losses differ by rounding, so which step is
    # lowest may differ too; each pass's is the θ of its own first lowest loss
    assert b.best_loss == pytest.approx(a.best_loss, rel=1e-12)
    np.testing.assert_array_equal(b.best_theta, pb[int(np.argmin(b.losses))])
    np.testing.assert_array_equal(a.best_theta, pa[int(np.argmin(a.losses))])
    assert b.grad_low == pytest.approx(a.grad_low, rel=1e-12)
    assert (b.last_low, b.low_gap, b.rising) == (a.last_low, a.low_gap, a.rising)
    # the gradients the reversal count needs: the last ones, as the NumPy pass's last ones
    assert 1 <= len(b.grads) <= len(a.grads)
    for ga, gb in zip(a.grads[::-1], b.grads[::-1], strict=False):
        np.testing.assert_allclose(gb, ga, rtol=1e-12, atol=1e-12 * max(a.gnorms))
    # the rule's own state (the schedule's count is the loop's): sums of gradients (and of
    # their squares, Adam's v), with the gradients' rounding
    g0 = max(a.gnorms)
    for xa, xb in zip(sa[:-1], sb[:-1], strict=True):
        for power, (fa, fb) in enumerate(zip(xa, xb, strict=True)):
            if isinstance(fa, int):
                assert fa == fb  # Adam's step count
            else:
                scale = g0 * g0 if (name == "adam" and power == 2) else g0
                np.testing.assert_allclose(fb, fa, rtol=1e-12, atol=1e-11 * scale)


@pytest.mark.parametrize("frac", [0.99, 0.995, 0.999])
def test_the_loops_counters_are_the_numpy_passs(rng, correlated, frac):
    """Gradient descent near its stability limit (η·λ_max close to 2: the gradient reverses
    at every step): after each chunk the loop's counters — reversals (from the gradients the
    compiled pass keeps), calm, rising, the gradient's lows — are those of the NumPy pass."""
    from descend.descent.loop import Descent

    X, y = correlated(rng, n=200, d=4, kappa=1e4)  # slow: far from rounding for 600 steps
    objective = ds.objective(X, y)
    lam = float(np.linalg.eigvalsh(2.0 * objective.gram()).max())
    theta0 = objective.model.init_params(rng)
    seen = []
    for on in (False, True):
        with fused.switched(on):
            d = Descent(objective, theta0, optim.get("gd", frac * 2.0 / lam), max_steps=5000,
                        tol=0.0)  # fmt: skip
            counters = []
            for n in (1, 40, 300, 300):
                d.run(n)
                counters.append((d.k, d.flips, d.calm, d.rising, d.last_low, d.low_gap,
                                 d.stop_reason))  # fmt: skip
        seen.append(counters)
    assert seen[0] == seen[1]
    assert max(c[1] for c in seen[0]) > 0  # reversals were counted
    assert seen[0][-1][-1] is None


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("shape", [(442, 10), (36, 1)])
@pytest.mark.parametrize("tol", [0.0, 1e-8])
def test_whole_fits_stop_alike_with_the_kernels_on_and_off(rng, name, shape, tol):
    """``ds.fit`` through the compiled pass and through the NumPy pass: the same stop reason,
    θ and the loss path to rounding (a stall's step, decided by rounding noise, may differ)."""
    X, y = _data(rng, *shape)
    lr = {"gd": 0.05, "momentum": 0.02, "adam": 0.05}[name]
    results = []
    for on in (False, True):
        with fused.switched(on):
            results.append(ds.fit(X, y, optimizer=name, learning_rate=lr, max_steps=3000,
                                  tol=tol))  # fmt: skip
    off, on_ = results
    assert on_.stop_reason == off.stop_reason
    scale = np.abs(off.params).max()
    np.testing.assert_allclose(on_.params, off.params, rtol=1e-9, atol=1e-9 * scale)
    if off.stop_reason != "stalled":
        assert on_.n_steps == off.n_steps
        n = off.n_steps
        np.testing.assert_allclose(on_.history.loss[:n], off.history.loss[:n], rtol=1e-9)


def test_the_compiled_pass_is_taken_only_when_opted_in(rng, monkeypatch):
    """Off by default and with ``DESCEND_NUMBA=0`` (even inside ``switched(True)``); on
    inside ``switched(True)``; the default route is unchanged, bit for bit."""
    X, y = _data(rng, 100, 3)
    objective = ds.objective(X, y)
    rule = optim.get("gd", 0.01).fused()
    with fused.switched(False):
        assert fastlane.compiled_route(objective, rule) is None
    with fused.switched(True):
        assert fastlane.compiled_route(objective, rule) is not None
        monkeypatch.setenv(fused.ENV, "0")
        assert not fused.enabled()
        assert fastlane.compiled_route(objective, rule) is None
        with_zero = ds.fit(X, y, optimizer="momentum", learning_rate=0.01, max_steps=500)
    monkeypatch.delenv(fused.ENV)
    with fused.switched(False):
        default = ds.fit(X, y, optimizer="momentum", learning_rate=0.01, max_steps=500)
    np.testing.assert_array_equal(with_zero.params, default.params)
    np.testing.assert_array_equal(with_zero.history.loss, default.history.loss)


def test_switched_restores_the_process_choice():
    """``switched`` nests and restores what the process chose (here: whatever it was)."""
    before = fused.enabled()
    with fused.switched(True) as on:
        assert on == fused.enabled()
        with fused.switched(False) as off:
            assert not off and not fused.enabled()
        assert fused.enabled() == on
    assert fused.enabled() == before


@pytest.mark.filterwarnings("ignore")
def test_unsupported_cases_take_the_numpy_pass(rng):
    """Other rules, a schedule, sample weights, no intercept, a fast objective: no route, and
    the fit is bit for bit the one with the kernels off."""
    X, y = _data(rng, 120, 3)
    objective = ds.objective(X, y)
    with fused.switched(True):
        assert fastlane.compiled_route(objective, optim.get("adagrad", 0.1).fused()) is None
        assert fastlane.compiled_route(objective, optim.get("rmsprop", 0.1).fused()) is None
        weighted = ds.objective(X, y, fast=False)
        weighted.weights = rng.uniform(0.5, 2.0, 120)
        weighted._fused = False  # as sample weights leave it
        assert weighted.dense_least_squares() is None
        assert ds.objective(X, y, model="linear0").dense_least_squares() is None
    fits = []
    for on in (False, True):
        with fused.switched(on):
            fits.append(ds.fit(X, y, optimizer="adagrad", learning_rate=0.5, max_steps=400))
    np.testing.assert_array_equal(fits[0].params, fits[1].params)


def test_a_rate_that_is_not_fixed_takes_the_numpy_pass(rng):
    """A rule built on a schedule (not a number) has no fixed rate: no route."""
    X, y = _data(rng, 50, 2)
    objective = ds.objective(X, y)
    opt = optim.get("gd", 0.01)
    rule = opt.fused()
    rule.fixed = None  # as a schedule leaves it
    with fused.switched(True):
        assert fastlane.compiled_route(objective, rule) is None


def test_a_non_finite_pass_is_left_to_the_full_body(rng):
    """A rate far past the stability limit overflows: the compiled pass returns None (no
    flags are read), and the fit diverges with the same stop, step and warnings as off."""
    X, y = _data(rng, 80, 3)
    objective = ds.objective(X, y)
    theta0 = objective.model.init_params(rng)
    opt = optim.get("gd", 1e3)
    rule = opt.fused()
    rule.load(opt.init(theta0))
    with fused.switched(True):
        route = fastlane.compiled_route(objective, rule)
    assert route is not None
    p = fastlane.compiled_pass(
        route, theta0, 0, 400, None, 0, theta0, math.inf, math.inf, 0, 0, math.inf, 0.0, None,
        0.0, math.inf, 0, 0, math.inf, 1 << 30, math.sqrt(EPS), 1 << 30, 0.0,
    )  # fmt: skip
    assert p is None
    runs = []
    for on in (False, True):
        with fused.switched(on), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = ds.fit(X, y, optimizer="gd", learning_rate=1e3, max_steps=2000)
        runs.append((r.stop_reason, r.n_steps, sorted({str(w.message) for w in caught})))
    assert runs[0] == runs[1]
    assert runs[0][0] == "diverged"


def test_the_state_after_a_fit_is_the_rules(rng):
    """After a fit through the compiled pass the optimizer state (Adam's step count and
    moments) is the one the NumPy pass leaves, to rounding."""
    X, y = _data(rng, 200, 5)
    fits = []
    for on in (False, True):
        with fused.switched(on):
            fits.append(ds.fit(X, y, optimizer="adam", learning_rate=0.05, max_steps=700,
                               tol=0.0))  # fmt: skip
    (sa, la), (sb, lb) = (f.opt_state for f in fits)
    assert sa.step == sb.step == 700
    assert (la.step, la.lr) == (lb.step, lb.lr)
    for xa, xb in ((sa.m, sb.m), (sa.v, sb.v)):
        np.testing.assert_allclose(xb, xa, rtol=1e-9, atol=1e-12 * np.abs(xa).max())


def test_underflow_not_ignored_takes_the_numpy_pass(rng):
    """An underflow leaves every value finite, so the compiled pass could not report it: with
    ``np.errstate(under=...)`` other than "ignore" there is no route (the NumPy pass runs)."""
    X, y = _data(rng, 50, 2)
    objective = ds.objective(X, y)
    rule = optim.get("momentum", 0.01).fused()
    with fused.switched(True):
        assert fastlane.compiled_route(objective, rule) is not None
        with np.errstate(under="warn"):
            assert fastlane.compiled_route(objective, rule) is None


@pytest.mark.parametrize("case", ["fortran", "poly"])
def test_fortran_designs_and_polynomials_take_the_compiled_pass(rng, case):
    """A Fortran-ordered design (Zᵗ is then a view, no copy) and a polynomial's design (the
    same bound closure) declare their arrays and step as the NumPy pass does, to rounding."""
    X, y = _data(rng, 150, 1 if case == "poly" else 3)
    if case == "poly":
        objective = ds.objective(X, y, model="poly:3")
    else:
        objective = ds.objective(X, y)
        objective.Z = np.asfortranarray(objective.Z)
    assert objective.dense_least_squares() is not None
    theta0 = objective.model.init_params(rng)
    (a, _, _), (b, _, _) = _both(objective, "momentum", 0.005, theta0, 200, record=False)
    assert a.q == b.q == 200
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-12)
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-12, atol=1e-12 * np.abs(a.theta).max())


@pytest.mark.filterwarnings("ignore")
def test_drawn_fits_stop_alike_with_the_kernels_on_and_off(rng):
    """Drawn fits — data, rule, rate from well inside to far past the stability limit, tol,
    step limit, rise patience — end the same way with the compiled pass as without it, after
    the same steps and at the same θ to rounding. The one allowance: a run that stalls at the
    rounding floor (a stop decided by rounding noise in L and ‖g‖) may instead reach its step
    limit, or stall at another step, by the other route. (300 such draws passed on the branch,
    divergences with the same warnings.)"""
    for _ in range(25):
        n, d = int(rng.integers(20, 300)), int(rng.integers(1, 8))
        X = rng.normal(size=(n, d)) * rng.uniform(0.3, 3.0, d)
        y = X @ rng.normal(size=d) + rng.normal(size=n) * rng.choice([0.0, 0.1, 1.0])
        rule = str(rng.choice(["gd", "momentum", "nesterov", "adam"]))
        lam = float(np.linalg.eigvalsh(2.0 * ds.objective(X, y).gram()).max())
        frac = float(rng.choice([0.1, 0.5, 0.9, 1.05, 1.5, 3.0]))
        lr = {"gd": 2.0 / lam, "momentum": 0.2 / lam, "nesterov": 0.2 / lam, "adam": 0.1}[rule]
        kw = dict(optimizer=rule, learning_rate=frac * lr, max_steps=int(rng.integers(50, 4000)),
                  tol=float(rng.choice([0.0, 1e-10, 1e-6])))  # fmt: skip
        if rng.random() < 0.3:
            kw["rise_patience"] = int(rng.integers(1, 20))
        fits = []
        for on in (False, True):
            with fused.switched(on):
                fits.append(ds.fit(X, y, **kw))
        a, b = fits
        if "stalled" in (a.stop_reason, b.stop_reason):
            assert {a.stop_reason, b.stop_reason} <= {"stalled", "max_steps"}, kw
            continue
        assert (b.stop_reason, b.n_steps) == (a.stop_reason, a.n_steps), kw
        if a.stop_reason == "diverged":
            continue
        if rule == "adam":  # near the minimum Adam's steps are ~η whatever ‖g‖: θ jitters
            start = float(a.history.loss[0])
            assert b.loss == pytest.approx(a.loss, rel=1e-9, abs=1e-12 * start), kw
        else:
            scale = np.abs(a.params).max()
            np.testing.assert_allclose(b.params, a.params, rtol=1e-7, atol=1e-7 * scale)


def test_the_compiled_pass_keeps_the_long_tail_of_a_fixed_rate_run(rng, monkeypatch):
    """The long tail of tests/test_loop_run.py's fixed-rate fit (the excess bound holds for
    thousands of steps before the distance bound the certificate also needs): the compiled
    pass tests the distance bound too, so it makes every chunk but the last whole instead of
    handing each to the full body, and the run is certified at the NumPy route's step."""
    from descend.descent import loop

    seen: list[tuple[int, int]] = []
    compiled = loop.compiled_pass

    def counted(*args, **kwargs):
        p = compiled(*args, **kwargs)
        seen.append((args[3], -1 if p is None else p.q))
        return p

    monkeypatch.setattr(loop, "compiled_pass", counted)
    X = rng.normal(size=(60, 3)) @ np.array([[1.0, 0.9, 0.0], [0.0, 0.2, 0.3], [0.0, 0.0, 1.0]])
    y = X @ [1.5, -2.0, 0.5] + 1.0 + 2.0 * rng.normal(size=60)
    with fused.switched(False):
        off = ds.fit(X, y, learning_rate=0.05, max_steps=30_000)
    with fused.switched(True):
        on = ds.fit(X, y, learning_rate=0.05, max_steps=30_000)
    assert off.stop_reason == on.stop_reason == "converged", on.message
    assert abs(on.n_steps - off.n_steps) <= 2
    h = on.history
    excess = np.nonzero(h.grad_norm**2 <= 2.0 * on.certificate.mu * on.settings["tol"] * h.loss)
    assert excess[0].size and excess[0][0] < on.n_steps - 2000  # the stretch this is about
    assert seen and all(q == m for m, q in seen[:-1]), seen
    assert seen[-1][1] < seen[-1][0]
