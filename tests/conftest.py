import numpy as np
import pytest

import descend as ds


@pytest.fixture(autouse=True)
def _kernels_opt_in_per_test(monkeypatch):
    """A test that opts its process into the compiled kernels (``fused.prepare()``) does so
    for itself only: later tests see the default route (the loop's reference tests compare
    it bit for bit with the step-by-step loop)."""
    from descend.problems import fused

    monkeypatch.setattr(fused, "_OPTED", fused._OPTED.copy())


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so every test is reproducible."""
    return np.random.default_rng(20261127)


@pytest.fixture
def problem(rng):
    """Two features and an intercept: (objective, seeded start). Used by test_session.py and
    test_slices.py; test_loop.py and test_compare.py define their own ``problem``."""
    X = rng.uniform(-2, 5, (40, 2))
    y = X @ np.array([1.5, -0.7]) + 3.0 + 0.1 * rng.standard_normal(40)
    obj = ds.objective(X, y)
    return obj, obj.model.init_params(np.random.default_rng(1))


def _noiseless_linear(rng, n=60, d=3):
    X = rng.uniform(-5, 20, (n, d))
    w, b = rng.normal(size=d), 4.0
    return X, X @ w + b, w, b


@pytest.fixture
def noiseless_linear():
    """``noiseless_linear(rng, n=60, d=3)`` → (X, y, w, b): y = X·w + b exactly."""
    return _noiseless_linear


def _correlated(rng: np.random.Generator, n: int = 20_000, d: int = 5, kappa: float = 1e4):
    """Standardised columns whose Gram matrix has condition number ≈ kappa (κ(H) > 100)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    M = (Q * np.geomspace(1.0, kappa**-0.5, d)) @ Q.T
    X = rng.standard_normal((n, d)) @ M
    X /= X.std(axis=0)
    y = X @ rng.standard_normal(d) + 1.0 + 0.5 * rng.standard_normal(n)
    return X, y


@pytest.fixture
def correlated():
    """``correlated(rng, n=20_000, d=5, kappa=1e4)`` → (X, y): standardised columns whose Gram
    matrix has condition number ≈ kappa."""
    return _correlated
