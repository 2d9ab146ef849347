"""Are the classes linearly separable? A linear-programming feasibility check.

Unpenalised log loss (or softmax cross-entropy) on a model linear in θ, ŷ = A·θ, has no
minimiser when some θ puts every row on its correct side: then L(c·θ) → 0 as c → ∞ while
L > 0 everywhere, and descent can only grow ‖θ‖. Whether such a θ exists is a linear
program's feasibility question (the margins are linear in θ and scale with it, so "> 0" may
be written "≥ 1"):

- **binary** (labels y ∈ {0, 1}, signs s_i = 2y_i − 1): find θ with s_i·(A_i·θ) ≥ 1 for
  every row i;
- **K classes** (θ in K blocks θ_1 … θ_K, logits z_ik = A_i·θ_k): find θ with
  A_i·(θ_{y_i} − θ_k) ≥ 1 for every row i and every k ≠ y_i (every row's own logit on top).

SciPy's HiGHS solves it (``scipy.optimize.linprog(method="highs")``, the ``curvature`` extra).
A "feasible" answer is trusted only when the θ it returns separates the rows strictly in
float64 (every margin > 0), so a solver tolerance can never declare overlapping classes
separable. Without SciPy, or for a program above :data:`MAX_ENTRIES` nonzeros, the answer is
None (unknown), and the run keeps its other verdicts.
"""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["MAX_ENTRIES", "TIME_LIMIT", "linearly_separable"]

#: seconds HiGHS may spend before the answer is None
TIME_LIMIT = 5.0

#: the largest constraint matrix (rows × columns) the check builds; above it, None
MAX_ENTRIES = 1_000_000


def linearly_separable(A: Array, y: Array, n_classes: int = 2) -> bool | None:
    """Whether some θ classifies every row of ŷ = A·θ correctly, by a linear program.

    Parameters
    ----------
    A : ndarray, shape (n, q)
        The design the model is linear in (with its intercept column, when it has one).
    y : ndarray, shape (n,)
        Class indices 0 … n_classes − 1 (0/1 for the binary log loss).
    n_classes : int
        2 for the binary log loss (one logit per row, θ of shape (q,)); K ≥ 3 for the
        softmax (K logits per row, θ of shape (K·q,) in K blocks of q).

    Returns
    -------
    bool or None
        True: a separating θ exists (found and checked); False: the program is infeasible
        (no θ separates the rows, so the loss has a finite minimiser or a bounded-below
        recession); None: not decided (no SciPy, too large, or the solver ran out of time).
    """
    if find_spec("scipy") is None:
        return None
    A = np.asarray(A, dtype=np.float64)
    labels = np.asarray(y).astype(np.intp)
    n, q = A.shape
    if n == 0:
        return None
    if n_classes == 2:
        signs = 2.0 * labels - 1.0
        if n * q > MAX_ENTRIES:
            return None
        M = signs[:, None] * A  # margins M·θ ≥ 1
    else:
        K = int(n_classes)
        if n * (K - 1) * K * q > MAX_ENTRIES:
            return None
        rows = np.repeat(np.arange(n), K - 1)
        grid = np.tile(np.arange(K), (n, 1))
        others = grid[grid != labels[:, None]]  # row by row, the K − 1 other classes
        own = labels[rows]
        M = np.zeros((rows.size, K * q))
        Ar = A[rows]
        for k in range(K):
            M[:, k * q : (k + 1) * q] += np.where((own == k)[:, None], Ar, 0.0)
            M[:, k * q : (k + 1) * q] -= np.where((others == k)[:, None], Ar, 0.0)
    from scipy.optimize import linprog  # optional extra: imported only when asked

    p = M.shape[1]
    res = linprog(
        np.zeros(p),
        A_ub=-M,
        b_ub=-np.ones(M.shape[0]),
        bounds=[(None, None)] * p,
        method="highs",
        options={"time_limit": TIME_LIMIT},
    )
    if res.status == 2:  # infeasible: no separating θ
        return False
    if res.status != 0 or res.x is None:
        return None
    return bool(np.all(M @ res.x > 0.0))
