"""Learning-rate sweeps: below the stability limit descent converges, above it it diverges."""

import numpy as np
import pytest

import descend as ds
from descend.shells.cli import main
from descend.studies.sweep import LRSweep, default_lrs, lr_sweep


@pytest.fixture(scope="module")
def data():
    """Two correlated features on different scales, so κ > 1 and the raw limit is tiny."""
    rng = np.random.default_rng(7)
    x1 = rng.normal(3.0, 2.0, 60)
    x2 = 0.5 * x1 + rng.normal(0.0, 1.0, 60)
    X = np.column_stack([x1, 10.0 * x2])
    y = 1.5 + 0.8 * x1 - 0.05 * X[:, 1] + rng.normal(0, 0.1, 60)
    return X, y


def independent_limit(A):
    """2/λ_max of the MSE Hessian (2/n)·AᵀA, computed here without the library's advice."""
    n = A.shape[0]
    return 2.0 / np.linalg.eigvalsh((2.0 / n) * A.T @ A).max()


@pytest.mark.parametrize("scale", [True, False])
def test_limit_matches_eigvalsh_and_splits_convergence(data, scale):
    """Rates below 2/λ_max converge to the optimum; rates above it are marked diverged."""
    X, y = data
    obj = ds.objective(X, y, model=ds.Linear(scale=scale))
    A = np.column_stack([obj.Z, np.ones(len(y))])
    limit = independent_limit(A)
    below = limit * np.array([0.3, 0.6, 0.95])
    above = limit * np.array([1.05, 1.5, 3.0])
    s = lr_sweep(
        X,
        y,
        lrs=np.concatenate([below, above]),
        model=ds.Linear(scale=scale),
        max_steps=3000 if scale else 300,
        tol=1e-12,
    )
    assert isinstance(s, LRSweep)
    assert s.advice is not None
    assert s.advice.stability_limit == pytest.approx(limit, rel=1e-10)
    np.testing.assert_allclose(s.lrs, np.concatenate([below, above]))
    assert s.diverged.tolist() == [False] * 3 + [True] * 3
    # the optimum and the starting loss, computed here: lstsq on [Z, 1] and the MSE at θ₀
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    best = np.mean((A @ beta - y) ** 2)
    assert s.reference_loss == pytest.approx(best, rel=1e-10)
    theta0 = obj.model.init_params(np.random.default_rng(0))  # lr_sweep's default seed
    start = np.mean((A @ theta0 - y) ** 2)
    if scale:  # scaled features: κ is small, so every stable rate reaches the optimum
        assert s.converged[:3].all()
        np.testing.assert_allclose(s.final_loss[:3], best, rtol=1e-8)
    else:  # raw columns: stable rates make progress (loss below the start) but crawl
        assert np.all((s.final_loss[:3] >= best * (1 - 1e-12)) & (s.final_loss[:3] < start))


def test_default_grid_straddles_the_limit(data):
    """The default grid is 0.9·2^k·limit: a factor 2 apart, never on the limit, two above it."""
    X, y = data
    s = lr_sweep(X, y, max_steps=200)
    limit = s.advice.stability_limit
    np.testing.assert_allclose(s.lrs, default_lrs(s.advice))
    np.testing.assert_allclose(s.lrs / limit, 0.9 * 2.0 ** np.arange(-10, 3))
    assert (s.lrs > limit).sum() == 2
    assert s.diverged.tolist() == (s.lrs > limit).tolist()
    assert len(s.rows()) == len(s.lrs) and s.steps.dtype == np.int64


def test_bad_rates_are_refused(data):
    """Zero, negative or empty rate lists raise a ValueError that names them."""
    X, y = data
    for bad in ([0.1, -1.0], [], [0.0]):
        with pytest.raises(ValueError, match="learning rates"):
            lr_sweep(X, y, lrs=bad)


def test_cli_sweep_lr_prints_a_table_and_plots(tmp_path, capsys):
    """`descend sweep-lr --lrs … --plot FILE` prints one row per rate and writes the figure."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "sweep.png"
    code = main(["sweep-lr", "--lrs", "0.1,0.5,0.9,1.5", "--max-iter", "300", "--plot", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "stability limit 2/λ_max = 1" in text
    rows = [line for line in text.splitlines() if line.strip().endswith(("converged", "diverged"))]
    assert len(rows) == 4 and rows[-1].strip().endswith("diverged")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_sweep_lr_rejects_bad_rates(capsys):
    """A malformed --lrs list is a usage error: exit 2 and one line naming --lrs."""
    assert main(["sweep-lr", "--lrs", "0.1,abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lrs" in err[0]


def test_validation_curve_shows_overfitting(rng):
    """Training MSE falls with the degree; validation MSE falls, then rises (measured here
    independently from the predictions on the same seeded split)."""
    from descend.problems.build import split_validation
    from descend.studies.sweep import validation_curve

    x = np.sort(rng.uniform(-1, 1, 40))
    y = np.sin(3 * x) + 0.3 * rng.normal(size=40)
    rows = validation_curve(x, y, degrees=[1, 3, 15], validation_fraction=0.3, seed=1)
    train = [r.train_loss for r in rows]
    val = [r.val_loss for r in rows]
    assert train[0] > train[1] > train[2]
    assert val[1] < val[0] and val[2] > val[1]
    Xt, yt, Xv, yv, _ = split_validation(x, y, 0.3, 1)
    res = ds.fit(Xt, yt, model="poly:3:chebyshev", learning_rate="auto", seed=1)
    assert rows[1].val_loss == pytest.approx(np.mean((yv - res.predict(Xv)) ** 2), rel=1e-6)


def test_validation_curve_ridge_shrinks_the_gap(rng):
    from descend.studies.sweep import validation_curve

    x = np.sort(rng.uniform(-1, 1, 40))
    y = np.sin(3 * x) + 0.3 * rng.normal(size=40)
    rows = validation_curve(x, y, degrees=[8], alphas=[0.0, 1e-3], validation_fraction=0.3,
                            max_steps=50_000)  # fmt: skip
    assert [r.stop_reason for r in rows] == ["converged", "converged"]
    assert rows[1].train_loss > rows[0].train_loss  # the penalty costs training fit …
    assert rows[1].val_loss < rows[0].val_loss  # … and buys validation fit


def test_cli_sweep_degree_validation(capsys):
    assert main(["sweep-degree", "--dataset", "norris", "--validation", "0.3",
                 "--max-degree", "2", "--alphas", "0,0.01"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "11 held out for validation" in out
    assert "validation MSE" in out and out.count("converged") == 4
