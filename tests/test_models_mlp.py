"""The MLP: backpropagation against central differences and PyTorch, views, init, training."""

import numpy as np
import pytest

import descend as ds
from descend.problems.models import MLP, get_model
from descend.problems.objective import DataObjective

ACTIVATIONS = ["tanh", "relu", "sigmoid", "identity"]
LOSSES = ["mse", "mae", "huber", "logloss"]


def _objective(rng, hidden=(4, 3), activation="tanh", loss="mse", n=15, d=3):
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1][:d] + 5.0
    y = (rng.random(n) < 0.5).astype(float) if loss == "logloss" else rng.normal(size=n)
    model = MLP(list(hidden), activation=activation).bind(X)
    return DataObjective(model, loss, model.design(X), y), X, y


def _central(obj, theta, h=1e-6):
    g = np.empty_like(theta)
    for j in range(theta.shape[0]):
        e = np.zeros_like(theta)
        e[j] = h
        g[j] = (obj.value(theta + e) - obj.value(theta - e)) / (2 * h)
    return g


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_central_differences(rng, activation, loss):
    """Backpropagation equals central differences of the loss for every activation × loss."""
    obj, _, _ = _objective(rng, activation=activation, loss=loss)
    theta = obj.model.init_params(rng) + 0.1 * rng.normal(size=obj.n_params)
    g = obj.grad(theta)
    fd = _central(obj, theta)
    assert np.max(np.abs(g - fd)) <= 1e-7 * max(1.0, np.max(np.abs(fd)))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "logloss"])
def test_gradient_matches_pytorch_autograd(rng, activation, loss):
    """The same weights in PyTorch (float64) give the same loss and gradient."""
    torch = pytest.importorskip("torch")
    obj, _, y = _objective(rng, hidden=(5, 4), activation=activation, loss=loss)
    theta = obj.model.init_params(rng) + 0.1 * rng.normal(size=obj.n_params)
    value, grad = obj.value_and_grad(theta)

    params = {
        k: torch.tensor(np.array(v), requires_grad=True) for k, v in obj.model.unpack(theta).items()
    }
    act = {
        "tanh": torch.tanh,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "identity": lambda t: t,
    }[activation]
    a = torch.tensor(obj.Z)
    L = obj.model.n_layers
    for k in range(1, L + 1):
        z = a @ params[f"W{k}"] + params[f"b{k}"]
        a = act(z) if k < L else z
    yhat = a[:, 0]
    yt = torch.tensor(y)
    if loss == "mse":
        lt = torch.mean((yt - yhat) ** 2)
    else:
        lt = torch.nn.functional.binary_cross_entropy_with_logits(yhat, yt)
    lt.backward()
    tgrad = np.concatenate(
        [params[k].grad.numpy().ravel() for k in obj.model.unpack(theta)]  # θ's order
    )
    assert value == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-10, atol=1e-13)


def test_hessian_matches_pytorch(rng):
    """The finite-difference Hessian of a network objective agrees with autograd to ~1e-7."""
    torch = pytest.importorskip("torch")
    obj, _, y = _objective(rng, hidden=(3,), loss="mse")
    theta = obj.model.init_params(rng)
    H = obj.hessian(theta)
    shapes = [(k, np.shape(v)) for k, v in obj.model.unpack(theta).items()]
    Z, yt = torch.tensor(obj.Z), torch.tensor(y)

    def f(t):
        i, p = 0, {}
        for k, s in shapes:
            size = int(np.prod(s))
            p[k] = t[i : i + size].reshape(s)
            i += size
        yhat = (torch.tanh(Z @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])[:, 0]
        return torch.mean((yt - yhat) ** 2)

    Ht = torch.autograd.functional.hessian(f, torch.tensor(theta)).numpy()
    assert np.max(np.abs(H - Ht)) <= 1e-6 * np.max(np.abs(Ht))


OUTPUTS = ["identity", "tanh"]


def _net(rng, activation, loss, output="identity", hidden=(4, 3), n=15, d=3):
    """A bound network objective and a θ away from the start (relu units not all dead)."""
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.5).astype(float) if loss == "logloss" else rng.normal(size=n)
    model = MLP(list(hidden), activation=activation, output=output).bind(X)
    obj = DataObjective(model, loss, model.design(X), y)
    theta = model.init_params(rng) + 0.1 * rng.normal(size=obj.n_params)
    return obj, theta, y


def _torch_loss(obj, y, activation, loss, output):
    """L(θ) written in PyTorch (float64) from the definitions, for autograd."""
    torch = pytest.importorskip("torch")
    shapes = [(k, np.shape(v)) for k, v in obj.model.unpack(np.zeros(obj.n_params)).items()]
    acts = {
        "tanh": torch.tanh,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "identity": lambda t: t,
    }
    Z, yt, L = torch.tensor(obj.Z), torch.tensor(y), obj.model.n_layers

    def f(t):
        i, p = 0, {}
        for k, s in shapes:
            size = int(np.prod(s))
            p[k] = t[i : i + size].reshape(s)
            i += size
        a = Z
        for k in range(1, L + 1):
            a = (acts[activation] if k < L else acts[output])(a @ p[f"W{k}"] + p[f"b{k}"])
        r = yt - a[:, 0]
        if loss == "mse":
            return torch.mean(r**2)
        if loss == "mae":
            return torch.mean(torch.abs(r))
        if loss == "huber":
            return torch.nn.functional.huber_loss(a[:, 0], yt, delta=1.0)
        return torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], yt)

    return f


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hvp_matches_pytorch_autograd(rng, activation, loss, output):
    """The R-operator's H·v equals torch.autograd.functional.hvp for every activation × loss
    (and output map), in float64, for three random directions."""
    torch = pytest.importorskip("torch")
    obj, theta, y = _net(rng, activation, loss, output)
    assert obj.exact_hvp
    f = _torch_loss(obj, y, activation, loss, output)
    for _ in range(3):
        v = rng.normal(size=obj.n_params)
        _, hv_t = torch.autograd.functional.hvp(f, torch.tensor(theta), torch.tensor(v))
        hv = obj.hvp(theta, v)
        np.testing.assert_allclose(hv, hv_t.numpy(), rtol=1e-10, atol=1e-12 * np.abs(hv).max())


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hvp_assembles_the_finite_difference_hessian(rng, activation, loss, output):
    """H[:, j] = hvp(θ, e_j) equals the dense Hessian from central differences of the
    (backpropagated) gradient, and is symmetric before any symmetrising."""
    from descend.problems.curvature import hessian_fd

    obj, theta, _ = _net(rng, activation, loss, output)
    H = np.column_stack([obj.hvp(theta, e) for e in np.eye(obj.n_params)])
    Hfd = hessian_fd(obj, theta)
    scale = np.abs(Hfd).max()
    assert np.abs(H - Hfd).max() <= 1e-7 * scale
    assert np.abs(H - H.T).max() <= 1e-12 * scale


def test_hvp_is_linear_in_v_and_zero_for_zero(rng):
    """H(αu + βw) = αHu + βHw, and H·0 = 0 (no difference quotient hides in it)."""
    obj, theta, _ = _net(rng, "tanh", "mse")
    u, w = rng.normal(size=(2, obj.n_params))
    np.testing.assert_allclose(
        obj.hvp(theta, 2.0 * u - 3.0 * w),
        2.0 * obj.hvp(theta, u) - 3.0 * obj.hvp(theta, w),
        rtol=1e-12,
        atol=1e-12 * np.abs(obj.hvp(theta, u)).max(),
    )
    assert not np.any(obj.hvp(theta, np.zeros(obj.n_params)))


def test_unpack_gives_named_views_with_layer_shapes(rng):
    """unpack -> W1 (d, h1), b1 (h1,), …, W3 (h2, 1), b3 (1,), and writing them writes θ."""
    obj, X, _ = _objective(rng, hidden=(4, 3))
    m = obj.model
    theta = m.init_params(rng)
    parts = m.unpack(theta)
    assert list(parts) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [parts[k].shape for k in parts] == [(3, 4), (4,), (4, 3), (3,), (3, 1), (1,)]
    assert m.n_params == 3 * 4 + 4 + 4 * 3 + 3 + 3 + 1 == theta.shape[0]
    parts["b3"][0] = 7.0
    assert theta[-1] == 7.0
    assert len(m.param_names()) == m.n_params


def test_init_schemes_are_seeded_and_scaled(rng):
    """Glorot-uniform weights lie within ±√(6/(fan_in+fan_out)); He has std √(2/fan_in)."""
    X = rng.normal(size=(10, 50))
    g = MLP([200], init="glorot").bind(X)
    t1 = g.init_params(np.random.default_rng(1))
    np.testing.assert_array_equal(t1, g.init_params(np.random.default_rng(1)))
    W1 = g.unpack(t1)["W1"]
    assert np.max(np.abs(W1)) <= np.sqrt(6 / 250)
    assert np.all(g.unpack(t1)["b1"] == 0)
    he = MLP([200], init="he", activation="relu").bind(X)
    W1 = he.unpack(he.init_params(rng))["W1"]
    assert np.std(W1) == pytest.approx(np.sqrt(2 / 50), rel=0.05)


def test_design_standardises_inputs_learned_at_bind(rng):
    """scale=True: Z = (X − μ)/s with μ, s from the bound data; scale=False leaves X alone."""
    X = rng.normal(size=(30, 2)) * [100.0, 0.01] + [5.0, -3.0]
    Z = MLP([2]).bind(X).design(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_array_equal(MLP([2], scale=False).bind(X).design(X), X)


def test_spec_round_trips_through_get_model():
    """'mlp:8,8' for tanh, 'mlp:8,8:relu' otherwise, and get_model reads both back."""
    assert MLP([8, 8]).spec() == "mlp:8,8"
    assert MLP([8, 8], activation="relu").spec() == "mlp:8,8:relu"
    m = get_model("mlp:8,4:sigmoid")
    assert isinstance(m, MLP) and m.hidden == [8, 4] and m.activation == "sigmoid"
    assert get_model("mlp:3").activation == "tanh"


def test_bad_arguments_are_named():
    """Unknown activation / init and non-positive widths raise errors naming the value."""
    with pytest.raises(ValueError, match="softplus"):
        MLP([4], activation="softplus")
    with pytest.raises(ValueError, match="lecun"):
        MLP([4], init="lecun")
    with pytest.raises(ValueError, match="positive"):
        MLP([0])
    with pytest.raises(RuntimeError, match="not bound"):
        MLP([2]).init_params(np.random.default_rng(0))


def test_predict_on_raw_inputs_equals_forward_on_design(rng):
    """model.predict(θ, X) applies the learned scaling then the network."""
    obj, X, _ = _objective(rng)
    theta = obj.model.init_params(rng)
    np.testing.assert_allclose(obj.model.predict(theta, X), obj.predict(theta))


def _sine_task():
    x = np.linspace(-3, 3, 60)
    return x.reshape(-1, 1), np.sin(x)


def test_adam_trains_a_small_network_on_a_sine():
    """MLP([8]) with Adam (lr 0.01, 3000 steps, seed 0) fits sin(x) on [−3, 3] to MSE < 1e-3.

    The documented toy task: 60 evenly spaced points, y = sin(x), MSE, tanh, Glorot init
    from numpy's default_rng(0). (Measured: MSE ≈ 4.9e-5; the variance of y is ≈ 0.51.)
    """
    X, y = _sine_task()
    model = MLP([8]).bind(X)
    obj = DataObjective(model, "mse", model.design(X), y)
    theta0 = model.init_params(np.random.default_rng(0))
    res = ds.minimize(obj, theta0, optimizer="adam", learning_rate=0.01, max_steps=3000, tol=0)
    assert res.loss < 1e-3
    assert res.loss < 0.01 * obj.value(theta0)


def test_minibatch_descent_and_fit_accept_an_mlp():
    """Mini-batches through DataObjective, and ds.fit(model=MLP(...)), both lower the loss."""
    X, y = _sine_task()
    model = MLP([6]).bind(X)
    obj = DataObjective(model, "huber", model.design(X), y)
    theta0 = model.init_params(np.random.default_rng(0))
    res = ds.minimize(
        obj, theta0, optimizer="adam", learning_rate=0.01, batch_size=8, max_steps=1500, tol=0
    )
    assert res.loss < 0.5 * obj.value(theta0)
    fitted = ds.fit(X, y, model="mlp:6", optimizer="adam", learning_rate=0.01, max_steps=1500)
    assert fitted.loss < 0.05
    assert fitted.predict(X).shape == (60,)


def test_logloss_classifies_a_nonlinear_boundary(rng):
    """A network on logits separates points inside/outside a circle (a linear model cannot)."""
    X = rng.uniform(-1, 1, size=(200, 2))
    y = (np.sum(X**2, axis=1) < 0.5).astype(float)
    model = MLP([8]).bind(X)
    obj = DataObjective(model, "logloss", model.design(X), y)
    res = ds.minimize(
        obj, model.init_params(rng), optimizer="adam", learning_rate=0.05, max_steps=1500, tol=0
    )
    accuracy = np.mean((obj.predict(res.params) > 0) == (y == 1))
    assert accuracy > 0.95


@pytest.mark.parametrize("hidden", [[2.5], [8, 0.5], [True], ["8"]])
def test_fractional_or_non_numeric_widths_are_refused(hidden):
    """MLP([2.5]) used to become 2 units silently; now the layer and value are named."""
    with pytest.raises(ValueError, match="hidden layer") as exc:
        MLP(hidden)
    assert "positive whole numbers" in str(exc.value)


def test_integral_float_widths_are_whole_numbers():
    """8.0 (e.g. read from JSON) is a width of 8."""
    assert MLP([8.0, 3]).hidden == [8, 3]


# -- a classifier head: K outputs under the softmax --------------------------------------------
def _softmax_objective(rng, activation="tanh", k=3, n=15, d=3):
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1][:d] + 5.0
    y = rng.integers(0, k, n).astype(float)
    model = MLP([5, 4], activation=activation).with_outputs(k).bind(X)
    return DataObjective(model, ds.Softmax(k), model.design(X), y), y


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_softmax_head_gradient_matches_central_differences(rng, activation):
    """K logits from the last layer (h_L = K): backpropagation of the softmax's (P − Y)/n
    equals central differences for every activation."""
    obj, _ = _softmax_objective(rng, activation)
    assert obj.model.unpack(np.zeros(obj.n_params))["W3"].shape == (4, 3)
    theta = obj.model.init_params(rng) + 0.1 * rng.normal(size=obj.n_params)
    assert obj.predict(theta).shape == (15, 3)
    g, fd = obj.grad(theta), _central(obj, theta)
    assert np.max(np.abs(g - fd)) <= 1e-7 * max(1.0, np.max(np.abs(fd)))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_softmax_head_matches_pytorch_cross_entropy(rng, activation):
    """The same network in PyTorch (float64) with F.cross_entropy: same loss and gradient."""
    torch = pytest.importorskip("torch")
    obj, y = _softmax_objective(rng, activation)
    theta = obj.model.init_params(rng) + 0.1 * rng.normal(size=obj.n_params)
    value, grad = obj.value_and_grad(theta)
    params = {
        k: torch.tensor(np.array(v), requires_grad=True) for k, v in obj.model.unpack(theta).items()
    }
    act = torch.tanh if activation == "tanh" else torch.relu
    a = torch.tensor(obj.Z)
    for k in range(1, obj.model.n_layers + 1):
        z = a @ params[f"W{k}"] + params[f"b{k}"]
        a = act(z) if k < obj.model.n_layers else z
    lt = torch.nn.functional.cross_entropy(a, torch.tensor(y.astype(np.int64)))
    lt.backward()
    tgrad = np.concatenate([params[k].grad.numpy().ravel() for k in obj.model.unpack(theta)])
    assert value == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-10, atol=1e-13)


@pytest.mark.slow
def test_softmax_head_classifies_three_rings(rng):
    """Three concentric rings: no linear classifier separates them, an MLP head does — through
    ds.fit and through GDClassifier (labels of any kind)."""
    r = np.repeat([0.5, 1.5, 2.5], 60)
    t = rng.uniform(0, 2 * np.pi, r.size)
    X = np.column_stack([r * np.cos(t), r * np.sin(t)]) + 0.1 * rng.normal(size=(r.size, 2))
    y = np.repeat([0, 1, 2], 60)
    res = ds.fit(X, y, model="mlp:12", loss="softmax", optimizer="adam", learning_rate=0.03,
                 max_steps=1500)  # fmt: skip
    assert np.mean(np.argmax(res.predict(X), axis=1) == y) > 0.95
    linear = ds.fit(X, y, loss="softmax", learning_rate="auto", max_steps=1500)
    assert np.mean(np.argmax(linear.predict(X), axis=1) == y) < 0.6
    pytest.importorskip("sklearn")
    from descend.estimators import GDClassifier

    clf = GDClassifier(model="mlp:12", optimizer="adam", learning_rate=0.03, max_iter=1500)
    clf.fit(X, np.array(["inner", "middle", "outer"])[y])
    assert clf.predict_proba(X).shape == (180, 3)
    assert clf.score(X, np.array(["inner", "middle", "outer"])[y]) > 0.95


def test_target_standardisation_makes_the_run_independent_of_ys_units(rng):
    """ŷ = ȳ + s_y·net: Adam on y and on 1000·y + 5·10⁴ from the same seed takes the same
    steps up to Adam's ε (which the 10⁶-times larger gradients see differently), so the
    predictions differ by that map; the MSE scales by 10⁶. With the log loss (class labels)
    nothing is scaled."""
    X = rng.uniform(-2, 2, (50, 2))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=50)
    kw = dict(model="mlp:6", optimizer="adam", learning_rate=0.01, max_steps=200, seed=3)
    small = ds.fit(X, y, **kw)
    big = ds.fit(X, 1000 * y + 5e4, **kw)
    np.testing.assert_allclose(big.params, small.params, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(big.predict(X), 1000 * small.predict(X) + 5e4, rtol=1e-7)
    assert big.loss == pytest.approx(1e6 * small.loss, rel=1e-3)
    assert big.model.y_scale == pytest.approx(1000 * np.std(y))
    labels = ds.objective(X, (y > 0).astype(float), model="mlp:3", loss="logloss")
    assert (labels.model.y_shift, labels.model.y_scale) == (0.0, 1.0)


def test_gradient_and_hvp_include_the_output_scale(rng):
    """With ŷ = ȳ + s_y·a_L the gradient matches central differences and H·v the dense
    finite-difference Hessian (targets in the thousands)."""
    from descend.problems.curvature import hessian_fd

    X = rng.normal(size=(25, 2))
    obj = ds.objective(X, 3000 * rng.normal(size=25) + 1e4, model="mlp:3", loss="huber:500")
    assert obj.model.y_scale > 1000
    theta = obj.model.init_params(rng)
    assert ds.check_grad(obj, theta) < 1e-6
    H = np.column_stack([obj.hvp(theta, e) for e in np.eye(obj.n_params)])
    Hfd = hessian_fd(obj, theta)
    assert np.abs(H - Hfd).max() <= 1e-6 * np.abs(Hfd).max()
