"""Verdicts: "converged" only with a certificate, "diverged" only by the rule that ran.

References are outside the code under test: numpy.linalg.lstsq for the optimum, the eigenvalues
of the rules' iteration matrices for their stability limits.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend as ds
from descend.descent.serialize import load_result
from descend.descent.verdicts import (
    STOP_REASONS,
    certify,
    predicted_steps,
    stability_limit,
)


def _lstsq(res, X, y):
    """The exact optimum of the run's own (standardised) problem, by numpy lstsq."""
    obj = ds.objective(X, y, fast=False)
    A = np.column_stack([obj.Z, np.ones(len(y))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta, float(np.mean((A @ theta - y) ** 2))


def test_stop_reasons_are_the_documented_stable_strings():
    assert list(STOP_REASONS) == [
        "converged",
        "stationary",
        "stalled",
        "max_steps",
        "diverged",
        "interrupted",
        "early_stopped",
        "separated",
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(8, 60),
    d=st.integers(1, 4),
    corr=st.floats(0.0, 0.95),
    lr=st.sampled_from([0.01, 0.1, "auto"]),
)
def test_converged_means_the_certificate_holds_against_lstsq(seed, n, d, corr, lr):
    """Whenever a least-squares run says "converged", lstsq confirms both bounds."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 1))
    X = corr * base + (1 - corr) * rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    res = ds.fit(X, y, learning_rate=lr, preconditioner="none", max_steps=3000, fast=False)
    theta_star, loss_star = _lstsq(res, X, y)
    cert = res.certificate
    assert cert is not None  # least squares always carries the bound it reached
    rounding = 64 * np.finfo(float).eps * (abs(loss_star) + np.mean(y**2))
    assert res.loss - loss_star <= cert.excess_bound * (1 + 1e-6) + rounding
    assert np.linalg.norm(res.params - theta_star) <= cert.distance_bound * (1 + 1e-6) + 1e-12
    if res.stop_reason == "converged":
        assert cert.relative_excess_bound <= 1e-9 or res.loss <= rounding
        assert cert.relative_distance_bound <= 1e-9 or np.linalg.norm(theta_star) < 1e-12


def test_the_lesson_rate_is_certified_or_honest(rng):
    """lr 0.01 on a correlated problem: never "converged" above the optimum without the bound."""
    X = rng.normal(size=(200, 3))
    X[:, 2] = X[:, 0] + 0.05 * rng.normal(size=200)  # κ in the thousands after scaling
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=200)
    res = ds.fit(X, y, fast=False)
    theta_star, loss_star = _lstsq(res, X, y)
    gap = (res.loss - loss_star) / loss_star
    if res.stop_reason == "converged":
        assert gap <= 1e-9
    else:
        assert res.stop_reason == "max_steps"
        assert "before the certificate held" in res.message and "more steps" in res.message
        assert gap > 1e-9


def test_poly3_on_a_house_price_csv_is_not_called_converged_while_wrong(tmp_path, rng):
    """The CSV case: "converged" comes with coefficients that lstsq confirms."""
    area = rng.uniform(50, 250, 80)
    price = 20 + 3.1 * area - 0.1845 * area**2 / 10 + 2e-4 * area**3 + rng.normal(0, 30, 80)
    path = tmp_path / "houses.csv"
    np.savetxt(path, np.c_[area, price], delimiter=",", header="area,price", comments="")
    out = subprocess.run(
        [sys.executable, "-m", "descend", "fit", str(path), "--x", "area", "--y", "price",
         "--model", "poly:3", "--json", str(tmp_path / "run.json")],
        capture_output=True, text=True,
    )  # fmt: skip
    res = load_result(tmp_path / "run.json")
    exact = np.polynomial.polynomial.polyfit(area, price, 3)
    if res.stop_reason == "converged":
        np.testing.assert_allclose(res.coef, exact[1:], rtol=1e-6)
    else:
        assert res.stop_reason != "converged" and out.returncode in (0, 4)
        assert "L − L*" in out.stdout  # the bound reached is printed either way


def test_lr_at_the_stability_limit_is_stalled_oscillating():
    """Norris at lr = 2/λ_max exactly: the iterates oscillate; not "converged", exit 4."""
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, learning_rate=1.0, warn=False)
    assert res.stop_reason == "stalled"
    assert "oscillate at the stability limit" in res.message and "1×" in res.message
    out = subprocess.run(
        [sys.executable, "-m", "descend", "fit", "--lr", "1"], capture_output=True, text=True
    )
    assert out.returncode == 4 and "stalled" in out.stderr


def test_a_vanishing_rate_is_stalled_too_small():
    """lr = 1e-300 does not move: "stalled", with lr·λ_max in the message."""
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, learning_rate=1e-300, warn=False)
    assert res.stop_reason == "stalled" and "too small to move" in res.message
    assert res.certificate.relative_excess_bound > 0.5  # far from the optimum, and it says so


def test_momentum_on_longley_at_polyak_rates_converges():
    """Heavy ball's loss rises before it falls: not divergence inside its limit 2(1+β)/λ_max."""
    d = ds.datasets.load("longley")
    table = ds.compare(ds.objective(d.X, d.y), ["momentum"], preconditioner="none")
    res = table.results[0]
    assert res.history.loss.max() > res.history.loss[0]  # the transient rise is there
    assert res.stop_reason == "converged"
    theta_star, loss_star = _lstsq(res, d.X, d.y)
    assert (res.loss - loss_star) / loss_star <= 1e-9


def test_divergence_names_the_limit_of_the_rule_that_ran():
    """Momentum beyond 2(1+β)/λ_max: the message names heavy ball's limit, not gd's."""
    d = ds.datasets.load("norris")  # λ_max = 2 after standardising
    res = ds.fit(d.X, d.y, optimizer="momentum", learning_rate=2.5, beta=0.2, warn=False)
    assert res.stop_reason == "diverged"
    assert "heavy-ball stability limit" in res.message and "1.2" in res.message


def _iteration_radius(rule: str, lr: float, lam: float, beta: float) -> float:
    """Spectral radius of the rule's linear iteration on f = λθ²/2, built from the rule itself:
    apply one update to each basis state (θ, v) and read off the matrix."""
    opt = ds.optim.get(rule, lr, beta=beta)
    cols = []
    for theta0, v0 in [(1.0, 0.0), (0.0, 1.0)]:
        theta = np.array([theta0])
        state = opt.init(theta)
        mom = state[0]._replace(velocity=np.array([v0]))
        state = (mom, *state[1:])
        u, new = opt.update(lam * theta, state, theta)
        cols.append([theta[0] + u[0], new[0].velocity[0]])
    return float(np.max(np.abs(np.linalg.eigvals(np.array(cols).T))))


@pytest.mark.parametrize("rule", ["momentum", "nesterov"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_stability_limits_match_the_rules_iteration(rule, beta):
    """The limit formula is where the rule's own iteration matrix reaches spectral radius 1."""
    lam = 3.0
    limit = stability_limit(rule, {"beta": beta}, lam)
    assert _iteration_radius(rule, 0.999 * limit, lam, beta) < 1.0
    assert _iteration_radius(rule, 1.001 * limit, lam, beta) > 1.0
    assert stability_limit("gd", {}, lam) == pytest.approx(2 / lam)
    assert stability_limit("adam", {}, lam) is None


def test_certificate_arithmetic_and_prediction():
    """The bounds are ‖g‖²/(2μ) and ‖g‖/μ; gd's predicted steps follow ρ = max|1 − lr·λ|."""
    c = certify(2.0, 0.2, 4.0, "test", theta_norm=10.0)
    assert c.excess_bound == pytest.approx(0.005) and c.distance_bound == pytest.approx(0.05)
    assert c.holds(0.01) and not c.holds(0.001)
    assert certify(1.0, 1.0, None, "none") is None
    # ρ = 0.5 on both ends: the gap shrinks by 4 per step, 1 → 1/64 in 3 steps
    assert predicted_steps("gd", 0.5, 1.0, 3.0, 1.0, 1 / 64) == pytest.approx(3.0)
    assert predicted_steps("adam", 0.5, 1.0, 3.0, 1.0, 1 / 64) is None


def test_an_exactly_zero_gradient_certifies_only_an_exact_fit(rng):
    """tol = 0 asks for L − L* ≤ 0. The statistics' Gram form 2(Gθ − c) reaches its own fixed
    point exactly, while the residual-form gradient at that θ (NumPy, outside the library) is
    not zero: the run must not claim an exact minimum. A perfect fit (L = 0 exactly) may."""
    n = 70_000  # ≥ 2¹⁶ entries: the fast (statistics) path
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, 2.0, 3.0] + 0.5 + 0.01 * rng.normal(size=n)
    res = ds.fit(X, y, learning_rate="auto", tol=0.0)
    assert res.stop_reason != "converged", res.message
    A = np.column_stack([X, np.ones(n)])
    g = 2.0 / n * A.T @ (A @ np.r_[res.coef, res.intercept] - y)
    assert np.linalg.norm(g) > 0.0
    assert certify(1.0, 0.0, 2.0, "test") is None
    x, line = [[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0]
    exact = ds.fit(x, line, learning_rate="auto", tol=0.0)
    assert exact.loss == 0.0 and exact.stop_reason == "converged"
    assert exact.certificate.excess_bound == 0.0


def test_no_certificate_means_stationary_never_converged(rng):
    """A network has no μ: its runs end "stationary", "stalled" or max_steps, never converged."""
    x = np.linspace(-2, 2, 40)
    res = ds.fit(x, np.tanh(x), model=ds.MLP([3]), optimizer="adam", learning_rate=0.05)
    assert res.stop_reason in ("stationary", "stalled", "max_steps")
    assert res.certificate is None and "certificate" in res.summary()


def test_max_steps_predicts_the_steps_still_needed(rng):
    """The "about N more steps" of a max_steps message is what a longer run then takes."""
    area = rng.uniform(50, 250, 80)
    price = 20 + 3.1 * area - 0.01845 * area**2 + 2e-4 * area**3 + rng.normal(0, 30, 80)
    short = ds.fit(area, price, model="poly:3", max_steps=5000)
    assert short.stop_reason == "max_steps"
    more = int(short.message.split("about ")[1].split(" more steps")[0].replace(",", ""))
    full = ds.fit(area, price, model="poly:3", max_steps=100_000)
    assert full.stop_reason == "converged"
    assert abs((full.n_steps - 5000) - more) <= 0.05 * more + 2


def test_momentum_spiralling_in_is_not_a_stall():
    """Heavy ball's loss and gradient spiral down (no new low for many steps): a stall must
    outlast the rule's memory 1/(1 − β), so this run ends certified, not "stalled"."""
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, optimizer="momentum", learning_rate=0.05, beta=0.9)
    assert res.stop_reason == "converged"
    assert res.loss_gap / res.reference.loss <= 1e-9
    from descend.descent.verdicts import rule_memory

    assert rule_memory("momentum", {"beta": 0.9}) == 10 and rule_memory("gd", {}) == 1
    assert rule_memory("adam", {"b1": 0.99}) == 100


def test_sharpness_limits_of_each_rule():
    """The sharpness a rule tolerates at rate η: 2/η (GD), 2(1 + β)/η (heavy ball), and on
    P⁻¹H (1 + β₁)·2/((1 − β₁)η) = 38/η for Adam with β₁ = 0.9 (Cohen et al. 2022), 2/η for
    RMSprop without momentum and Adagrad."""
    from descend.descent.verdicts import sharpness_limit

    assert sharpness_limit("gd", {}, 0.1) == (pytest.approx(20.0), False)
    assert sharpness_limit("momentum", {"beta": 0.5}, 0.1) == (pytest.approx(30.0), False)
    assert sharpness_limit("adam", {"b1": 0.9}, 0.01) == (pytest.approx(3800.0), True)
    assert sharpness_limit("rmsprop", {"momentum": 0.0}, 0.1) == (pytest.approx(20.0), True)
    assert sharpness_limit("adagrad", {}, 0.5) == (pytest.approx(4.0), True)
    assert sharpness_limit("gd", {}, 0.0) is None and sharpness_limit("lbfgs", {}, 0.1) is None
