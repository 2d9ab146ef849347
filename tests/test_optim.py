"""Tests for descend.descent.optim: convergence, hand-computed steps, purity, validation, PyTorch
parity."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from descend.data.encoding import encode_tree
from descend.descent import optim
from descend.descent import schedules as sch

Array = np.ndarray

# --------------------------------------------------------------------------------------------
# test problems with analytic gradients (defined here, independent of the rest of the library)


def make_quadratic(rng: np.random.Generator, dim: int = 10, kappa: float = 100.0) -> dict[str, Any]:
    """f(θ) = ½ θᵀAθ − bᵀθ with eigenvalues of A log-spaced in [1, κ]; ∇f = Aθ − b."""
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    A = Q @ np.diag(np.logspace(0.0, np.log10(kappa), dim)) @ Q.T
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(dim)
    return {
        "grad": lambda th: A @ th - b,
        "theta0": np.zeros(dim),
        "solution": np.linalg.solve(A, b),
    }


def make_rosenbrock(rng: np.random.Generator) -> dict[str, Any]:
    """f(x, y) = (1 − x)² + 100 (y − x²)² from the classic start (−1.2, 1); minimum at (1, 1)."""

    def grad(th: Array) -> Array:
        x, y = th
        return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])

    return {"grad": grad, "theta0": np.array([-1.2, 1.0]), "solution": np.ones(2)}


def make_least_squares(rng: np.random.Generator, n: int = 50) -> dict[str, Any]:
    """f(θ) = (1/n) ‖Xθ − y‖² with an intercept column; ∇f = (2/n) Xᵀ(Xθ − y)."""
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 2)) * [1.0, 3.0]])
    y = X @ np.array([1.0, 2.0, -0.5]) + 0.1 * rng.standard_normal(n)
    return {
        "grad": lambda th: (2.0 / n) * X.T @ (X @ th - y),
        "theta0": np.zeros(3),
        "solution": np.linalg.lstsq(X, y, rcond=None)[0],
    }


PROBLEMS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    "quadratic": make_quadratic,
    "rosenbrock": make_rosenbrock,
    "lstsq": make_least_squares,
}

# Convergence table: success is ‖θ − θ*‖ ≤ tol · max(1, ‖θ*‖) within `budget` updates.
#
# | problem     | optimizer | hyperparameters                              | budget | tol  |
# |-------------|-----------|----------------------------------------------|--------|------|
# | quadratic   | gd        | lr 0.019 (just under 2/λmax = 0.02)          |  1 500 | 1e-6 |
# | quadratic   | momentum  | lr 0.005, β 0.9                              |    600 | 1e-6 |
# | quadratic   | nesterov  | lr 0.005, β 0.9                              |    600 | 1e-6 |
# | quadratic   | adagrad   | lr 0.5                                       |  1 200 | 1e-6 |
# | quadratic   | rmsprop   | lr exponential_decay(0.01, 0.5, 200)         |  5 000 | 1e-6 |
# | quadratic   | adam      | lr 0.05                                      |    600 | 1e-6 |
# | quadratic   | adamw     | lr 0.05, λ 0.01 (decay biases the fixed pt.) |  3 000 | 5e-3 |
# | rosenbrock  | gd        | lr 0.001                                     | 25 000 | 1e-3 |
# | rosenbrock  | gd+clip   | lr warmup(0.002, 100), clip_norm 10          | 12 000 | 1e-3 |
# | rosenbrock  | momentum  | lr 0.0005, β 0.9                             |  5 000 | 1e-3 |
# | rosenbrock  | nesterov  | lr 0.0005, β 0.9                             |  5 000 | 1e-3 |
# | rosenbrock  | adagrad   | lr 0.5                                       | 12 000 | 1e-3 |
# | rosenbrock  | rmsprop   | lr 0.001                                     | 12 000 | 1e-3 |
# | rosenbrock  | adam      | lr 0.01                                      |  7 000 | 1e-3 |
# | rosenbrock  | adamw     | lr 0.01, λ 0.01                              | 10 000 | 2e-2 |
# | lstsq       | gd        | lr 0.05                                      |    400 | 1e-6 |
# | lstsq       | momentum  | lr 0.01, β 0.9                               |    500 | 1e-6 |
# | lstsq       | nesterov  | lr 0.01, β 0.9                               |    500 | 1e-6 |
# | lstsq       | adagrad   | lr 0.5                                       |    300 | 1e-6 |
# | lstsq       | rmsprop   | lr exponential_decay(0.01, 0.5, 200)         |  2 000 | 1e-6 |
# | lstsq       | adam      | lr 0.05                                      |    600 | 1e-6 |
# | lstsq       | adamw     | lr 0.05, λ 0.01                              |  3 000 | 5e-3 |
CONVERGENCE = [
    ("quadratic", "gd", {"learning_rate": 0.019}, 1500, 1e-6),
    ("quadratic", "momentum", {"learning_rate": 0.005, "beta": 0.9}, 600, 1e-6),
    ("quadratic", "nesterov", {"learning_rate": 0.005, "beta": 0.9}, 600, 1e-6),
    ("quadratic", "adagrad", {"learning_rate": 0.5}, 1200, 1e-6),
    ("quadratic", "rmsprop", {"learning_rate": sch.exponential_decay(0.01, 0.5, 200)}, 5000, 1e-6),
    ("quadratic", "adam", {"learning_rate": 0.05}, 600, 1e-6),
    ("quadratic", "adamw", {"learning_rate": 0.05, "weight_decay": 0.01}, 3000, 5e-3),
    ("rosenbrock", "gd", {"learning_rate": 0.001}, 25000, 1e-3),
    ("rosenbrock", "gd", {"learning_rate": sch.warmup(0.002, 100), "clip_norm": 10.0}, 12000, 1e-3),
    ("rosenbrock", "momentum", {"learning_rate": 0.0005, "beta": 0.9}, 5000, 1e-3),
    ("rosenbrock", "nesterov", {"learning_rate": 0.0005, "beta": 0.9}, 5000, 1e-3),
    ("rosenbrock", "adagrad", {"learning_rate": 0.5}, 12000, 1e-3),
    ("rosenbrock", "rmsprop", {"learning_rate": 0.001}, 12000, 1e-3),
    ("rosenbrock", "adam", {"learning_rate": 0.01}, 7000, 1e-3),
    ("rosenbrock", "adamw", {"learning_rate": 0.01, "weight_decay": 0.01}, 10000, 2e-2),
    ("lstsq", "gd", {"learning_rate": 0.05}, 400, 1e-6),
    ("lstsq", "momentum", {"learning_rate": 0.01, "beta": 0.9}, 500, 1e-6),
    ("lstsq", "nesterov", {"learning_rate": 0.01, "beta": 0.9}, 500, 1e-6),
    ("lstsq", "adagrad", {"learning_rate": 0.5}, 300, 1e-6),
    ("lstsq", "rmsprop", {"learning_rate": sch.exponential_decay(0.01, 0.5, 200)}, 2000, 1e-6),
    ("lstsq", "adam", {"learning_rate": 0.05}, 600, 1e-6),
    ("lstsq", "adamw", {"learning_rate": 0.05, "weight_decay": 0.01}, 3000, 5e-3),
]


def descend_loop(opt: optim.Optimizer, problem: dict[str, Any], budget: int, tol: float) -> int:
    """Run θ ← θ + u until within tol of the solution; return the number of updates (or -1)."""
    theta = problem["theta0"].copy()
    target = problem["solution"]
    scale = max(1.0, float(np.linalg.norm(target)))
    state = opt.init(theta)
    for k in range(budget):
        u, state = opt.update(problem["grad"](theta), state, theta)
        theta = theta + u
        if not np.all(np.isfinite(theta)):
            return -1
        if np.linalg.norm(theta - target) <= tol * scale:
            return k + 1
    return -1


@pytest.mark.parametrize(
    ("problem", "name", "hyper", "budget", "tol"),
    CONVERGENCE,
    ids=[f"{p}-{n}-{i}" for i, (p, n, *_) in enumerate(CONVERGENCE)],
)
def test_converges_within_budget(
    rng: np.random.Generator, problem: str, name: str, hyper: dict, budget: int, tol: float
) -> None:
    """Every rule reaches the known minimum of each test problem within its stated budget."""
    prob = PROBLEMS[problem](rng)
    steps = descend_loop(optim.get(name, **hyper), prob, budget, tol)
    assert steps > 0, f"{name} did not converge on {problem} within {budget} steps"


def test_every_optimizer_is_covered_by_the_convergence_table() -> None:
    """Each registered rule appears on each problem."""
    for problem in PROBLEMS:
        covered = {optim.get(n).name for p, n, *_ in CONVERGENCE if p == problem}
        assert covered == {optim.get(n).name for n in optim.OPTIMIZERS}


# --------------------------------------------------------------------------------------------
# hand-computed steps (expected values are literal arithmetic, not calls into the code)


def _steps(opt: optim.Optimizer, grads: list[list[float]]) -> list[Array]:
    theta = np.zeros(len(grads[0]))
    state = opt.init(theta)
    out = []
    for g in grads:
        u, state = opt.update(np.array(g), state, theta)
        out.append(u)
    return out


def test_gd_step_is_minus_lr_times_gradient() -> None:
    """u = −η g."""
    (u,) = _steps(optim.gd(0.1), [[2.0, -4.0, 0.0]])
    np.testing.assert_allclose(u, [-0.2, 0.4, 0.0], rtol=1e-15)


def test_adam_first_step_is_minus_lr_sign_g() -> None:
    """Adam's bias-corrected first step is −η·sign(g) whatever the gradient's scale (up to ε)."""
    (u,) = _steps(optim.adam(learning_rate=0.1), [[2.0, -0.5, 1e-3, -300.0]])
    np.testing.assert_allclose(u, [-0.1, 0.1, -0.1, 0.1], rtol=0, atol=1e-5)
    # exactly: −0.1 · g / (|g| + 1e-8)
    np.testing.assert_allclose(u[2], -0.1 * 1e-3 / (1e-3 + 1e-8), rtol=1e-12)


def test_momentum_second_step() -> None:
    """v₁ = g₁ = (1, −2); v₂ = 0.9·(1, −2) + (3, 0.5) = (3.9, −1.3); u₂ = −0.1·v₂."""
    u1, u2 = _steps(optim.momentum(0.1, beta=0.9), [[1.0, -2.0], [3.0, 0.5]])
    np.testing.assert_allclose(u1, [-0.1, 0.2], rtol=1e-14)
    np.testing.assert_allclose(u2, [-0.39, 0.13], rtol=1e-14)


def test_nesterov_first_two_steps() -> None:
    """u₁ = −0.1·(g₁ + 0.9·g₁) = (−0.19, 0.38); u₂ = −0.1·((3, 0.5) + 0.9·(3.9, −1.3))."""
    u1, u2 = _steps(optim.nesterov(0.1, beta=0.9), [[1.0, -2.0], [3.0, 0.5]])
    np.testing.assert_allclose(u1, [-0.19, 0.38], rtol=1e-14)
    np.testing.assert_allclose(u2, [-0.651, 0.067], rtol=1e-13)


def test_rmsprop_first_step() -> None:
    """s = 0.01·g² = (0.04, 0.0025); √s = (0.2, 0.05); u = −0.01·(2/0.2, −0.5/0.05)."""
    (u,) = _steps(optim.rmsprop(0.01, decay=0.99), [[2.0, -0.5]])
    np.testing.assert_allclose(u, [-0.1, 0.1], rtol=1e-6)
    # ε sits outside the square root: u = −η g / (√s + ε)
    np.testing.assert_allclose(u[0], -0.01 * 2.0 / (0.2 + 1e-8), rtol=1e-14)


def test_adagrad_first_step() -> None:
    """G = 16 + g² = (25, 32); u = −0.1·(3/5, −4/√32)."""
    (u,) = _steps(optim.adagrad(0.1, initial_accumulator=16.0), [[3.0, -4.0]])
    np.testing.assert_allclose(u, [-0.06, 0.4 / np.sqrt(32.0)], rtol=1e-9)
    (u,) = _steps(optim.adagrad(0.1), [[3.0, -4.0]])
    np.testing.assert_allclose(u, [-0.1, 0.1], rtol=1e-9)


def test_adamw_decay_is_decoupled() -> None:
    """AdamW's step is Adam's step minus η·λ·θ, and λθ does not enter the moments."""
    theta = np.array([2.0, -1.0])
    g = np.array([0.5, 0.5])
    ua, _ = optim.adam(0.1).update(g, optim.adam(0.1).init(theta), theta)
    opt = optim.adamw(0.1, weight_decay=0.2)
    uw, state = opt.update(g, opt.init(theta), theta)
    np.testing.assert_allclose(uw, ua - 0.1 * 0.2 * theta, rtol=1e-14)
    assert state_m(state) == pytest.approx([0.05, 0.05])


def state_m(state: Any) -> list[float]:
    return [float(x) for x in next(s for s in state if isinstance(s, optim.AdamState)).m]


def test_adamw_needs_theta() -> None:
    """Weight decay without θ is an error that says what to pass."""
    opt = optim.adamw()
    with pytest.raises(ValueError, match="call update"):
        opt.update(np.ones(2), opt.init(np.zeros(2)))


def test_schedule_drives_the_step_count() -> None:
    """The k-th update (0-based) uses learning_rate(k); the optimizer exposes the schedule."""
    sched = sch.step_decay(1.0, step_size=2, gamma=0.5)
    opt = optim.gd(sched)
    assert opt.learning_rate is sched
    us = _steps(opt, [[1.0]] * 5)
    assert [float(u[0]) for u in us] == [-1.0, -1.0, -0.5, -0.5, -0.25]


def test_clipping_is_applied_to_g_first() -> None:
    """clip_value clips entries, then clip_norm rescales by min(1, c / (‖g‖ + 1e-6)) (torch)."""
    (u,) = _steps(optim.gd(1.0, clip_value=1.0), [[3.0, -0.5]])
    np.testing.assert_allclose(u, [-1.0, 0.5])
    (u,) = _steps(optim.gd(1.0, clip_norm=1.0), [[3.0, 4.0]])
    np.testing.assert_allclose(u, [-3.0 / 5.000001, -4.0 / 5.000001], rtol=1e-15)
    (u,) = _steps(optim.gd(1.0, clip_norm=5.0000005), [[3.0, 4.0]])  # ‖g‖ just below c: scaled
    np.testing.assert_allclose(u, [-3.0 * 5.0000005 / 5.000001, -4.0 * 5.0000005 / 5.000001])
    (u,) = _steps(optim.gd(1.0, clip_value=1.0, clip_norm=1.0), [[3.0, -4.0]])  # value first
    np.testing.assert_allclose(u, [-1.0 / (2**0.5 + 1e-6), 1.0 / (2**0.5 + 1e-6)], rtol=1e-15)
    (u,) = _steps(optim.gd(1.0, clip_norm=10.0), [[3.0, 4.0]])
    np.testing.assert_allclose(u, [-3.0, -4.0])
    (u,) = _steps(optim.adam(0.1, clip_value=1e-3), [[5.0, -5.0]])  # adam is scale-free
    np.testing.assert_allclose(u, [-0.1, 0.1], atol=1e-5)


# --------------------------------------------------------------------------------------------
# purity


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_update_does_not_mutate_inputs(rng: np.random.Generator, name: str) -> None:
    """update returns new arrays and leaves g, the state and θ untouched."""
    opt = optim.get(name, 0.1, clip_norm=5.0, clip_value=2.0)
    theta = rng.standard_normal(4)
    state = opt.init(theta)
    for _ in range(3):
        g = rng.standard_normal(4) * 3
        g_copy, theta_copy, state_copy = g.copy(), theta.copy(), copy.deepcopy(state)
        u, new_state = opt.update(g, state, theta)
        np.testing.assert_array_equal(g, g_copy)
        np.testing.assert_array_equal(theta, theta_copy)
        for old, kept in zip(_leaves(state), _leaves(state_copy), strict=True):
            np.testing.assert_array_equal(old, kept)
        assert not np.shares_memory(u, g)
        assert not np.shares_memory(u, theta)
        assert u.dtype == np.float64 and u.shape == theta.shape
        state, theta = new_state, theta + u


def _leaves(state: Any) -> list[Any]:
    if isinstance(state, tuple):
        return [leaf for item in state for leaf in _leaves(item)]
    return [state]


def test_init_does_not_alias_theta() -> None:
    """State arrays are fresh, not views of θ."""
    theta = np.ones(3)
    for name in optim.OPTIMIZERS:
        for leaf in _leaves(optim.get(name).init(theta)):
            if isinstance(leaf, np.ndarray):
                assert not np.shares_memory(leaf, theta)


# --------------------------------------------------------------------------------------------
# validation, registry, state norms


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (optim.momentum, {"beta": 1.5}, "Invalid beta: 1.5 (must be in [0, 1))"),
        (optim.nesterov, {"beta": -0.1}, "Invalid beta: -0.1 (must be in [0, 1))"),
        (optim.adam, {"b1": 1.0}, "Invalid b1: 1.0 (must be in [0, 1))"),
        (optim.adam, {"b2": 2}, "Invalid b2: 2 (must be in [0, 1))"),
        (optim.adam, {"eps": 0.0}, "Invalid eps: 0.0 (must be a positive finite number)"),
        (optim.rmsprop, {"decay": 1.0}, "Invalid decay: 1.0 (must be in [0, 1))"),
        (optim.rmsprop, {"momentum": 1.2}, "Invalid momentum: 1.2 (must be in [0, 1))"),
        (optim.adamw, {"weight_decay": -0.01}, "Invalid weight_decay: -0.01 (must be a finite"),
        (optim.adagrad, {"initial_accumulator": -1.0}, "Invalid initial_accumulator: -1.0"),
        (optim.gd, {"learning_rate": -0.1}, "Invalid learning rate: -0.1"),
        (optim.gd, {"learning_rate": float("nan")}, "Invalid learning rate: nan"),
        (optim.adam, {"learning_rate": 0}, "Invalid learning rate: 0"),
        (optim.gd, {"clip_norm": 0.0}, "Invalid clip_norm: 0.0"),
        (optim.gd, {"clip_value": -1.0}, "Invalid clip_value: -1.0"),
    ],
)
def test_invalid_hyperparameters_are_named(
    factory: Callable[..., optim.Optimizer], kwargs: dict, message: str
) -> None:
    """Construction fails with a message naming the parameter and the bad value."""
    with pytest.raises(ValueError, match=re.escape(message)):
        factory(**kwargs)


def test_get_by_name_and_defaults() -> None:
    """get() builds by name (case-insensitive), None → the rule's default learning rate."""
    assert optim.get("sgd").name == "gd"
    assert optim.get("Adam").hyperparams["learning_rate"] == 0.001
    assert optim.get("adam").learning_rate(0) == 0.001
    opt = optim.get("momentum", 0.2, beta=0.5)
    assert opt.hyperparams["beta"] == 0.5 and opt.learning_rate(7) == 0.2
    params: Any = opt.hyperparams
    with pytest.raises(TypeError):
        params["beta"] = 0.1


def test_get_unknown_name_lists_valid_ones() -> None:
    """An unknown rule name is an error listing the registry."""
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamm'; valid names: ") as err:
        optim.get("adamm")
    assert all(name in str(err.value) for name in optim.OPTIMIZERS)


def test_get_unknown_hyperparameter_lists_valid_ones() -> None:
    """A hyperparameter the rule does not take is named, with the valid ones."""
    with pytest.raises(ValueError, match=r"'beta' for optimizer 'adam'; valid: b1, b2"):
        optim.get("adam", beta=0.9)


def test_describe_covers_every_rule() -> None:
    """describe() lists each distinct rule with summary, equations and defaults."""
    entries = {d["name"]: d for d in optim.describe()}
    assert set(entries) | {"sgd"} == set(optim.OPTIMIZERS)
    assert entries["gd"]["aliases"] == ["sgd"]
    assert entries["adam"]["defaults"]["b2"] == 0.999
    assert all(d["summary"] and d["equations"] for d in entries.values())


def test_state_norms() -> None:
    """Norms of the state arrays, keyed by field; counters are skipped."""
    theta = np.zeros(2)
    opt = optim.momentum(0.1)
    _, s = opt.update(np.array([3.0, 4.0]), opt.init(theta), theta)
    assert optim.state_norms(s) == {"velocity": 5.0}
    opt = optim.rmsprop(0.1, momentum=0.5)
    _, s = opt.update(np.array([3.0, 4.0]), opt.init(theta), theta)
    assert set(optim.state_norms(s)) == {"square_avg", "velocity"}
    assert optim.state_norms(optim.gd().init(theta)) == {}


def test_custom_chain_is_an_optimizer_building_block() -> None:
    """chain() composes transforms; wrapping it in Optimizer gives a usable custom rule."""
    tx = optim.chain(optim.scale_by_momentum(0.5), optim.scale_by_schedule(0.1))
    opt = optim.Optimizer(tx.init, tx.update, sch.constant(0.1))
    assert opt.name == "custom" and dict(opt.hyperparams) == {}
    us = _steps(opt, [[1.0], [1.0]])
    np.testing.assert_allclose([u[0] for u in us], [-0.1, -0.15])


# --------------------------------------------------------------------------------------------
# PyTorch reference trajectories


TORCH_CASES = [
    ("gd", {"learning_rate": 0.05}, "SGD", {"lr": 0.05}),
    ("momentum", {"learning_rate": 0.05, "beta": 0.9}, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (
        "nesterov",
        {"learning_rate": 0.05, "beta": 0.9},
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    ),
    ("adam", {"learning_rate": 0.05}, "Adam", {"lr": 0.05}),
    (
        "adam",
        {"learning_rate": 0.02, "b1": 0.8, "b2": 0.99, "eps": 1e-6},
        "Adam",
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6},
    ),
    (
        "adamw",
        {"learning_rate": 0.05, "weight_decay": 0.1},
        "AdamW",
        {"lr": 0.05, "weight_decay": 0.1},
    ),
    ("rmsprop", {"learning_rate": 0.01}, "RMSprop", {"lr": 0.01}),
    (
        "rmsprop",
        {"learning_rate": 0.005, "decay": 0.9, "momentum": 0.5},
        "RMSprop",
        {"lr": 0.005, "alpha": 0.9, "momentum": 0.5},
    ),
    ("adagrad", {"learning_rate": 0.1}, "Adagrad", {"lr": 0.1}),
    (
        "adagrad",
        {"learning_rate": 0.1, "initial_accumulator": 0.5},
        "Adagrad",
        {"lr": 0.1, "initial_accumulator_value": 0.5},
    ),
    # clipping: descend's clip_value/clip_norm against torch.nn.utils.clip_grad_value_ /
    # clip_grad_norm_ applied to p.grad before the step (‖g₀‖ ≈ 3 here, so both bite early)
    ("gd", {"learning_rate": 0.05, "clip_norm": 1.0}, "SGD", {"lr": 0.05}),
    (
        "momentum",
        {"learning_rate": 0.05, "beta": 0.9, "clip_value": 0.5},
        "SGD",
        {"lr": 0.05, "momentum": 0.9},
    ),
    ("adam", {"learning_rate": 0.05, "clip_norm": 0.5}, "Adam", {"lr": 0.05}),
    (
        "adamw",
        {"learning_rate": 0.05, "weight_decay": 0.1, "clip_value": 0.8, "clip_norm": 1.0},
        "AdamW",
        {"lr": 0.05, "weight_decay": 0.1},
    ),
    ("rmsprop", {"learning_rate": 0.01, "clip_norm": 0.3}, "RMSprop", {"lr": 0.01}),
]


def _torch_clip(torch: Any, p: Any, ours: dict) -> None:
    """Clip p.grad in place as descend does: entries first, then the global norm."""
    if ours.get("clip_value") is not None:
        torch.nn.utils.clip_grad_value_([p], ours["clip_value"], foreach=False)
    if ours.get("clip_norm") is not None:
        torch.nn.utils.clip_grad_norm_([p], ours["clip_norm"], foreach=False)


def _max_rel_diff(mine: Array, ref: Array) -> float:
    """max over steps of ‖θ_t − θ_t^torch‖∞ / ‖θ_t^torch‖∞."""
    mine, ref = np.atleast_2d(mine), np.atleast_2d(ref)
    num = np.max(np.abs(mine - ref), axis=1)
    den = np.max(np.abs(ref), axis=1)
    return float(np.max(num / den))


@pytest.mark.parametrize(
    ("name", "ours", "torch_name", "theirs"),
    TORCH_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(TORCH_CASES)],
)
def test_matches_torch_trajectory(
    rng: np.random.Generator, name: str, ours: dict, torch_name: str, theirs: dict
) -> None:
    """50 steps on the same float64 quadratic from the same start equal torch.optim's (with
    torch's gradient clipping where the rule clips) to a relative 1e-12."""
    torch = pytest.importorskip("torch")
    dim = 6
    M = rng.standard_normal((dim, dim))
    A = M @ M.T / dim  # PSD
    b = rng.standard_normal(dim)
    theta0 = rng.standard_normal(dim)

    opt = optim.get(name, **ours)
    theta = theta0.copy()
    state = opt.init(theta)
    mine = []
    for _ in range(50):
        u, state = opt.update(A @ theta - b, state, theta)
        theta = theta + u
        mine.append(theta)

    At, bt = torch.tensor(A), torch.tensor(b)
    p = torch.tensor(theta0, requires_grad=True)
    topt = getattr(torch.optim, torch_name)([p], foreach=False, **theirs)
    ref = []
    for _ in range(50):
        with torch.no_grad():
            p.grad = At @ p - bt
        _torch_clip(torch, p, ours)
        topt.step()
        ref.append(p.detach().numpy().copy())

    assert p.dtype == torch.float64
    assert _max_rel_diff(np.array(mine), np.array(ref)) <= 1e-12


def _gradients_at_the_clip_edges(rng: np.random.Generator, kind: str, c: float) -> Array:
    """50 gradients (dim 5) that straddle the clip threshold c.

    clip_norm: norms c·(1 ± 10⁻³), c ± 5·10⁻⁷ and c − 10⁻⁷ (inside torch's 10⁻⁶ band, where it
    scales and a plain "‖g‖ > c" rule does not), c + 10⁻⁹, exactly c, c − 2·10⁻⁶ (below the band),
    c/2 and 3c. clip_value: entries at ±c·(1 ± 10⁻⁹), ±c exactly, well inside and outside.
    """
    targets = [c * (1 + 1e-3), c + 5e-7, c - 5e-7, c - 1e-7, c + 1e-9, c, c - 2e-6, c * (1 - 1e-3)]
    targets += [0.5 * c, 3.0 * c]
    out = []
    for k in range(50):
        g = rng.standard_normal(5)
        if kind == "clip_norm":
            g *= targets[k % len(targets)] / np.linalg.norm(g)
        else:
            edges = [c * (1 + 1e-9), c * (1 - 1e-9), c, 0.3 * c, 4.0 * c]
            g = np.array(edges) * np.sign(g)
            rng.shuffle(g)
        out.append(g)
    return np.array(out)


@pytest.mark.parametrize("kind", ["clip_norm", "clip_value"])
@pytest.mark.parametrize(
    ("name", "ours", "torch_name", "theirs"),
    [
        ("gd", {"learning_rate": 0.1}, "SGD", {"lr": 0.1}),
        ("adam", {"learning_rate": 0.1}, "Adam", {"lr": 0.1}),
    ],
    ids=["sgd", "adam"],
)
def test_clipping_matches_torch_at_the_threshold(
    rng: np.random.Generator, kind: str, name: str, ours: dict, torch_name: str, theirs: dict
) -> None:
    """The same 50 gradients, with norms (entries) just above, at and just below the clip
    threshold, through descend's rule and through torch's clip_grad_norm_ / clip_grad_value_ +
    torch.optim (float64): clipped gradients and iterates agree to a relative 1e-12."""
    torch = pytest.importorskip("torch")
    c = 1.0
    grads = _gradients_at_the_clip_edges(rng, kind, c)
    clip = {kind: c}

    tx = optim.clip_by_global_norm(c) if kind == "clip_norm" else optim.clip_by_value(c)
    opt = optim.get(name, **ours, **clip)
    theta = np.zeros(5)  # θ stays the size of the updates, so a changed step shows
    state = opt.init(theta)
    mine, mine_clipped = [], []
    for g in grads:
        mine_clipped.append(tx.update(g, tx.init(theta))[0])
        u, state = opt.update(g, state, theta)
        theta = theta + u
        mine.append(theta)

    p = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, torch_name)([p], foreach=False, **theirs)
    ref, ref_clipped = [], []
    for g in grads:
        p.grad = torch.tensor(g)
        _torch_clip(torch, p, clip)
        ref_clipped.append(p.grad.numpy().copy())
        topt.step()
        ref.append(p.detach().numpy().copy())

    assert _max_rel_diff(np.array(mine_clipped), np.array(ref_clipped)) <= 1e-12
    assert _max_rel_diff(np.array(mine), np.array(ref)) <= 1e-12
    if kind == "clip_norm":  # the sequence reaches torch's band, where "‖g‖ > c" would not clip
        norms = np.linalg.norm(grads, axis=1)
        in_band = (norms > c - 1e-6) & (norms <= c)
        assert in_band.any()
        assert np.all(np.linalg.norm(np.array(ref_clipped)[in_band], axis=1) < norms[in_band])


@pytest.mark.parametrize(
    ("name", "hyper"),
    [
        ("gd", {}),
        ("momentum", {"beta": 0.8}),
        ("nesterov", {"beta": 0.9}),
        ("adam", {"b1": 0.8, "b2": 0.99, "eps": 1e-6}),
        ("rmsprop", {"decay": 0.9, "eps": 1e-7}),
        ("adagrad", {"eps": 1e-9, "initial_accumulator": 0.1}),
    ],
)
@pytest.mark.parametrize("rate", [0.05, "cosine"])
def test_fused_update_is_update_bit_for_bit(rng, name, hyper, rate):
    """The fast path's in-place form (``Fused``) of each built-in rule: 60 steps from a state
    taken mid-run give ``update``'s u bit for bit (gradients over 12 orders of magnitude, a
    constant rate and a schedule), the rate it applied, and the same state afterwards."""
    lr = sch.cosine_decay(0.05, 100) if rate == "cosine" else rate
    opt = optim.get(name, lr, **hyper)
    theta = rng.normal(size=6)
    state = opt.init(theta)
    for _ in range(7):  # mid-run: non-zero moments, a schedule past its start
        state = opt.update(rng.normal(size=6), state, theta)[1]
    assert opt.fused is not None
    fused = opt.fused()
    fused.load(state)
    for _ in range(60):
        g = rng.normal(size=6) * 10.0 ** rng.uniform(-6, 6, size=6)
        u, state = opt.update(g, state, theta)
        np.testing.assert_array_equal(fused.step(g), u)
        assert fused.lr == opt.applied_lr(state)
    assert encode_tree(fused.state()) == encode_tree(state)
    # the same through ``applier`` (the loop's per-step call), from the same mid-run state
    again = opt.fused()
    again.load(state)
    apply = again.applier(6)
    for _ in range(30):
        g = rng.normal(size=6) * 10.0 ** rng.uniform(-6, 6, size=6)
        u, state = opt.update(g, state, theta)
        lr_t = again.rates(1)[0]
        np.testing.assert_array_equal(apply(g, lr_t), u)
        again.advance(1, lr_t)
    assert encode_tree(again.state()) == encode_tree(state)


def test_rules_without_a_fused_form():
    """Clipping, AdamW's decay, RMSprop's momentum and a proximal step keep ``update`` (the
    loop calls it): no fused form is declared for them."""
    assert optim.adam(0.1, clip_norm=1.0).fused is None
    assert optim.gd(0.1, clip_value=1.0).fused is None
    assert optim.adamw(0.1).fused is None
    assert optim.rmsprop(0.1, momentum=0.5).fused is None
    assert optim.proximal(optim.gd(0.1), lambda v, eta: v).fused is None
    assert optim.rmsprop(0.1).fused is not None
