"""Sharpness: top Hessian eigenvalues by Lanczos and by power iteration against dense
eigendecompositions (numpy.linalg.eigvalsh of (2/n)·AᵀA, of finite-difference Hessians, of
P⁻¹H), and its tracking in the loop (bitwise the same run, NaN between measurements)."""

import numpy as np
import pytest

import descend as ds
from descend.problems import sharpness as sharp_mod
from descend.problems.curvature import hessian_fd
from descend.problems.objective import Objective
from descend.problems.sharpness import sharpness

METHODS = ["lanczos", "power"]


class MatrixObjective(Objective):
    """f(θ) = ½ θᵀMθ: Hessian M, for spectra chosen by the test."""

    exact_hvp = True

    def __init__(self, M):
        self.M = np.asarray(M, dtype=np.float64)
        self.n_params = self.M.shape[0]

    def value_and_grad(self, theta):
        g = self.M @ theta
        return 0.5 * float(theta @ g), g

    def hvp(self, theta, v):
        return self.M @ v


def _spectrum(rng, lam):
    Q, _ = np.linalg.qr(rng.normal(size=(len(lam), len(lam))))
    return MatrixObjective((Q * np.asarray(lam)) @ Q.T)


@pytest.mark.parametrize("method", METHODS)
def test_linear_least_squares_sharpness_is_lambda_max_of_2_over_n_AtA(rng, method):
    """λ_max (and the next two) equal numpy.linalg.eigvalsh((2/n)·AᵀA), A = [Z, 1]."""
    X = rng.normal(size=(80, 6)) * [1, 2, 3, 0.5, 1, 4]
    y = rng.normal(size=80)
    obj = ds.objective(X, y, fast=False)
    A = obj.model.augmented(obj.Z)
    lam = np.linalg.eigvalsh(2.0 / 80 * A.T @ A)[::-1]
    s = sharpness(obj, rng.normal(size=obj.n_params), k=3, method=method)
    np.testing.assert_allclose(s.values, lam[:3], rtol=1e-7)
    assert s.method == method and s.n_hvp > 3
    assert np.all(s.relative_residuals() <= 1e-3)
    np.testing.assert_allclose(np.abs(s.vectors.T @ s.vectors), np.eye(3), atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_network_sharpness_matches_the_dense_finite_difference_hessian(rng, method):
    """For a tanh network the top-2 eigenvalues equal eigvalsh of the dense Hessian built
    from central differences of the gradient (no R-operator in the reference)."""
    X = rng.normal(size=(40, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=40)
    obj = ds.objective(X, y, model="mlp:6")
    theta = obj.model.init_params(rng)
    lam = np.linalg.eigvalsh(hessian_fd(obj, theta))[::-1]
    s = sharpness(obj, theta, k=2, method=method)
    np.testing.assert_allclose(s.values, lam[:2], rtol=1e-6)
    assert np.all(s.residuals <= 1e-4 * abs(lam[0]))


@pytest.mark.parametrize("method", METHODS)
def test_the_largest_eigenvalue_is_the_algebraic_one(rng, method):
    """A dominant negative eigenvalue (−10) is not the sharpness: the largest is 3."""
    obj = _spectrum(rng, [-10.0, 1.0, 2.0, 3.0, -0.5, 0.1, 0.2, 0.3])
    s = sharpness(obj, np.zeros(8), k=2, method=method)
    np.testing.assert_allclose(s.values, [3.0, 2.0], rtol=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_preconditioned_sharpness_is_the_top_eigenvalue_of_P_inverse_H(rng, method):
    """With diag(P), the eigenvalues are those of P⁻¹H (numpy.linalg.eigvals, unsymmetric)."""
    obj = _spectrum(rng, np.linspace(-1.0, 5.0, 12))
    P = rng.uniform(0.1, 3.0, 12)
    lam = np.sort(np.linalg.eigvals(obj.M / P[:, None]).real)[::-1]
    s = sharpness(obj, np.zeros(12), k=2, method=method, preconditioner=P)
    assert s.preconditioned
    np.testing.assert_allclose(s.values, lam[:2], rtol=1e-7)


def test_auto_uses_power_iteration_without_scipy(rng, monkeypatch):
    """The core needs NumPy only: without SciPy "auto" falls back to power iteration."""
    obj = _spectrum(rng, np.arange(1.0, 11.0))
    assert sharpness(obj, np.zeros(10)).method == "lanczos"
    monkeypatch.setattr(sharp_mod, "has_scipy", lambda: False)
    s = sharpness(obj, np.zeros(10))
    assert s.method == "power" and s.lam_max == pytest.approx(10.0, rel=1e-8)


def test_tiny_problems_use_the_dense_hessian(rng):
    """p ≤ k + 1 (ARPACK cannot run): the whole H from p products, eigh."""
    obj = _spectrum(rng, [4.0, -1.0, 2.0])
    s = sharpness(obj, np.zeros(3), k=2)
    assert s.method == "dense" and s.n_hvp == 3 + 2
    np.testing.assert_allclose(s.values, [4.0, 2.0], rtol=1e-12)
    assert "top eigenvalue(s) of H: 4, 2" in s.describe()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be a whole number from 1 to p = 5"),
        ({"k": 6}, "k must be a whole number from 1 to p = 5"),
        ({"method": "arnoldi"}, "unknown method 'arnoldi'"),
        ({"tol": 0.0}, "tol must be a number in"),
        ({"preconditioner": [1, 1, 0, 1, 1]}, "positive, finite diagonal"),
        ({"v0": np.zeros(5)}, "v0 must be 5 finite numbers"),
    ],
)
def test_bad_arguments_are_refused_by_name(rng, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sharpness(_spectrum(rng, np.arange(5.0)), np.zeros(5), **kwargs)


# -- tracking in the loop ----------------------------------------------------------------------
def _network(rng, n=60):
    X = rng.normal(size=(n, 2))
    return X, np.sin(2 * X[:, 0]) * np.cos(X[:, 1])


def test_track_sharpness_records_every_E_steps_without_changing_the_run(rng):
    """Measured at k = 0, E, 2E, … (NaN between); the iterates are bitwise those of the
    untracked run; each measurement is λ_max of the dense Hessian at that θ_k."""
    X, y = _network(rng)
    kw = dict(model="mlp:5", learning_rate=0.3, max_steps=40, seed=1, record_params=True)
    plain = ds.fit(X, y, **kw)
    res = ds.fit(X, y, track_sharpness=7, **kw)
    np.testing.assert_array_equal(res.params, plain.params)
    s = res.history.sharpness
    assert s.shape == (40,) and res.history.preconditioned_sharpness is None
    measured = np.flatnonzero(np.isfinite(s))
    np.testing.assert_array_equal(measured, np.arange(0, 40, 7))
    obj = ds.objective(X, y, model="mlp:5")
    for k in measured[[0, -1]]:
        H = hessian_fd(obj, res.history.params[k])
        assert s[k] == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-6)
    cost = res.settings["track_sharpness"]
    assert cost["every"] == 7 and cost["measurements"] == measured.size
    assert cost["hvps"] >= 2 * measured.size and cost["seconds"] > 0


def test_adam_records_the_preconditioned_sharpness_with_its_own_P(rng):
    """λ_max(P_k⁻¹H(θ_k)) with Adam's P_k = √(v_k/(1 − β₂ᵏ⁺¹)) + ε rebuilt here from the
    gradients along the recorded path (v_k = β₂v_{k−1} + (1 − β₂)g_k²)."""
    X, y = _network(rng)
    res = ds.fit(X, y, model="mlp:4", optimizer="adam", learning_rate=0.01, max_steps=12,
                 seed=0, record_params=True, track_sharpness=5)  # fmt: skip
    obj = ds.objective(X, y, model="mlp:4")
    b2, eps = 0.999, 1e-8
    v = np.zeros(obj.n_params)
    for k in range(12):
        g = obj.grad(res.history.params[k])
        v = b2 * v + (1 - b2) * g * g
        if k % 5:
            assert np.isnan(res.history.preconditioned_sharpness[k])
            continue
        P = np.sqrt(v / (1 - b2 ** (k + 1))) + eps
        H = hessian_fd(obj, res.history.params[k])
        lam = np.max(np.linalg.eigvals(H / P[:, None]).real)
        assert res.history.preconditioned_sharpness[k] == pytest.approx(lam, rel=1e-5)


def test_tracked_history_survives_result_json_and_checkpoints(rng, tmp_path):
    """The sharpness column round-trips through save_result/load_result (NaN included) and a
    checkpointed run resumed to the end has the same column as the uninterrupted one."""
    from descend.descent.serialize import load_result, save_result

    X, y = _network(rng)
    kw = dict(model="mlp:3", learning_rate=0.2, seed=0, track_sharpness=4)
    full = ds.fit(X, y, max_steps=20, **kw)
    save_result(full, tmp_path / "r.json")
    back = load_result(tmp_path / "r.json")
    np.testing.assert_array_equal(back.history.sharpness, full.history.sharpness)
    ds.fit(X, y, max_steps=10, checkpoint=tmp_path / "c.json", **kw)
    resumed = ds.resume(tmp_path / "c.json", X, y, max_steps=20)
    s, r = full.history.sharpness, resumed.history.sharpness
    np.testing.assert_array_equal(np.isnan(r), np.isnan(s))
    np.testing.assert_allclose(r[~np.isnan(r)], s[~np.isnan(s)], rtol=1e-6)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_track_sharpness_must_be_a_whole_number_of_steps(rng, bad):
    X, y = _network(rng, 20)
    with pytest.raises(ValueError, match="track_sharpness must be a whole number of steps"):
        ds.fit(X, y, model="mlp:3", max_steps=3, track_sharpness=bad)


def test_tracked_columns_go_to_csv(rng, tmp_path):
    """History.to_csv writes the sharpness column (nan between measurements), as read back
    by numpy.genfromtxt."""
    X, y = _network(rng, 30)
    res = ds.fit(X, y, model="mlp:3", learning_rate=0.1, max_steps=6, track_sharpness=3)
    res.history.to_csv(tmp_path / "h.csv")
    table = np.genfromtxt(tmp_path / "h.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(table["sharpness"], res.history.sharpness)
