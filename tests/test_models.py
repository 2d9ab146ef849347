"""Linear and polynomial models: chain rule, Hessian, original units."""

import numpy as np
import pytest

import descend as ds
from descend.problems.losses import MAE, MSE, Huber
from descend.problems.models import Linear, Polynomial, get_model
from descend.problems.objective import DataObjective

MODELS = [Linear(), Linear(intercept=False), Linear(scale=False), Polynomial(3)]


def make_objective(model, loss, rng):
    X = rng.normal(2.0, 1.5, (40, 1 if isinstance(model, Polynomial) else 3))
    y = rng.normal(size=40)
    bound = model.bind(X)
    return DataObjective(bound, loss, bound.design(X), y)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.spec()}-{m.scale}")
@pytest.mark.parametrize("loss", [MSE(), MAE(), Huber(0.5)], ids=lambda loss: loss.name)
def test_gradient_matches_central_differences(model, loss, rng):
    """Analytic ∂L/∂θ (loss gradient, then chain rule) = central differences at random θ."""
    obj = make_objective(model, loss, rng)
    theta = rng.normal(size=obj.n_params)
    assert ds.check_grad(obj, theta) < 1e-6


def test_exact_hessian_matches_finite_differences(rng):
    """(2/n)·AᵀA equals finite differences of the gradient for Linear + MSE."""
    from descend.problems.curvature import hessian_fd

    obj = make_objective(Linear(), MSE(), rng)
    theta = rng.normal(size=obj.n_params)
    np.testing.assert_allclose(obj.hessian(theta), hessian_fd(obj, theta), rtol=1e-6, atol=1e-8)
    v = rng.normal(size=obj.n_params)
    np.testing.assert_allclose(obj.hvp(theta, v), obj.hessian(theta) @ v, rtol=1e-12)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.spec()}-{m.scale}")
@pytest.mark.parametrize("loss", ["mse", "huber:0.5", "logloss"])
def test_hvp_is_exact_for_models_linear_in_theta(model, loss, rng):
    """H·v = Aᵀ(h ⊙ A v): for the MSE exactly (2/n)·AᵀA·v from A itself; for Huber and the
    log loss it equals the dense Hessian from central differences of the gradient."""
    obj = make_objective(model, "mse", rng)
    y = (obj.y > 0).astype(float) if loss == "logloss" else obj.y
    obj = DataObjective(obj.model, loss, obj.Z, y)
    theta = rng.normal(size=obj.n_params)
    V = rng.normal(size=(obj.n_params, 3))
    HV = np.column_stack([obj.hvp(theta, v) for v in V.T])
    assert obj.exact_hvp
    if loss == "mse":
        A = obj.model.augmented(obj.Z)
        np.testing.assert_allclose(HV, (2.0 / A.shape[0]) * A.T @ (A @ V), rtol=1e-12)
    else:
        from descend.problems.curvature import hessian_fd

        Hfd = hessian_fd(obj, theta)
        assert np.abs(HV - Hfd @ V).max() <= 1e-6 * np.abs(Hfd @ V).max()


def test_exact_hvp_is_declared_through_penalty_and_preconditioning(rng):
    """A penalty or a change of variables keeps the base objective's exact products exact;
    both equal the dense Hessians from central differences of their gradients."""
    from descend.problems.curvature import hessian_fd
    from descend.problems.penalty import penalize
    from descend.problems.precondition import PreconditionedObjective, Preconditioner

    base = make_objective(Linear(scale=False), Huber(0.5), rng)
    ridge = penalize(base, "l2", 0.3, 0.0)
    pre = PreconditionedObjective(
        base, Preconditioner.build("diagonal", base.model.augmented(base.Z))
    )
    for obj in (ridge, pre):
        assert obj.exact_hvp
        theta = rng.normal(size=obj.n_params)
        H = np.column_stack([obj.hvp(theta, e) for e in np.eye(obj.n_params)])
        Hfd = hessian_fd(obj, theta)
        assert np.abs(H - Hfd).max() <= 1e-6 * np.abs(Hfd).max()


def test_mse_gradient_is_the_corrected_lesson_formula(rng):
    """Unscaled y = m·x + b: ∂L/∂m = −(2/n)Σx(y−ŷ), ∂L/∂b = −(2/n)Σ(y−ŷ)."""
    x = rng.uniform(0, 5, 25)
    y = 2 * x + 1 + rng.normal(size=25)
    model = Linear(scale=False).bind(x.reshape(-1, 1))
    obj = DataObjective(model, "mse", model.design(x.reshape(-1, 1)), y)
    m, b = 0.3, -0.2
    r = y - (m * x + b)
    _, g = obj.value_and_grad(np.array([m, b]))
    np.testing.assert_allclose(g, [-2 / 25 * np.sum(x * r), -2 / 25 * np.sum(r)], rtol=1e-12)


def test_original_units_reproduce_predictions(rng):
    """intercept + coef·x equals the model's predictions for Linear and Polynomial."""
    X = rng.uniform(100, 200, (30, 2))
    lin = Linear().bind(X)
    theta = rng.normal(size=3)
    b, coef = lin.to_original(theta)
    np.testing.assert_allclose(lin.predict(theta, X), b + X @ coef, rtol=1e-10)
    x = rng.uniform(-3, 9, (30, 1))
    poly = Polynomial(3).bind(x)
    theta = rng.normal(size=4)
    b, coef = poly.to_original(theta)
    expected = b + sum(coef[k] * x[:, 0] ** (k + 1) for k in range(3))
    np.testing.assert_allclose(poly.predict(theta, x), expected, rtol=1e-9)


def test_unpack_names_the_lessons_m_and_b():
    """One feature: {'m', 'b'}; several: w1…wd and b."""
    one = Linear().bind(np.ones((3, 1)) * [[1], [2], [3]])
    assert one.unpack(np.array([2.0, 1.0])) == {"m": 2.0, "b": 1.0}
    many = Linear().bind(np.arange(12.0).reshape(4, 3))
    assert list(many.unpack(np.zeros(4))) == ["w1", "w2", "w3", "b"]


def test_get_model_specs_and_errors():
    """Spec strings round-trip; bad ones explain the format."""
    for spec in ["linear", "linear-nointercept", "poly:3", "poly:4:chebyshev"]:
        assert get_model(spec).spec() == spec
    with pytest.raises(ValueError, match="poly:3"):
        get_model("poly:three")
    with pytest.raises(ValueError, match="unknown model"):
        get_model("tree")


@pytest.mark.parametrize(
    "spec", ["poly:+3", "poly:1_0", "poly:-2", "poly:3e1", "poly:", "mlp:+8", "mlp:8,,8", "mlp:1_6"]
)
def test_get_model_is_strict_about_sizes(spec):
    """Sizes are plain digits: Python's int("+3") and int("1_0") would pass caps by."""
    with pytest.raises(ValueError, match="bad model"):
        get_model(spec)


def test_model_sizes_are_declared():
    """sizes() reports what a caller caps, from the parsed model (not from the spec text)."""
    assert get_model(" POLY: 7 ").sizes() == {"degree": 7}
    assert get_model("mlp:3, 65,2:relu").sizes() == {"layers": 3, "width": 65}
    assert get_model("linear").sizes() == {}


def test_polynomial_needs_one_column(rng):
    """A polynomial of two columns is refused with the fix."""
    with pytest.raises(ValueError, match="one input column"):
        Polynomial(2).bind(rng.normal(size=(5, 2)))


def test_predict_checks_the_feature_count(rng):
    """Wrong number of columns at predict time names both counts."""
    model = Linear().bind(rng.normal(size=(5, 3)))
    with pytest.raises(ValueError, match="2 feature column.*3"):
        model.predict(np.zeros(4), rng.normal(size=(5, 2)))


@pytest.mark.parametrize("spec", ["linear", "linear-nointercept", "poly:3"])
def test_fused_squared_error_is_the_three_call_path(rng, spec):
    """Linear models compute the MSE and its gradient in one call: bitwise forward → MSE →
    vjp, and equal to the closed form (2/n)·Aᵀ(Aθ − y) on the augmented design (NumPy)."""
    X = rng.standard_normal((57, 2))
    y = rng.standard_normal(57)
    model = get_model(spec).bind(X[:, :1] if spec.startswith("poly") else X)
    Z = model.design(X[:, :1] if spec.startswith("poly") else X)
    assert model.fuses_squared_error
    theta = rng.standard_normal(model.n_params)
    loss, grad = model.squared_error(theta, Z, y)
    ref_loss, d = MSE().value_and_grad(y, model.forward(theta, Z))
    assert loss == ref_loss
    np.testing.assert_array_equal(grad, model.vjp(theta, Z, d))
    A = model.augmented(Z)
    np.testing.assert_allclose(grad, (2 / 57) * A.T @ (A @ theta - y), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss, np.mean((A @ theta - y) ** 2), rtol=1e-12)


# -- K outputs (the softmax's logits) ---------------------------------------------------------
@pytest.mark.parametrize(
    "model", [Linear(), Linear(intercept=False), Polynomial(2)], ids=lambda m: m.spec()
)
def test_k_outputs_gradient_matches_central_differences(model, rng):
    """A model with K outputs under the softmax: p = (k + 1)·K, ŷ of shape (n, K), and the
    chain rule ∂L/∂W = GᵀZ, ∂L/∂b = Σ_i G_i against central differences."""
    X = rng.normal(1.0, 2.0, (30, 1 if isinstance(model, Polynomial) else 3))
    y = rng.integers(0, 4, 30).astype(float)
    obj = ds.objective(X, y, model=model, loss="softmax")
    k = obj.model.n_weights + int(obj.model.intercept)
    assert obj.model.n_outputs == 4 and obj.n_params == 4 * k
    theta = rng.normal(size=obj.n_params)
    assert obj.predict(theta).shape == (30, 4)
    assert ds.check_grad(obj, theta) < 1e-6


def test_k_outputs_are_k_independent_linear_models(rng):
    """Output c of the K-output model is the one-output model on block c of θ; its
    coefficients in the data's units are that model's (one row per output)."""
    X = rng.normal(3.0, 2.0, (25, 2))
    one = Linear().bind(X)
    many = Linear().with_outputs(3).bind(X)
    theta = rng.normal(size=many.n_params)
    Z = many.design(X)
    Y = many.forward(theta, Z)
    b, W = many.to_original(theta)
    assert W.shape == (3, 2) and b.shape == (3,)
    for c, block in enumerate(theta.reshape(3, -1)):
        np.testing.assert_allclose(Y[:, c], one.forward(block, Z), rtol=1e-13, atol=1e-14)
        b1, w1 = one.to_original(block)
        assert b[c] == b1 and np.array_equal(W[c], w1)
        np.testing.assert_allclose(X @ W[c] + b[c], Y[:, c], rtol=1e-12, atol=1e-12)
    assert list(many.unpack(theta))[:3] == ["w1[0]", "w2[0]", "b[0]"]
    assert many.param_names()[3] == "w1[1]"


def test_a_one_output_model_refuses_k_outputs():
    from descend.problems.models.base import Model

    class OneOutput(Model):
        def spec(self) -> str:
            return "one-output"

    assert OneOutput().with_outputs(1).spec() == "one-output"
    with pytest.raises(ValueError, match="one output per row"):
        OneOutput().with_outputs(3)
