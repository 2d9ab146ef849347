"""The fast data objective: linear models evaluated without a copy of the data.

:class:`FastDataObjective` is a :class:`~descend.problems.objective.DataObjective` whose
evaluations come from the one-pass statistics (least squares) or fused passes over row blocks
(other losses); :func:`descend.problems.fastfit.build_objective` chooses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems import stats as _stats
from descend.problems.losses import MSE, Huber, Loss
from descend.problems.objective import DataObjective
from descend.problems.reference import Reference
from descend.problems.stats import Moments, QuadraticStats

Array = NDArray[np.float64]

__all__ = ["FastDataObjective", "FOLD_BLOCK", "STATS_KAPPA", "FOLD_LIMIT"]


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


#: losses with a fused block kernel (value and gradient in one pass over a block)
_KERNELS: dict[type, Any] = {MSE: _mse_kernel, Huber: _huber_kernel}


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
        self._mean_tiled: Array = self._mean
        self._scale_tiled: Array = self._scale
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
    def refinement_pays(self) -> bool:  # type: ignore[override]
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
        plain design. The scaling runs on the flat buffer against μ and s tiled once to the
        buffer's length: elementwise the same (φ − μ)/s, but contiguous one-dimensional
        loops instead of a broadcast over rows of k (3× faster at k = 10).
        """
        F = self.features
        k = F.shape[1]
        src = F[rows] if isinstance(rows, slice) else None
        m = int(src.shape[0] if src is not None else rows.shape[0])
        if self._batch_buf is None or self._batch_buf.shape[0] < m:
            self._batch_buf = np.empty((m, k))
            wide = F.dtype != np.float64
            self._batch_raw = np.empty((m, k), dtype=F.dtype) if wide else None
            self._mean_tiled = np.tile(self._mean, m)
            self._scale_tiled = np.tile(self._scale, m)
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
            flat = Zb.reshape(-1)  # a leading block of the C-ordered buffer: a view
            np.subtract(flat, self._mean_tiled[: m * k], out=flat)
            np.divide(flat, self._scale_tiled[: m * k], out=flat)
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

    def dense_least_squares(self) -> tuple[Array, Array] | None:
        # the full-batch step is the statistics' or the blocked pass's, not Z's closure
        return None

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

    def baseline_loss(self) -> float | None:
        """loss(y, ȳ·1); for the squared error Σ(y − ȳ)²/n from the statistics (no pass over
        y: the centred sum of squares is exactly that loss, to rounding)."""
        if self.quad is not None:
            return float(self.moments.syy) / self.n_samples
        return super().baseline_loss()

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
