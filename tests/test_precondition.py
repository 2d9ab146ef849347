"""Preconditioned least squares: whitening, the automatic choice, refinement, conditioning."""

import math
from fractions import Fraction

import numpy as np
import pytest

import descend as ds
from descend.problems.precondition import (
    AUTO_KAPPA,
    PreconditionedObjective,
    Preconditioner,
    choose,
    condition_number,
    exact_residual,
)


def well_conditioned(rng, n=80):
    X = rng.uniform(-2, 3, (n, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("kind", ["diagonal", "qr"])
def test_same_minimiser_as_plain_descent(kind, rng):
    """On a well-conditioned problem every preconditioner lands on plain descent's minimiser."""
    X, y = well_conditioned(rng)
    plain = ds.fit(X, y, learning_rate="auto", preconditioner="none", tol=1e-14, max_steps=20_000)
    pre = ds.fit(X, y, learning_rate="auto", preconditioner=kind, tol=1e-14)
    assert pre.settings["preconditioner"] == kind
    assert plain.settings["preconditioner"] == "none"
    assert any(f"preconditioner: {kind}" in w for w in pre.warnings)
    assert f"preconditioner: {kind}" in pre.summary()
    np.testing.assert_allclose(pre.params, plain.params, rtol=1e-8, atol=1e-10)
    # independent reference: lstsq on the raw design [1, X], and its mean squared residual
    beta = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    np.testing.assert_allclose(pre.coef, beta[1:], rtol=1e-10)
    assert pre.intercept == pytest.approx(beta[0], rel=1e-10)
    np.testing.assert_allclose(pre.predict(X), plain.predict(X), rtol=1e-8)
    assert pre.loss == pytest.approx(np.mean((y - beta[0] - X @ beta[1:]) ** 2), rel=1e-12)


def test_qr_whitening_makes_the_hessian_2i(rng):
    """With θ = √n·R⁻¹φ the Hessian is 2·I (κ = 1) and one step at lr = 1/2 is exact."""
    d = ds.datasets.load("filip")
    obj = ds.objective(d.X, d.y, model=d.model)
    A = obj.model.augmented(obj.Z)
    wrapped = PreconditionedObjective(obj, Preconditioner.build("qr", A))
    H = wrapped.hessian(np.zeros(obj.n_params))
    np.testing.assert_allclose(H, 2 * np.eye(obj.n_params), atol=1e-10)
    assert ds.check_grad(wrapped, np.full(obj.n_params, 0.3)) < 1e-6
    res = ds.minimize(wrapped, np.zeros(obj.n_params), "gd", 0.5, max_steps=1)
    # NIST's certified residual SD gives the minimum MSE: s²·(n − p)/n
    n, p = len(d.y), obj.n_params
    assert wrapped.value(res.params) == pytest.approx(d.residual_sd**2 * (n - p) / n, rel=1e-8)


def test_automatic_choice_and_threshold(rng):
    """lr='auto' preconditions only when κ(H) > AUTO_KAPPA: Jacobi for bad scaling, else QR."""
    X, y = well_conditioned(rng)
    obj = ds.objective(X, y)
    assert choose(obj, None, "auto")[0] == "none"
    assert choose(obj, None, 0.1)[0] == "none"  # only learning_rate='auto' decides
    # badly scaled but uncorrelated raw columns: Jacobi scaling suffices
    Xs = np.column_stack([X[:, 0], 1e4 * X[:, 1]])
    raw = ds.objective(Xs, y, model=ds.Linear(scale=False))
    kind, reason = choose(raw, None, "auto")
    assert kind == "diagonal" and "Jacobi" in reason
    res = ds.fit(Xs, y, model=ds.Linear(scale=False), learning_rate="auto", tol=1e-14)
    assert res.settings["preconditioner"] == "diagonal"
    beta = np.linalg.lstsq(np.column_stack([np.ones(len(y)), Xs]), y, rcond=None)[0]
    np.testing.assert_allclose(res.coef, beta[1:], rtol=1e-9)
    # Filip: collinear powers, κ far above the threshold
    d = ds.datasets.load("filip")
    kind, reason = choose(ds.objective(d.X, d.y, model=d.model), None, "auto")
    assert kind == "qr" and f"{AUTO_KAPPA:g}" in reason


def test_the_mae_continuation_always_whitens(rng):
    """For the MAE of a linear model "auto" whitens (QR) whenever κ > 1: every stage of the
    smoothing continuation is conditioned by the design."""
    X, y = well_conditioned(rng)
    kind, reason = choose(ds.objective(X, y, loss="mae"), None, "auto")
    assert kind == "qr" and "smoothing continuation" in reason
    assert choose(ds.objective(X, y, loss="mse"), None, "auto")[0] == "none"
    assert choose(ds.objective(X, y, loss="mae"), None, False)[0] == "none"


def test_the_line_searched_losses_always_whiten(rng):
    """Huber and log loss: "auto" steps by a line search, which whitening helps whenever κ > 1;
    a penalty with an L1 part (proximal steps) and a rate given by the caller do not whiten."""
    X, y = well_conditioned(rng)
    for loss, target in (("huber", y), ("logloss", (y > np.median(y)).astype(float))):
        kind, reason = choose(ds.objective(X, target, loss=loss), None, "auto")
        assert kind == "qr" and "line search" in reason
        assert choose(ds.objective(X, target, loss=loss), None, False)[0] == "none"


def test_fit_reports_conditioning_and_refinement():
    """The result keeps κ as given and as descended on, and says how refinement went."""
    d = ds.datasets.load("longley")
    res = ds.fit(d.X, d.y, model=d.model, learning_rate="auto", record_params=True)
    cond = res.settings["conditioning"]
    assert cond["kappa_given"] > 1e4 and cond["kappa_descent"] < 1.01
    assert res.settings["refine"]["rounds"] >= 1
    assert any("iterative refinement" in w for w in res.warnings)
    # params and their history are in the model's coordinates
    assert res.history.params[-1] == pytest.approx(res.params, rel=1e-6)
    np.testing.assert_allclose(res.params, res.reference.params, rtol=1e-9)
    np.testing.assert_allclose(np.r_[res.intercept, res.coef], d.certified, rtol=1e-9)  # NIST
    off = ds.fit(d.X, d.y, model=d.model, learning_rate="auto", refine=False)
    assert off.settings["refine"] is None


def test_refinement_buys_digits_on_longley():
    """Longley: refinement on the correctly rounded residual gains over half a digit."""
    d = ds.datasets.load("longley")

    def digits(res):
        est = np.r_[res.intercept, res.coef]
        return min(
            -math.log10(max(abs(e - c) / abs(c), 1e-16))
            for e, c in zip(est, d.certified, strict=True)
        )

    with_ = ds.fit(d.X, d.y, model=d.model, learning_rate="auto")
    without = ds.fit(d.X, d.y, model=d.model, learning_rate="auto", refine=False)
    assert digits(with_) >= digits(without) + 0.5 and digits(with_) > 14


def test_exact_residual_is_correctly_rounded(rng):
    """y − Aθ from TwoProduct + fsum equals the exact rational residual, rounded once."""
    A = rng.normal(size=(12, 4)) * 1e3
    theta = rng.normal(size=4)
    y = A @ theta + rng.normal(size=12) * 1e-9
    r = exact_residual(A, theta, y)
    for i in range(12):
        exact = Fraction(y[i]) - sum(
            Fraction(a) * Fraction(t) for a, t in zip(A[i], theta, strict=True)
        )
        assert r[i] == float(exact)


def test_bad_preconditioners_are_explained(rng):
    """Unknown names and rank-deficient designs fail with a clear message."""
    X, y = well_conditioned(rng)
    with pytest.raises(ValueError, match="unknown preconditioner"):
        ds.fit(X, y, preconditioner="cholesky")
    Xd = np.column_stack([X[:, 0], 2 * X[:, 0]])
    with pytest.raises(ValueError, match="rank deficient"):
        ds.fit(Xd, y, preconditioner="qr")


def test_conditioning_report():
    """ds.conditioning: κ of the raw design (NIST's 1.8e15 for Filip), scaled, and whitened."""
    d = ds.datasets.load("filip")
    c = ds.conditioning(d.X, d.model)
    assert 1e14 < c.kappa_raw < 1e17
    assert c.kappa_hessian == pytest.approx(c.kappa_scaled**2, rel=1e-3)
    assert c.kappa_qr < 1.01 and c.auto == "qr"
    cheb = ds.conditioning(d.X, "poly:10:chebyshev")
    assert cheb.kappa_hessian < 10 and cheb.auto == "none"
    assert "κ₂ of the raw design" in c.describe()
    assert condition_number(np.eye(3)) == 1.0


def test_preconditioner_from_gram_equals_the_design_one(rng, correlated):
    """from_gram: Jacobi d equal; R equal to Householder's up to the signs of its rows."""
    X, y = correlated(rng, n=2000)
    A = np.column_stack([(X - X.mean(0)) / X.std(0), np.ones(len(y))])
    G = A.T @ A / len(y)
    d_a = Preconditioner.build("diagonal", A).d
    d_g = Preconditioner.from_gram("diagonal", G, len(y)).d
    np.testing.assert_allclose(d_g, d_a, rtol=1e-12)
    R_a = Preconditioner.build("qr", A).R
    R_g = Preconditioner.from_gram("qr", G, len(y)).R
    assert R_a is not None and R_g is not None
    signs = np.sign(np.diag(R_a))
    np.testing.assert_allclose(R_g, signs[:, None] * R_a, rtol=1e-8, atol=1e-8 * abs(R_a).max())
    with pytest.raises(ValueError, match="rank deficient"):
        Preconditioner.from_gram("qr", np.ones((3, 3)), 10)


def test_a_whitened_log_loss_still_sees_separation(rng):
    """Separation is judged on θ = Tφ: whitening must not hide that no minimiser exists
    (regression: the preconditioned objective did not declare it, and "auto" reported a
    separable set "stationary" once the loss was ~1e-8)."""
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(float)
    X[:, 0] += np.where(y == 1, 1.0, -1.0)  # a wide margin
    for kw in ({"learning_rate": "auto"}, {"learning_rate": 0.1, "preconditioner": "qr"}):
        res = ds.fit(X, y, loss="logloss", **kw)
        assert res.settings["preconditioner"] == "qr"
        assert res.stop_reason == "separated"
        z = res.intercept + X @ res.coef
        assert np.all(np.where(y == 1, z, -z) > 0)  # it does separate, in the user's units
