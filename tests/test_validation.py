"""Validation split and early stopping (problems/build.py split, descent/loop.py verdict)."""

import numpy as np
import pytest

import descend as ds
from descend.descent.verdicts import STOP_REASONS
from descend.problems.build import split_validation


@pytest.fixture
def wiggly(rng):
    """A degree-12 polynomial on 30 noisy points of sin(3x): the training optimum overfits."""
    x = np.sort(rng.uniform(-1, 1, 30))
    return x, np.sin(3 * x) + 0.3 * rng.normal(size=30)


def test_split_is_seeded_disjoint_and_complete(rng):
    X = rng.normal(size=(50, 2))
    y = np.arange(50.0)
    Xt, yt, Xv, yv, _ = split_validation(X, y, 0.2, seed=3)
    assert len(yv) == 10 and len(yt) == 40
    assert sorted(np.concatenate([yt, yv])) == list(y)
    again = split_validation(X, y, 0.2, seed=3)
    np.testing.assert_array_equal(again[3], yv)
    assert not np.array_equal(split_validation(X, y, 0.2, seed=4)[3], yv)


def test_trains_on_the_rest_and_records_the_held_out_loss(rng):
    X = rng.normal(size=(80, 3)) * [1.0, 5.0, 0.2]
    y = X @ [1.0, -2.0, 3.0] + 0.5 * rng.normal(size=80)
    res = ds.fit(X, y, learning_rate="auto", validation_fraction=0.25, seed=7)
    Xt, yt, Xv, yv, _ = split_validation(X, y, 0.25, seed=7)
    alone = np.linalg.lstsq(np.column_stack([Xt, np.ones(len(yt))]), yt, rcond=None)[0]
    np.testing.assert_allclose(res.coef, alone[:3], rtol=1e-7)  # trained on the rest only
    assert res.settings["n_samples"] == len(yt)
    # val_loss[k] is the held-out MSE at θ_k, computed here from the data's units
    model = res.model
    for k in (0, 3, len(res.history) - 1):
        b, w = model.to_original(res.history.params[k])
        assert res.history.val_loss[k] == pytest.approx(np.mean((yv - Xv @ w - b) ** 2), rel=1e-9)


def test_early_stopping_restores_the_best_validation_iterate(wiggly):
    x, y = wiggly
    kw = {"model": "poly:12", "learning_rate": "auto", "preconditioner": "none",
          "validation_fraction": 0.3, "seed": 0}  # fmt: skip
    res = ds.fit(x, y, early_stopping=True, n_iter_no_change=10, max_steps=200_000, **kw)
    assert res.stop_reason == "early_stopped"
    assert "early_stopped" in STOP_REASONS
    best = int(np.argmin(res.history.val_loss))
    np.testing.assert_array_equal(res.params, res.history.params[best])
    assert len(res.history.val_loss) == best + 10 + 1
    # the training optimum overfits: run on, the held-out loss ends higher than its best
    full = ds.fit(x, y, max_steps=50_000, **kw)
    assert full.history.val_loss[-1] > 1.05 * res.history.val_loss.min()
    assert full.loss < res.loss  # … while the training loss kept falling


def test_mini_batch_checks_once_per_epoch(rng):
    X = rng.normal(size=(100, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=100)
    res = ds.fit(X, y, batch_size=10, learning_rate=0.05, max_steps=300,
                 validation_fraction=0.2)  # fmt: skip
    assert len(res.history.val_loss) == 300 // 8  # 80 training rows: 8 steps an epoch


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"validation_fraction": 1.5}, "validation_fraction must be in"),
        ({"validation_fraction": 0.0}, "validation_fraction must be in"),
        ({"validation_fraction": 0.9}, "training"),
        ({"validation_fraction": 0.5, "model": "poly:5"}, "5 training rows for 6 parameters"),
    ],
)
def test_bad_splits_say_what_to_do(rng, kwargs, match):
    x = rng.uniform(0, 1, 10)
    with pytest.raises(ValueError, match=match):
        ds.fit(x, 2 * x, **kwargs)


def test_minimize_early_stopping_needs_a_validation_set(problem):
    obj, theta0 = problem
    with pytest.raises(ValueError, match="early_stopping needs held-out rows"):
        ds.minimize(obj, theta0, early_stopping=True)


def test_val_loss_survives_the_json_result(tmp_path, rng):
    from descend.descent.serialize import load_result, save_result

    X = rng.normal(size=(40, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=40)
    res = ds.fit(X, y, validation_fraction=0.25, max_steps=50)
    save_result(res, tmp_path / "r.json")
    back = load_result(tmp_path / "r.json")
    np.testing.assert_array_equal(back.history.val_loss, res.history.val_loss)


def test_cli_early_stopping(tmp_path, wiggly):
    import json

    from descend.shells.cli import main

    x, y = wiggly
    csv = tmp_path / "d.csv"
    rows = [f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y, strict=True)]
    csv.write_text("x,y\n" + "\n".join(rows))
    out = tmp_path / "r.json"
    code = main(["fit", str(csv), "--x", "x", "--y", "y", "--model", "poly:12", "--lr", "auto",
                 "--preconditioner", "none", "--validation-fraction", "0.3", "--early-stopping",
                 "--max-iter", "200000", "--quiet", "--json", str(out)])  # fmt: skip
    assert code == 0
    saved = json.loads(out.read_text())
    assert saved["stop_reason"] == "early_stopped"
    assert len(saved["history"]["val_loss"]) == saved["n_steps"] + 1


def test_estimator_early_stopping(wiggly):
    from descend.estimators import GDRegressor

    x, y = wiggly
    est = GDRegressor(model="poly:12", early_stopping=True, validation_fraction=0.3,
                      max_iter=200_000, optimizer_params={"preconditioner": "none"})  # fmt: skip
    est.fit(x.reshape(-1, 1), y)
    assert est.stop_reason_ == "early_stopped"
