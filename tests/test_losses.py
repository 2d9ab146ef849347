"""Losses: values from their definitions, gradients against central differences, fits against
outside solvers (scripts/loss_references.py), and the log loss's refusal of other targets."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import descend as ds
from descend.problems.losses import MAE, MSE, Huber, LogLoss, SmoothedMAE, get_loss

LOSSES = [MSE(), MAE(), Huber(0.7), LogLoss(), SmoothedMAE(0.7)]


def central(f, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_gradient_matches_central_differences(loss, rng):
    """∂L/∂ŷ equals central differences of L at random points (away from kinks)."""
    y = rng.integers(0, 2, 12).astype(float) if loss.name == "logloss" else rng.normal(size=12)
    yhat = rng.normal(size=12)
    value, grad = loss.value_and_grad(y, yhat)
    assert value == pytest.approx(loss.value(y, yhat))
    np.testing.assert_allclose(
        grad, central(lambda p: loss.value(y, p), yhat), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_curvature_matches_central_differences_of_the_gradient(loss, rng):
    """∂²L/∂ŷ² (diagonal in ŷ) equals central differences of ∂L/∂ŷ (away from kinks)."""
    y = rng.integers(0, 2, 12).astype(float) if loss.name == "logloss" else rng.normal(size=12)
    yhat = y + rng.normal(size=12)  # some residuals inside the Huber band, some outside
    h = 1e-6
    fd = np.array([
        (loss.grad(y, yhat + h * e)[i] - loss.grad(y, yhat - h * e)[i]) / (2 * h)
        for i, e in enumerate(np.eye(12))
    ])  # fmt: skip
    assert loss.has_curvature
    np.testing.assert_allclose(loss.curvature(y, yhat), fd, rtol=1e-6, atol=1e-9)


def test_mse_is_the_lesson_formula(rng):
    """MSE = (1/n)Σ(y−ŷ)² with no hidden ½; its gradient is −(2/n)(y−ŷ)."""
    y, yhat = np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])
    assert MSE().value(y, yhat) == pytest.approx((1 + 0 + 9) / 3)
    np.testing.assert_allclose(MSE().grad(y, yhat), [-2 / 3, 0.0, -2.0])


def test_huber_is_quadratic_inside_and_linear_outside():
    """Huber(δ=1): ½r² for |r| ≤ 1, |r| − ½ beyond."""
    y, yhat = np.array([0.5, 3.0]), np.zeros(2)
    assert Huber(1.0).value(y, yhat) == pytest.approx((0.125 + 2.5) / 2)


def test_mae_and_logloss_literal_values():
    """MAE and log loss against values worked by hand."""
    assert MAE().value(np.array([1.0, -1.0]), np.array([0.0, 1.0])) == pytest.approx(1.5)
    # log(1+e^0) − 0 = log 2 for z = 0
    assert LogLoss().value(np.array([1.0]), np.array([0.0])) == pytest.approx(np.log(2))
    # very large logits do not overflow
    v, g = LogLoss().value_and_grad(np.array([0.0, 1.0]), np.array([800.0, -800.0]))
    assert np.isfinite(v) and v == pytest.approx(800.0) and np.all(np.isfinite(g))


def test_losses_are_zero_at_a_perfect_fit(rng):
    """L(y, y) = 0 for the regression losses."""
    y = rng.normal(size=7)
    for loss in (MSE(), MAE(), Huber(0.3)):
        assert loss.value(y, y) == 0.0


def test_get_loss_by_name_and_errors():
    """Names (with a Huber threshold) resolve; unknown names list the choices."""
    assert isinstance(get_loss("mse"), MSE)
    assert get_loss("huber:2.5").delta == 2.5
    assert isinstance(get_loss("cross-entropy"), LogLoss)
    with pytest.raises(ValueError, match="choose one of"):
        get_loss("l3")
    with pytest.raises(ValueError, match="positive"):
        get_loss("huber:-1")


def test_smoothed_mae_is_within_delta_over_two_of_the_mae(rng):
    """MAE − δ/2 ≤ S_δ ≤ MAE everywhere, S_δ → MAE as δ → 0, curvature bound 1/δ; only the MAE
    has a smoothing."""
    y, yhat = rng.normal(size=50), rng.normal(size=50)
    mae = MAE().value(y, yhat)
    for delta in (3.0, 0.4, 1e-3):
        s = SmoothedMAE(delta)
        assert mae - delta / 2 - 1e-12 <= s.value(y, yhat) <= mae + 1e-12  # rounding
        assert s.curvature_bound == 1 / delta
    assert MAE().smoothed(0.25) == SmoothedMAE(0.25) and MAE().smoothable
    with pytest.raises(ValueError, match="differentiable"):
        Huber().smoothed(0.1)
    with pytest.raises(ValueError, match="positive"):
        SmoothedMAE(0.0)


# -- against outside solvers -------------------------------------------------------------------
def _references():
    path = Path(__file__).resolve().parents[1] / "scripts" / "loss_references.py"
    spec = importlib.util.spec_from_file_location("loss_references", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


REFS = _references()


@pytest.mark.parametrize(
    "case", [c for c in REFS.CASES if c.quick], ids=lambda c: f"{c.loss}-{c.name}"
)
def test_auto_fit_reaches_the_outside_solvers(case):
    """ds.fit(loss=…, learning_rate="auto") with default stopping is within the target of
    L-BFGS-B on the same objective (Huber, log loss), of LogisticRegression(penalty=None) (log
    loss) and of QuantileRegressor's exact linear program (MAE): relative excess ≤ 1e-10, 1e-10
    and 1e-8 (docs/losses.md has the whole table). None of them claims "converged"."""
    pytest.importorskip("sklearn")
    pytest.importorskip("scipy")
    row = REFS.measure(case)
    assert row.met, (row.worst, row.refs, row.loss)
    assert row.stop_reason in ("stationary", "stalled"), row.stop_reason


# -- the log loss's targets --------------------------------------------------------------------
@pytest.mark.parametrize("bad", [2.0, 0.5, -1.0])
def test_logloss_refuses_targets_outside_0_1(bad):
    """ds.fit and ds.objective refuse y ∉ {0, 1} with a DataError naming the row, the value
    and the fix — the check is the loss's own, run where every data objective is built."""
    X = np.arange(6.0).reshape(-1, 1)
    y = np.array([0.0, 1.0, 0.0, bad, 1.0, bad])
    for build in (
        lambda: ds.objective(X, y, loss="logloss"),
        lambda: ds.fit(X, y, loss="logloss"),
        lambda: ds.fit(np.tile(X, (20_000, 1)), np.tile(y, 20_000), loss="logloss"),  # fast path
    ):
        with pytest.raises(ds.DataError, match=r"row 4 has y = ") as exc:
            build()
        assert repr(bad) in str(exc.value) and "{0, 1}" in str(exc.value)
        assert "ncode the two classes as 0 and 1" in str(exc.value)
        # labels 0, 1, 2 are three classes: the softmax is named; 0.5 and -1 are not labels
        assert ("loss='softmax'" in str(exc.value)) == (bad == 2.0)
    ds.objective(X, (y == 1.0).astype(float), loss="logloss")  # 0/1 targets are fine


# -- the softmax (multinomial cross-entropy) -------------------------------------------------
def test_softmax_is_scipys_log_softmax(rng):
    """L = −mean log softmax(z)_y, against SciPy's log_softmax; ∂L/∂Z = (P − Y)/n against
    central differences of the value."""
    from scipy.special import log_softmax, softmax

    n, k = 9, 4
    y = rng.integers(0, k, n).astype(float)
    Z = 3.0 * rng.normal(size=(n, k))
    loss = ds.losses.Softmax(k)
    value, grad = loss.value_and_grad(y, Z)
    expected = -np.mean(log_softmax(Z, axis=1)[np.arange(n), y.astype(int)])
    assert value == pytest.approx(expected, rel=1e-14)
    assert loss.value(y, Z) == pytest.approx(value, rel=1e-15)
    onehot = np.eye(k)[y.astype(int)]
    np.testing.assert_allclose(grad, (softmax(Z, axis=1) - onehot) / n, rtol=1e-12, atol=1e-15)
    fd = central(lambda z: loss.value(y, z.reshape(n, k)), Z.ravel()).reshape(n, k)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_softmax_with_two_classes_is_the_log_loss_of_the_logit_difference(rng):
    y = rng.integers(0, 2, 20).astype(float)
    Z = rng.normal(size=(20, 2))
    two = ds.losses.Softmax(2).value(y, Z)
    assert two == pytest.approx(LogLoss().value(y, Z[:, 1] - Z[:, 0]), rel=1e-13)


def test_softmax_does_not_overflow():
    v, g = ds.losses.Softmax(3).value_and_grad(
        np.array([0.0, 2.0]), np.array([[900.0, -900.0, 0.0], [900.0, 0.0, -5.0]])
    )
    # row 1: log Σe^z ≈ 900, own logit 900 → 0; row 2: ≈ 900, own logit −5 → 905
    assert v == pytest.approx(905.0 / 2)
    assert np.all(np.isfinite(g))


def test_softmax_learns_k_and_refuses_bad_targets():
    loss = get_loss("softmax")
    assert loss.n_outputs == 0 and loss.for_targets(np.array([0.0, 2.0, 1.0])).n_outputs == 3
    assert get_loss("softmax:4").spec() == "softmax:4" and get_loss("multinomial").name == "softmax"
    with pytest.raises(ds.DataError, match=r"row 2 has y = 1\.5"):
        loss.for_targets(np.array([0.0, 1.5, 1.0]))
    with pytest.raises(ds.DataError, match="row 3 has y = -1"):
        loss.for_targets(np.array([0.0, 1.0, -1.0]))
    with pytest.raises(ds.DataError, match=r"0, 1, …, 2"):
        get_loss("softmax:3").check_targets(np.array([0.0, 3.0]))
    with pytest.raises(ds.DataError, match="at least two classes"):
        loss.for_targets(np.zeros(5))
    with pytest.raises(ds.DataError, match="GDClassifier"):
        loss.for_targets(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="softmax:3"):
        get_loss("softmax:x")


def test_softmax_separation_is_every_own_logit_on_top():
    loss = ds.losses.Softmax(3)
    y = np.array([0.0, 2.0])
    assert loss.separated(y, np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 1.5]]))
    assert not loss.separated(y, np.array([[2.0, 2.0, 0.0], [0.0, 1.0, 1.5]]))  # a tie


@pytest.mark.parametrize("loss", [*LOSSES, ds.losses.Softmax(3)], ids=lambda loss: loss.name)
def test_weighted_loss_is_the_weighted_mean_of_the_rows(loss, rng):
    """L_w = (1/n) Σ wᵢℓᵢ with per-row ℓᵢ that average to L; ∂L_w/∂ŷ against differences."""
    n = 10
    if loss.name == "softmax":
        y, yhat = rng.integers(0, 3, n).astype(float), rng.normal(size=(n, 3))
    else:
        y = rng.integers(0, 2, n).astype(float) if loss.name == "logloss" else rng.normal(size=n)
        yhat = rng.normal(size=n)
    assert np.mean(loss.per_row(y, yhat)) == pytest.approx(loss.value(y, yhat), rel=1e-13)
    w = rng.uniform(0.0, 2.0, n)
    value, grad = loss.weighted(y, yhat, w)
    assert value == pytest.approx(w @ loss.per_row(y, yhat) / n, rel=1e-14)
    fd = central(lambda p: loss.weighted(y, p.reshape(yhat.shape), w)[0], yhat.ravel())
    np.testing.assert_allclose(grad.ravel(), fd, rtol=1e-6, atol=1e-9)


def test_softmax_refuses_a_class_without_rows():
    """K is max(y) + 1: a gap in the labels (0 and 2, no 1) would leave class 1's logit falling
    for ever — a DataError that names the class and the fix, not a run to max_steps."""
    X = np.arange(8.0).reshape(-1, 1)
    with pytest.raises(ds.DataError, match=r"class 1 has no rows.*without gaps"):
        ds.fit(X, np.array([0.0, 2.0] * 4), loss="softmax", max_steps=5)
