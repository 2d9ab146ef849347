"""The Objective seam: a function of one flat parameter vector θ, with its gradient.

Everything descend minimises is an :class:`Objective`. A data objective is
``L(θ) = loss(y, model(θ, X))``; a textbook surface (:mod:`descend.surfaces`) is ``f(θ)``
directly. The loop, optimizers, curvature tools and plots only ever see this interface.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import stats as _stats
from .losses import Loss, get_loss
from .stats import Moments, QuadraticStats

Array = NDArray[np.float64]

__all__ = ["Objective", "DataObjective", "FastDataObjective", "objective", "make_objective"]


class Objective:
    """A scalar function of θ ∈ ℝᵖ.

    Subclasses implement :meth:`value_and_grad`; :meth:`hessian` and :meth:`hvp` fall back to
    central differences of the gradient (override them where an exact form exists).

    Attributes
    ----------
    n_params : int
        p, the length of θ.
    """

    n_params: int = 0
    #: a short human name for reports and plots
    name: str = "objective"

    def value_and_grad(self, theta: Array) -> tuple[float, Array]:
        """Return ``(f(θ), ∇f(θ))``, the gradient of shape (p,)."""
        raise NotImplementedError

    def value(self, theta: Array) -> float:
        """Return f(θ)."""
        return self.value_and_grad(theta)[0]

    def grad(self, theta: Array) -> Array:
        """Return ∇f(θ), shape (p,)."""
        return self.value_and_grad(theta)[1]

    def hessian(self, theta: Array) -> Array:
        """Return ∇²f(θ), shape (p, p); here by central differences of the gradient."""
        from .curvature import hessian_fd

        return hessian_fd(self, theta)

    def hvp(self, theta: Array, v: Array) -> Array:
        """Hessian-vector product ∇²f(θ)·v, shape (p,); here by a central difference."""
        theta = np.asarray(theta, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            return np.zeros_like(theta)
        h = np.sqrt(np.finfo(np.float64).eps) * max(1.0, float(np.linalg.norm(theta))) / nv
        return (self.grad(theta + h * v) - self.grad(theta - h * v)) / (2.0 * h)


class DataObjective(Objective):
    """``L(θ) = loss(y, model.forward(θ, Z))`` over a design ``Z`` made by a bound model.

    Parameters
    ----------
    model : descend.models.Model
        A model already bound to the data (``model.bind(X)``).
    loss : Loss or str
    Z : ndarray, shape (n, k)
        The model's design (``model.design(X)``): features in the coordinates descent runs in.
    y : ndarray, shape (n,)

    Notes
    -----
    ``value_and_grad(θ, rows)`` evaluates the loss on a subset of rows (a mini-batch), as the
    mean over those rows, so that a batch gradient is an unbiased estimate of the full one.
    The gradient is ``model.vjp(θ, Z, ∂L/∂ŷ)``: the chain rule, loss first, then model.
    """

    def __init__(self, model: Any, loss: Loss | str, Z: Array, y: Array) -> None:
        self.model = model
        self.loss = get_loss(loss)
        self._Z: Array | None = Z
        self.y = y
        self.n_params = int(model.n_params)
        self.n_samples = int(y.shape[0])
        self.name = f"{self.loss.spec()} of {model.spec()}"

    @property
    def Z(self) -> Array:
        """The design the descent runs on, shape (n, k) (see :class:`FastDataObjective`)."""
        assert self._Z is not None
        return self._Z

    @Z.setter
    def Z(self, value: Array) -> None:
        self._Z = value

    # -- evaluation -----------------------------------------------------------------------
    def _rows(self, rows: Array | None) -> tuple[Array, Array]:
        if rows is None:
            return self.Z, self.y
        return self.Z[rows], self.y[rows]

    def value_and_grad(self, theta: Array, rows: Array | None = None) -> tuple[float, Array]:
        Z, y = self._rows(rows)
        yhat = self.model.forward(theta, Z)
        loss, dyhat = self.loss.value_and_grad(y, yhat)
        return loss, self.model.vjp(theta, Z, dyhat)

    def value(self, theta: Array, rows: Array | None = None) -> float:
        Z, y = self._rows(rows)
        return self.loss.value(y, self.model.forward(theta, Z))

    def predict(self, theta: Array) -> Array:
        """ŷ on the objective's own rows, shape (n,)."""
        return np.asarray(self.model.forward(theta, self.Z))

    # -- curvature ------------------------------------------------------------------------
    @property
    def is_linear_least_squares(self) -> bool:
        """True when the model is linear in θ and the loss is the squared error."""
        return bool(getattr(self.model, "is_linear", False) and self.loss.is_least_squares)

    def gram(self) -> Array:
        """(1/n)·AᵀA for the linear model's augmented design A (with the intercept column)."""
        A = self.model.augmented(self.Z)
        return (A.T @ A) / self.n_samples

    def hessian(self, theta: Array) -> Array:
        """Exact (2/n)·AᵀA for a linear model with the MSE; finite differences otherwise."""
        if self.is_linear_least_squares:
            return 2.0 * self.gram()
        return super().hessian(theta)

    def hvp(self, theta: Array, v: Array) -> Array:
        if self.is_linear_least_squares:
            A = self.model.augmented(self.Z)
            return (2.0 / self.n_samples) * (A.T @ (A @ v))
        return super().hvp(theta, v)


#: rows per block of the folded pass: blocks stay in cache, and below OpenBLAS's threading
#: threshold (threads on a busy 2-core machine made bigger blocks 10–40× slower)
FOLD_BLOCK = 1 << 13
#: κ(G) up to which the one-pass statistics are trusted for the least-squares solution (their
#: relative error is about κ(G)·ε ≤ 2e-8); above it the reference uses a tall-skinny QR and a
#: preconditioned fit is refined on its residual
STATS_KAPPA = 1e8
#: fold the scaling into θ only while |μ|/s ≤ this (the folding cancels ~log10 of it digits)
FOLD_LIMIT = 1e3


def _mse_kernel(
    loss: Loss, y: Array, yhat: Array, buf: Array, want_grad: bool
) -> tuple[float, Array]:
    """Σ(y − ŷ)² and the per-row derivative −2(y − ŷ), in place (yhat is overwritten)."""
    r = np.subtract(y, yhat, out=yhat)
    val = float(r @ r)
    if want_grad:
        np.multiply(r, -2.0, out=buf)
    return val, buf


def _huber_kernel(
    loss: Loss, y: Array, yhat: Array, buf: Array, want_grad: bool
) -> tuple[float, Array]:
    """Σ ℓ_δ(r) = Σ c·(r − c/2) with c = clip(r, −δ, δ), and the derivative −c, in place.

    The identity c·(r − c/2) equals ½r² for |r| ≤ δ and δ(|r| − ½δ) otherwise, so the sum is
    c·r − ½c·c: two dot products, no per-row temporaries, and no cancellation worse than ½.
    """
    delta = float(loss.delta)  # type: ignore[attr-defined]
    r = np.subtract(y, yhat, out=yhat)
    c = np.clip(r, -delta, delta, out=buf)
    val = float(c @ r) - 0.5 * float(c @ c)
    np.negative(c, out=c)
    return val, c


_KERNELS: dict[type, Any] = {}


def _register_kernels() -> None:
    from .losses import MSE, Huber

    _KERNELS[MSE] = _mse_kernel
    _KERNELS[Huber] = _huber_kernel


_register_kernels()


def objective(
    X: Any, y: Any, model: Any = "linear", loss: Loss | str = "mse", *, fast: bool | str = "auto"
) -> DataObjective:
    """Build the objective L(θ) = loss(y, model(θ, X)) from raw data.

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)
    y : array-like, shape (n,)
    model : str or Model
        ``"linear"``, ``"poly:3"``, ``ds.Linear()``, ``ds.Polynomial(3)``, ``ds.MLP([8])``.
    loss : str or Loss
    fast : bool or "auto"
        "auto" (default): the fast path when X has at least 2¹⁶ entries.
        Use :class:`FastDataObjective` for linear and polynomial models (default): the same
        function and gradients, computed without a scaled copy of X (and in O(p²) per
        full-batch step for the squared error). ``fast=False`` builds the plain objective.

    Returns
    -------
    DataObjective
        With ``.model`` bound to X (feature scaling learned from X) and ``.Z`` the design
        (materialised on first access for the fast objective).
    """
    from .data import as_arrays, check_fit_data
    from .models import get_model

    Xa, ya, names = as_arrays(X, y)
    if ya is None:
        raise ValueError("objective() needs targets y")
    check_fit_data(Xa, ya, names, min_samples=1)
    return make_objective(get_model(model), loss, Xa, ya, names, fast=fast)


def make_objective(
    model: Any,
    loss: Loss | str,
    X: Array,
    y: Array,
    feature_names: list[str] | None = None,
    *,
    fast: bool | str = "auto",
) -> DataObjective:
    """Bind ``model`` to validated arrays and build its objective (fast path when possible).

    X is never copied for a :class:`~descend.models.Linear` model: one blocked pass
    (:func:`descend.stats.moments`) gives the scaling, the Gram matrix and, for the squared
    error, the whole least-squares problem. Other models get the plain :class:`DataObjective`
    on ``model.design(X)``.
    """
    from .fastfit import SMALL
    from .models import Linear

    loss_obj = get_loss(loss)
    if fast == "auto":
        fast = X.size >= SMALL
    if not fast or not isinstance(model, Linear):
        bound = model.bind(X, feature_names=feature_names, y=y)
        return DataObjective(bound, loss_obj, bound.design(X), y)
    obj = FastDataObjective.build(model, loss_obj, X, y, feature_names)
    obj.model._bind_target(y)
    return obj


class FastDataObjective(DataObjective):
    """A :class:`DataObjective` for linear models that never copies the data.

    The same function and gradients as the plain objective on Z = (Φ(X) − μ)/s, evaluated
    differently (the *fast paths*):

    - **Least squares, full batch**: from the one-pass statistics (:class:`QuadraticStats`),
      ∇L = 2(Gθ − c) in O(p²) per step; iterates equal the plain path's to rounding
      (rtol 1e-12 in the tests). The value is expanded around θ* (see QuadraticStats for its
      accuracy); the data are not touched again during descent.
    - **Other losses, full batch**: one fused pass per step over row blocks of Φ: each block is
      scaled into a small reusable buffer (in cache), then ŷ, ∂L/∂ŷ and Zᵀg are formed before
      the next block is read — X is read once per step, not twice, and Z never exists.
    - **Mini-batches**: the batch rows of Φ are scaled exactly as the plain design is, so batch
      values and gradients are bitwise equal to the plain path's.

    Attributes
    ----------
    features : ndarray, shape (n, k)
        Φ(X) unscaled: the caller's X itself (not a copy) for :class:`Linear`; float64, or
        float32 storage (every block is widened to float64 before any arithmetic, so the
        results are those of the float64 copy of the same values).
    moments : Moments
        The one-pass statistics of (Φ, y).
    quad : QuadraticStats or None
        The least-squares problem in Gram form (squared error only).
    Z : ndarray
        The scaled design, **materialised on first access** and cached (n·k floats): kept for
        code that reads ``objective.Z``; the fast paths never touch it.
    """

    def __init__(
        self,
        model: Any,
        loss: Loss | str,
        features: Array,
        y: Array,
        moments: Moments,
        *,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(model, loss, None, y)  # type: ignore[arg-type]
        self.features = features
        self.moments = moments
        self.n_samples = int(features.shape[0])
        scaler = model.scaler
        self._mean = np.asarray(scaler.mean, dtype=np.float64)
        self._scale = np.asarray(scaler.scale, dtype=np.float64)
        self._scaled = bool(model.scale)
        k = features.shape[1]
        self._block = int(block_rows or _stats.block_rows(k))
        self._buf = np.empty((min(self._block, self.n_samples), k))
        self._fold_block = FOLD_BLOCK
        self._rbuf: Array | None = None
        self._cbuf: Array | None = None
        self._wbuf: Array | None = None
        self._batch_buf: Array | None = None
        self._batch_raw: NDArray[Any] | None = None
        ratio = np.abs(self._mean) / self._scale
        self._fold_ok = (not self._scaled) or bool(np.all(ratio <= FOLD_LIMIT))
        self.quad: QuadraticStats | None = None
        self._gram = QuadraticStats.build(moments, self._mean, self._scale, bool(model.intercept))
        if self.loss.is_least_squares:
            self.quad = self._gram
        self._reference: Any = None

    @classmethod
    def build(
        cls,
        model: Any,
        loss: Loss,
        X: Array,
        y: Array,
        feature_names: list[str] | None = None,
        moments: Moments | None = None,
    ) -> FastDataObjective:
        """Bind a :class:`Linear` model from one pass over (Φ(X), y) and build the objective.

        Raises ValueError when the data hold NaN or ±inf (callers validate first, or turn
        this into a clearer message).
        """
        bound = model.bind_features(X, feature_names=feature_names)
        F = bound.raw_features(X)
        mom = moments if moments is not None else _stats.moments(F, y)
        if not mom.finite:
            raise _stats.NonFiniteError(
                "X or y holds NaN or inf, or a feature of X overflowed to inf"
            )
        bound.set_scaling(mom.mean, mom.std, mom.rms)
        return cls(bound, loss, F, y, mom)

    #: preconditioners are built from :meth:`gram` (see ``Preconditioner.for_objective``)
    has_statistics = True

    @property
    def refinement_pays(self) -> bool:
        """Whether iterative refinement can improve a least-squares fit here: only when
        κ(G) > :data:`STATS_KAPPA`, where the statistics lose more than ~8 digits."""
        return not (self._gram.condition <= STATS_KAPPA)

    # -- the design, on demand -------------------------------------------------------------
    @property
    def Z(self) -> Array:
        """The scaled design (n, k), materialised and cached on first access."""
        if self._Z is None:
            self._Z = self._design(self.features)
        return self._Z

    @Z.setter
    def Z(self, value: Array) -> None:
        self._Z = value

    def _design(self, F: Array, out: Array | None = None) -> Array:
        """Scale raw feature rows exactly as ``model.design`` does: (φ − μ)/s."""
        if not self._scaled:
            if out is None:
                return np.ascontiguousarray(F, dtype=np.float64)
            out[...] = F
            return out
        if out is None:
            return np.ascontiguousarray((F - self._mean) / self._scale)
        np.subtract(F, self._mean, out=out)
        np.divide(out, self._scale, out=out)
        return out

    def _rows(self, rows: Any) -> tuple[Array, Array]:
        if rows is None:
            return self.Z, self.y
        if isinstance(rows, slice):
            return self._gather(rows), self.y[rows]
        rows = np.asarray(rows)
        return self._gather(rows), np.take(self.y, rows)

    def _gather(self, rows: Any) -> Array:
        """The scaled design rows Z[rows] (rows: index array or slice), in a reusable buffer.

        Valid until the next call. The rows are copied into the buffer (np.take for an
        index: several times faster than fancy indexing; widened to float64 for float32
        storage), then scaled in place — the same operations, hence the same bits, as the
        plain design.
        """
        F = self.features
        src = F[rows] if isinstance(rows, slice) else None
        m = int(src.shape[0] if src is not None else rows.shape[0])
        if self._batch_buf is None or self._batch_buf.shape[0] < m:
            self._batch_buf = np.empty((m, F.shape[1]))
            wide = F.dtype != np.float64
            self._batch_raw = np.empty((m, F.shape[1]), dtype=F.dtype) if wide else None
        Zb = self._batch_buf[:m]
        if src is not None:
            Zb[...] = src
        elif self._batch_raw is None:
            np.take(F, rows, axis=0, out=Zb, mode="wrap")
        else:
            raw = self._batch_raw[:m]
            np.take(F, rows, axis=0, out=raw, mode="wrap")
            Zb[...] = raw
        if self._scaled:
            np.subtract(Zb, self._mean, out=Zb)
            np.divide(Zb, self._scale, out=Zb)
        return Zb

    # -- evaluation -------------------------------------------------------------------------
    def _blocked(self, theta: Array, want_grad: bool) -> tuple[float, Array | None]:
        """One fused pass over row blocks: (L, ∇L or None)."""
        n = self.n_samples
        total = 0.0
        grad = np.zeros(self.n_params) if want_grad else None
        F, y, m = self.features, self.y, self._block
        for i in range(0, n, m):
            j = min(i + m, n)
            Zb = self._design(F[i:j], self._buf[: j - i])
            yhat = self.model.forward(theta, Zb)
            weight = (j - i) / n
            if want_grad:
                val, g = self.loss.value_and_grad(y[i:j], yhat)
                assert grad is not None
                grad += weight * self.model.vjp(theta, Zb, g)
            else:
                val = self.loss.value(y[i:j], yhat)
            total += weight * float(val)
        return total, grad

    def _fold(self, theta: Array) -> tuple[Array, float]:
        """Weights on the raw features: Zw + b = Φ·(w/s) + (b − μ·w/s)."""
        k = self.model.n_weights
        w = theta[:k]
        b = float(theta[k]) if self.model.intercept else 0.0
        if not self._scaled:
            return w, b
        v = w / self._scale
        return v, b - float(self._mean @ v)

    def _folded(self, theta: Array, want_grad: bool) -> tuple[float, Array | None]:
        """One fused pass with the scaling folded into θ: (L, ∇L or None).

        Per block of rows: ŷ = Φ_b·v + c₀ (BLAS), the loss's per-row derivative g (a fused
        kernel for the MSE and Huber, in cache), then Φ_bᵀg (BLAS). ∂L/∂w = (Φᵀg − μ·Σg)/s.
        Used when |μ|/s ≤ :data:`FOLD_LIMIT`, so the folding loses at most ~3 digits.
        """
        n = self.n_samples
        v, c0 = self._fold(theta)
        F, y, m = self.features, self.y, self._fold_block
        k = F.shape[1]
        if self._rbuf is None:
            self._rbuf = np.empty(min(m, n))
            self._cbuf = np.empty(min(m, n))
        wide = F.dtype != np.float64  # float32 storage: widen each block once, in cache
        if wide and self._wbuf is None:
            self._wbuf = np.empty((min(m, n), k))
        kernel = _KERNELS.get(type(self.loss))
        total = 0.0
        gF = np.zeros(k)
        gsum = 0.0
        for i in range(0, n, m):
            j = min(i + m, n)
            Fb = F[i:j]
            if wide:
                assert self._wbuf is not None
                Fb = self._wbuf[: j - i]
                Fb[...] = F[i:j]
            yhat = self._rbuf[: j - i]
            np.matmul(Fb, v, out=yhat)
            yhat += c0
            if kernel is not None:
                assert self._cbuf is not None
                val, g = kernel(self.loss, y[i:j], yhat, self._cbuf[: j - i], want_grad)
            else:
                mean_val, g = self.loss.value_and_grad(y[i:j], yhat)
                val = float(mean_val) * (j - i)
                g = g * (j - i)
            total += val
            if want_grad:
                gF += Fb.T @ g
                gsum += float(g.sum())
        if not want_grad:
            return total / n, None
        grad = np.empty(self.n_params)
        kw = self.model.n_weights
        grad[:kw] = (gF - self._mean * gsum) / self._scale / n if self._scaled else gF / n
        if self.model.intercept:
            grad[kw] = gsum / n
        return total / n, grad

    def value_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        theta = np.asarray(theta, dtype=np.float64)
        if rows is None:
            if self.quad is not None:
                return self.quad.value_and_grad(theta)
            if self._fold_ok:
                val, grad = self._folded(theta, True)
            else:
                val, grad = self._blocked(theta, True)
            assert grad is not None
            return val, grad
        return super().value_and_grad(theta, rows)

    def value(self, theta: Array, rows: Any = None) -> float:
        theta = np.asarray(theta, dtype=np.float64)
        if rows is None:
            if self.quad is not None:
                return self.quad.value(theta)
            if self._fold_ok:
                return self._folded(theta, False)[0]
            return self._blocked(theta, False)[0]
        return super().value(theta, rows)

    def exact_value(self, theta: Array) -> float:
        """L(θ) from the data (one blocked pass), never from the statistics."""
        return self._blocked(np.asarray(theta, dtype=np.float64), False)[0]

    def predict(self, theta: Array) -> Array:
        out = np.empty(self.n_samples)
        F, m = self.features, self._block
        for i in range(0, self.n_samples, m):
            j = min(i + m, self.n_samples)
            out[i:j] = self.model.forward(theta, self._design(F[i:j], self._buf[: j - i]))
        return out

    # -- curvature and the reference, from the same pass ------------------------------------
    def gram(self) -> Array:
        """(1/n)·AᵀA from the one-pass statistics (no pass over the data)."""
        return self._gram.G.copy()

    def hvp(self, theta: Array, v: Array) -> Array:
        if self.is_linear_least_squares:
            return np.asarray(2.0 * (self._gram.G @ np.asarray(v, dtype=np.float64)))
        return super().hvp(theta, v)

    def reference(self) -> Any:
        """The closed-form least-squares answer (``Reference``), or None for other losses.

        Solved from the statistics (Cholesky of G) when κ(G) ≤ 1e8, where its relative error
        κ·ε stays below ~1e-8; otherwise by a tall-skinny QR over row blocks of [Z, 1, y]
        (as accurate as QR of the whole design, in O(block) memory). L* is exact either way
        when the statistics' value could be inaccurate (see QuadraticStats), and the fast
        objective then expands around the better θ*.
        """
        if self._reference is not None or self.quad is None:
            return self._reference
        from .reference import Reference

        q = self.quad
        method = "stats"
        if not (q.condition <= STATS_KAPPA):
            try:
                theta, loss = self._tsqr()
            except ValueError:
                return None
            q = q.with_minimum(loss, theta)
            method = "tsqr"
        elif q.needs_exact_minimum:
            q = q.with_minimum(self.exact_value(q.theta_star))
            method = "stats+exact"
        self.quad = q
        intercept, coef = self.model.to_original(q.theta_star)
        self._reference = Reference(q.theta_star.copy(), q.loss_star, intercept, coef, method)
        return self._reference

    def _tsqr(self) -> tuple[Array, float]:
        """θ* and L* by blocked Householder QR of [A, y] (raises ValueError if rank deficient)."""
        p = self.n_params
        k = self.model.n_weights
        F, y, m, n = self.features, self.y, self._block, self.n_samples

        def blocks() -> Any:
            for i in range(0, n, m):
                j = min(i + m, n)
                B = np.empty((j - i, p + 1))
                self._design(F[i:j], B[:, :k])
                if self.model.intercept:
                    B[:, k] = 1.0
                B[:, p] = y[i:j]
                yield B

        R = _stats.tsqr_r(blocks(), p + 1)
        diag = np.abs(np.diag(R[:p, :p]))
        if diag.size and diag.min() <= diag.max() * np.finfo(np.float64).eps * max(n, p):
            raise ValueError("rank deficient design")
        theta = np.linalg.solve(R[:p, :p], R[:p, p])
        return np.asarray(theta), float(R[p, p] ** 2) / n
