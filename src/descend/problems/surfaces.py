"""Analytic landscapes for teaching and tests, each with its exact gradient and Hessian.

Every surface is an :class:`~descend.problems.objective.Objective`, so it can be handed to anything
that
takes one::

    import descend as ds
    res = ds.minimize(ds.surfaces.himmelblau(), [-1.0, 1.0], optimizer="adam")

Attributes common to all surfaces
---------------------------------
name : str
n_params : int
minima : list of ndarray
    Known minimisers, the global one(s) first.
saddles : list of ndarray
    Known saddle points (possibly empty).
bounds : list of (lo, hi)
    A box per coordinate that shows the interesting region (for plots and random starts).
suggested_start : ndarray
    A classic starting point for a descent demonstration.

=================  =======================================  =============================
surface            f(x, y)                                   what it teaches
=================  =======================================  =============================
quadratic          ½ θᵀ A θ, eigenvalues 1 … κ               conditioning, zig-zag
rosenbrock         (a − x)² + b (y − x²)²                   a curved narrow valley
himmelblau         (x² + y − 11)² + (x + y² − 7)²           four minima, one maximum,
                                                             four saddles
rastrigin          A n + Σ (x_i² − A cos 2π x_i)              many local minima
beale              Σ_{i=1..3} (c_i − x + x yⁱ)²              flat plateaus, sharp walls
six_hump_camel     (4 − 2.1x² + x⁴/3) x² + xy + (4y² − 4) y²  two global, four local minima
saddle             x² − y²                                   index-½ saddle at 0
monkey_saddle      x³ − 3 x y²                               degenerate saddle (H = 0)
=================  =======================================  =============================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from descend.problems.objective import Objective

Array = NDArray[np.float64]

__all__ = [
    "Surface",
    "Quadratic",
    "Rosenbrock",
    "Himmelblau",
    "Rastrigin",
    "Beale",
    "SixHumpCamel",
    "Saddle",
    "MonkeySaddle",
    "quadratic",
    "rosenbrock",
    "himmelblau",
    "rastrigin",
    "beale",
    "six_hump_camel",
    "saddle",
    "monkey_saddle",
    "SURFACES",
    "get",
]


class Surface(Objective):
    """An analytic f(θ) with exact gradient and Hessian.

    Subclasses implement :meth:`f` (vectorised over trailing axes, so that ``f(np.stack([X,
    Y]))`` evaluates a whole plotting grid), :meth:`gradient` and :meth:`hess`.
    """

    minima: list[Array]
    saddles: list[Array]
    bounds: list[tuple[float, float]]
    suggested_start: Array

    def __init__(self) -> None:
        self.saddles = []

    # -- to implement ---------------------------------------------------------------------
    def f(self, theta: Array) -> Array:
        """f at θ of shape (p, …), returning shape (…); vectorised over trailing axes."""
        raise NotImplementedError

    def gradient(self, theta: Array) -> Array:
        """∇f(θ), shape (p,)."""
        raise NotImplementedError

    def hess(self, theta: Array) -> Array:
        """∇²f(θ), shape (p, p)."""
        raise NotImplementedError

    # -- the Objective interface ----------------------------------------------------------
    def _theta(self, theta: ArrayLike) -> Array:
        t = np.asarray(theta, dtype=np.float64)
        if t.shape != (self.n_params,):
            raise ValueError(
                f"{self.name} takes θ of shape ({self.n_params},), got shape {t.shape}"
            )
        return t

    def value_and_grad(self, theta: Array) -> tuple[float, Array]:
        """(f(θ), ∇f(θ)) for θ of shape (p,): a float and an array of shape (p,)."""
        t = self._theta(theta)
        return float(self.f(t)), self.gradient(t)

    def value(self, theta: Array) -> float:
        """f(θ) for θ of shape (p,)."""
        return float(self.f(self._theta(theta)))

    def hessian(self, theta: Array) -> Array:
        """The exact Hessian ∇²f(θ), shape (p, p)."""
        return self.hess(self._theta(theta))

    exact_hvp = True

    def hvp(self, theta: Array, v: Array) -> Array:
        """The exact product ∇²f(θ)·v, shape (p,)."""
        return self.hessian(theta) @ np.asarray(v, dtype=np.float64)

    def grid(self, xs: ArrayLike, ys: ArrayLike) -> Array:
        """f on the grid ``meshgrid(xs, ys)`` of a 2-D surface, shape (len(ys), len(xs))."""
        if self.n_params != 2:
            raise ValueError(f"{self.name} has {self.n_params} parameters; grid() needs 2")
        X, Y = np.meshgrid(np.asarray(xs, float), np.asarray(ys, float))
        return np.asarray(self.f(np.stack([X, Y])))

    def __repr__(self) -> str:
        return f"<surface {self.name}: {self.n_params} parameters>"


def _newton(s: Surface, x0: ArrayLike, iters: int = 50) -> Array:
    """Refine an approximate critical point with Newton steps on the exact Hessian."""
    x = np.asarray(x0, dtype=np.float64)
    for _ in range(iters):
        step = np.linalg.solve(s.hess(x), s.gradient(x))
        x = x - step
        if np.linalg.norm(step) <= 1e-15 * max(1.0, float(np.linalg.norm(x))):
            break
    return x


class Quadratic(Surface):
    """f(θ) = ½ θᵀ A θ with A = Q diag(λ) Qᵀ, λ from 1 to κ (geometric), Q a fixed rotation.

    Convex with condition number exactly κ: ∇f = Aθ, ∇²f = A. In 2-D the valley is tilted
    by 30° so that plain gradient descent zig-zags visibly; the minimum is θ = 0.

    Parameters
    ----------
    kappa : float
        The condition number λ_max/λ_min ≥ 1.
    dim : int
        p, the number of parameters.
    """

    def __init__(self, kappa: float = 10.0, dim: int = 2) -> None:
        super().__init__()
        if not (np.isfinite(kappa) and kappa >= 1):
            raise ValueError(f"kappa must be a number ≥ 1, got {kappa!r}")
        if int(dim) < 1:
            raise ValueError(f"dim must be a positive whole number, got {dim!r}")
        self.kappa = float(kappa)
        self.n_params = p = int(dim)
        self.name = f"quadratic(κ={self.kappa:g})"
        lam = self.kappa ** (np.arange(p) / (p - 1)) if p > 1 else np.ones(1)
        Q = np.eye(p)
        if p >= 2:  # rotate the first two axes by 30°
            c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
            Q[:2, :2] = [[c, -s], [s, c]]
        self.eigenvalues = lam
        self.A = (Q * lam) @ Q.T
        self.minima = [np.zeros(p)]
        self.bounds = [(-2.0, 2.0)] * p
        self.suggested_start = np.full(p, 1.5)
        self.suggested_start[1:] *= -1.0

    def f(self, theta: Array) -> Array:
        return np.asarray(0.5 * np.einsum("i...,ij,j...->...", theta, self.A, theta))

    def gradient(self, theta: Array) -> Array:
        return np.asarray(self.A @ theta)

    def hess(self, theta: Array) -> Array:
        return self.A.copy()


class Rosenbrock(Surface):
    """f(x, y) = (a − x)² + b (y − x²)²: a banana-shaped valley, minimum (a, a²).

    ∇f = [−2(a − x) − 4b x (y − x²),  2b (y − x²)],
    ∇²f = [[2 − 4b(y − x²) + 8b x²,  −4b x], [−4b x,  2b]].
    """

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        super().__init__()
        self.a, self.b = float(a), float(b)
        self.n_params = 2
        self.name = "rosenbrock" if (a, b) == (1.0, 100.0) else f"rosenbrock(a={a:g},b={b:g})"
        self.minima = [np.array([self.a, self.a**2])]
        self.bounds = [(-2.0, 2.0), (-1.0, 3.0)]
        self.suggested_start = np.array([-1.5, 2.0])

    def f(self, theta: Array) -> Array:
        x, y = theta[0], theta[1]
        return np.asarray((self.a - x) ** 2 + self.b * (y - x * x) ** 2)

    def gradient(self, theta: Array) -> Array:
        x, y = theta
        r = y - x * x
        return np.array([-2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r])

    def hess(self, theta: Array) -> Array:
        x, y = theta
        b = self.b
        return np.array(
            [[2.0 - 4.0 * b * (y - x * x) + 8.0 * b * x * x, -4.0 * b * x], [-4.0 * b * x, 2 * b]]
        )


class Himmelblau(Surface):
    """f(x, y) = (x² + y − 11)² + (x + y² − 7)²: four global minima (f = 0).

    With u = x² + y − 11 and v = x + y² − 7:
    ∇f = [4xu + 2v,  2u + 4yv],
    ∇²f = [[4u + 8x² + 2,  4x + 4y], [4x + 4y,  4v + 8y² + 2]].
    It also has a local maximum near (−0.271, −0.923) and four saddle points.
    """

    def __init__(self) -> None:
        super().__init__()
        self.n_params = 2
        self.name = "himmelblau"
        approx = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
        self.minima = [_newton(self, m) for m in approx]
        self.maxima = [_newton(self, (-0.270845, -0.923039))]
        self.saddles = [
            _newton(self, s)
            for s in [
                (0.086678, 2.884255),
                (-3.073025, -0.081353),
                (3.385154, 0.073852),
                (-0.127961, -1.953715),
            ]
        ]
        self.bounds = [(-5.0, 5.0), (-5.0, 5.0)]
        self.suggested_start = np.array([0.0, 0.0])

    def f(self, theta: Array) -> Array:
        x, y = theta[0], theta[1]
        return np.asarray((x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2)

    def gradient(self, theta: Array) -> Array:
        x, y = theta
        u, v = x * x + y - 11.0, x + y * y - 7.0
        return np.array([4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v])

    def hess(self, theta: Array) -> Array:
        x, y = theta
        u, v = x * x + y - 11.0, x + y * y - 7.0
        c = 4.0 * (x + y)
        return np.array([[4.0 * u + 8.0 * x * x + 2.0, c], [c, 4.0 * v + 8.0 * y * y + 2.0]])


class Rastrigin(Surface):
    """f(θ) = A p + Σ_i (θ_i² − A cos 2πθ_i): a bowl covered in local minima.

    ∇f_i = 2θ_i + 2πA sin 2πθ_i;  ∇²f = diag(2 + 4π²A cos 2πθ_i). The global minimum is
    θ = 0 (f = 0); near every integer point inside the bounds there is a local minimum. In up to
    two dimensions ``minima`` lists all of them inside the bounds (global first, then by value).
    """

    def __init__(self, dim: int = 2, A: float = 10.0) -> None:
        super().__init__()
        self.n_params = p = int(dim)
        if p < 1:
            raise ValueError(f"dim must be a positive whole number, got {dim!r}")
        self.A = float(A)
        self.name = "rastrigin" if p == 2 else f"rastrigin(dim={p})"
        self.bounds = [(-5.12, 5.12)] * p
        self.suggested_start = np.full(p, 2.2)
        # the 1-D minimisers near each integer k (exact roots of 2t + 2πA sin 2πt = 0)
        roots = [0.0]
        for k in range(1, 6):
            t = float(k)
            for _ in range(60):
                t -= (2 * t + 2 * np.pi * self.A * np.sin(2 * np.pi * t)) / (
                    2 + 4 * np.pi**2 * self.A * np.cos(2 * np.pi * t)
                )
            roots += [t, -t]
        self.minima = [np.zeros(p)]
        if p <= 2:
            grid = np.array(np.meshgrid(*[roots] * p)).reshape(p, -1).T
            grid = grid[np.argsort(self.f(grid.T), kind="stable")]
            self.minima = [np.array(r) for r in grid]

    def f(self, theta: Array) -> Array:
        return np.asarray(
            self.A * theta.shape[0]
            + np.sum(theta * theta - self.A * np.cos(2.0 * np.pi * theta), axis=0)
        )

    def gradient(self, theta: Array) -> Array:
        return np.asarray(2.0 * theta + 2.0 * np.pi * self.A * np.sin(2.0 * np.pi * theta))

    def hess(self, theta: Array) -> Array:
        return np.diag(2.0 + 4.0 * np.pi**2 * self.A * np.cos(2.0 * np.pi * theta))


class Beale(Surface):
    """f(x, y) = Σ_{i=1..3} r_i², r_i = c_i − x + x yⁱ, c = (1.5, 2.25, 2.625); minimum (3, ½).

    ∇f = 2 Σ r_i ∇r_i and ∇²f = 2 Σ (∇r_i ∇r_iᵀ + r_i ∇²r_i), with ∇r_i = [yⁱ − 1, i x yⁱ⁻¹]
    and ∇²r_i = [[0, i yⁱ⁻¹], [i yⁱ⁻¹, i(i − 1) x yⁱ⁻²]].
    """

    C = (1.5, 2.25, 2.625)

    def __init__(self) -> None:
        super().__init__()
        self.n_params = 2
        self.name = "beale"
        self.minima = [np.array([3.0, 0.5])]
        self.bounds = [(-4.5, 4.5), (-4.5, 4.5)]
        self.suggested_start = np.array([1.0, 1.5])

    def f(self, theta: Array) -> Array:
        x, y = theta[0], theta[1]
        return np.asarray(sum((c - x + x * y ** (i + 1)) ** 2 for i, c in enumerate(self.C)))

    def gradient(self, theta: Array) -> Array:
        x, y = theta
        g = np.zeros(2)
        for i, c in enumerate(self.C, start=1):
            r = c - x + x * y**i
            g += 2.0 * r * np.array([y**i - 1.0, i * x * y ** (i - 1)])
        return g

    def hess(self, theta: Array) -> Array:
        x, y = theta
        H = np.zeros((2, 2))
        for i, c in enumerate(self.C, start=1):
            r = c - x + x * y**i
            dr = np.array([y**i - 1.0, i * x * y ** (i - 1)])
            cross = i * y ** (i - 1)
            d2r = np.array([[0.0, cross], [cross, i * (i - 1) * x * y ** (i - 2) if i > 1 else 0]])
            H += 2.0 * (np.outer(dr, dr) + r * d2r)
        return H


class SixHumpCamel(Surface):
    """f(x, y) = (4 − 2.1x² + x⁴/3) x² + xy + (4y² − 4) y²: six minima, two of them global.

    ∇f = [8x − 8.4x³ + 2x⁵ + y,  x − 8y + 16y³],
    ∇²f = [[8 − 25.2x² + 10x⁴,  1], [1,  −8 + 48y²]].
    Global minima ≈ (±0.0898, ∓0.7127) with f ≈ −1.0316.
    """

    def __init__(self) -> None:
        super().__init__()
        self.n_params = 2
        self.name = "six_hump_camel"
        approx = [
            (0.0898, -0.7126),
            (-0.0898, 0.7126),
            (-1.7036, 0.7961),
            (1.7036, -0.7961),
            (1.6071, 0.5687),
            (-1.6071, -0.5687),
        ]
        self.minima = [_newton(self, m) for m in approx]
        self.bounds = [(-3.0, 3.0), (-2.0, 2.0)]
        self.suggested_start = np.array([-1.5, -1.0])

    def f(self, theta: Array) -> Array:
        x, y = theta[0], theta[1]
        return np.asarray(
            (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (4.0 * y**2 - 4.0) * y**2
        )

    def gradient(self, theta: Array) -> Array:
        x, y = theta
        return np.array([8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3])

    def hess(self, theta: Array) -> Array:
        x, y = theta
        return np.array([[8 - 25.2 * x**2 + 10 * x**4, 1.0], [1.0, -8 + 48 * y**2]])


class Saddle(Surface):
    """f(x, y) = x² − y²: the simplest saddle. ∇f = [2x, −2y], ∇²f = diag(2, −2).

    At 0 the gradient vanishes and one of two Hessian eigenvalues is negative (index ½); the
    surface has no minimum (it is unbounded below along y).
    """

    def __init__(self) -> None:
        super().__init__()
        self.n_params = 2
        self.name = "saddle"
        self.minima = []
        self.saddles = [np.zeros(2)]
        self.bounds = [(-2.0, 2.0), (-2.0, 2.0)]
        self.suggested_start = np.array([1.5, 1e-3])

    def f(self, theta: Array) -> Array:
        return np.asarray(theta[0] ** 2 - theta[1] ** 2)

    def gradient(self, theta: Array) -> Array:
        return np.array([2.0 * theta[0], -2.0 * theta[1]])

    def hess(self, theta: Array) -> Array:
        return np.diag([2.0, -2.0])


class MonkeySaddle(Surface):
    """f(x, y) = x³ − 3xy²: three valleys meet at 0, where ∇f = 0 *and* ∇²f = 0.

    ∇f = [3x² − 3y², −6xy],  ∇²f = [[6x, −6y], [−6y, −6x]]. The Hessian test cannot classify
    the origin (it is "degenerate"); it is nevertheless a saddle (no minimum, no maximum).
    """

    def __init__(self) -> None:
        super().__init__()
        self.n_params = 2
        self.name = "monkey_saddle"
        self.minima = []
        self.saddles = [np.zeros(2)]
        self.bounds = [(-1.5, 1.5), (-1.5, 1.5)]
        self.suggested_start = np.array([0.2, 1.0])

    def f(self, theta: Array) -> Array:
        x, y = theta[0], theta[1]
        return np.asarray(x**3 - 3.0 * x * y**2)

    def gradient(self, theta: Array) -> Array:
        x, y = theta
        return np.array([3.0 * x * x - 3.0 * y * y, -6.0 * x * y])

    def hess(self, theta: Array) -> Array:
        x, y = theta
        return np.array([[6.0 * x, -6.0 * y], [-6.0 * y, -6.0 * x]])


# -- factories (the public spelling: ds.surfaces.himmelblau()) ------------------------------
def quadratic(kappa: float = 10.0, dim: int = 2) -> Quadratic:
    """A convex quadratic with condition number κ (see :class:`Quadratic`)."""
    return Quadratic(kappa, dim)


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Rosenbrock:
    """Rosenbrock's banana valley (see :class:`Rosenbrock`)."""
    return Rosenbrock(a, b)


def himmelblau() -> Himmelblau:
    """Himmelblau's function with four minima (see :class:`Himmelblau`)."""
    return Himmelblau()


def rastrigin(dim: int = 2, A: float = 10.0) -> Rastrigin:
    """Rastrigin's egg-box of local minima (see :class:`Rastrigin`)."""
    return Rastrigin(dim, A)


def beale() -> Beale:
    """Beale's function (see :class:`Beale`)."""
    return Beale()


def six_hump_camel() -> SixHumpCamel:
    """The six-hump camel function (see :class:`SixHumpCamel`)."""
    return SixHumpCamel()


def saddle() -> Saddle:
    """x² − y² (see :class:`Saddle`)."""
    return Saddle()


def monkey_saddle() -> MonkeySaddle:
    """x³ − 3xy² (see :class:`MonkeySaddle`)."""
    return MonkeySaddle()


#: name -> factory
SURFACES: dict[str, Callable[..., Surface]] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "himmelblau": himmelblau,
    "rastrigin": rastrigin,
    "beale": beale,
    "six_hump_camel": six_hump_camel,
    "saddle": saddle,
    "monkey_saddle": monkey_saddle,
}


def get(name: str, **kwargs: Any) -> Surface:
    """The surface called ``name`` (``"himmelblau"``, ``"six-hump-camel"``, …).

    Keyword arguments go to the factory, e.g. ``get("quadratic", kappa=100)``.
    """
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in SURFACES:
        raise ValueError(f"unknown surface {name!r}; choose one of {', '.join(SURFACES)}")
    return SURFACES[key](**kwargs)
