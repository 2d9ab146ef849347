"""From the user's data to an objective in one pass: validation, scaling and statistics.

:func:`build_objective` is what :func:`descend.fit` calls. For linear and polynomial models
it avoids every pass and copy it can:

- a float64 NumPy array X (either memory order) and numeric y are used **as they are**, not
  copied (descend never writes to them); anything else goes through
  :func:`descend.data.as_arrays`, which makes one validated float64 copy;
- finiteness, the constant-column check, the feature scaling, the Gram matrix (curvature
  advice) and the least-squares statistics all come from one blocked pass
  (:func:`descend.stats.moments`); only when that pass finds a NaN/inf does
  :func:`~descend.data.as_arrays` run, to raise its precise message.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .losses import get_loss
from .objective import DataObjective, FastDataObjective
from .stats import Moments, NonFiniteError

Array = NDArray[np.float64]

__all__ = ["build_objective", "borrow_arrays"]

#: below this many cells the design checks simply run on X (they cost nothing)
SMALL = 1 << 16


def borrow_arrays(
    X: Any, y: Any, feature_names: list[str] | None = None
) -> tuple[Array, Array, list[str]] | None:
    """(X, y, names) without copying X when X is already a 2-D (or 1-D) float64 array.

    Returns None when the input needs :func:`descend.data.as_arrays` (lists, DataFrames,
    other dtypes, odd shapes): that path copies and validates everything itself. Finiteness
    is *not* checked here: the caller's one-pass statistics do that.
    """
    from .data import _default_names

    if not (isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim in (1, 2)):
        return None
    if not (isinstance(y, np.ndarray) and y.dtype.kind in "fiu" and y.ndim == 1):
        return None
    Xa = X.reshape(-1, 1) if X.ndim == 1 else X
    n, d = Xa.shape
    if n < 1 or d < 1 or y.shape[0] != n:
        return None
    if feature_names is not None:
        names = [str(s) for s in feature_names]
        if len(names) != d:
            return None
    else:
        names = _default_names(d)
    ya = y if y.dtype == np.float64 else y.astype(np.float64)
    return Xa, ya, names


def check_design_fast(X: Array, mom: Moments, n_params: int, names: list[str]) -> None:
    """:func:`descend.data.check_design`'s warnings, from the statistics (no extra pass)."""
    from .data import check_design

    if X.size <= SMALL or mom.n < n_params:
        check_design(X, n_params, names)
        return
    const = mom.constant_columns
    if const.size:
        # two rows that differ exactly in the non-constant columns: same warnings, same values
        proxy = np.vstack([mom.x0, mom.x0]).astype(np.float64)
        proxy[1] += 1.0
        proxy[1, const] = mom.x0[const]
        check_design(proxy, min(n_params, 2), names)


def build_objective(
    X: Any,
    y: Any,
    model: Any = "linear",
    loss: Any = "mse",
    *,
    feature_names: list[str] | None = None,
    fast: bool | str = "auto",
    column_major: bool = False,
) -> DataObjective:
    """Validate the data, bind the model and build the objective (fast path when possible).

    Parameters
    ----------
    X, y : array-like
    model : str or Model
    loss : str or Loss
    feature_names : list of str, optional
    column_major : bool
        Store X column-major for a loss other than the squared error: the full-batch pass
        reads Fortran-ordered blocks about twice as fast. A C-ordered X is then copied once
        (pass ``np.asfortranarray(X)`` to avoid the copy).
    fast : bool or "auto"
        "auto": the fast path when X has at least 2¹⁶ entries. False: the plain path
        (``as_arrays`` copy, ``model.bind``, ``check_design``, the
        scaled design Z).

    Returns
    -------
    DataObjective
        A :class:`~descend.objective.FastDataObjective` for linear models when ``fast``.
    """
    from .data import as_arrays, check_design
    from .models import Linear, get_model

    m = get_model(model)
    loss_obj = get_loss(loss)
    if fast == "auto":
        fast = int(np.prod(np.shape(X))) >= SMALL
    if fast and isinstance(m, Linear):
        borrowed = borrow_arrays(X, y, feature_names)
        if borrowed is None:
            Xa, ya, names = as_arrays(X, y, feature_names=feature_names)
            if ya is None:
                raise ValueError("fit() needs targets y")
        else:
            Xa, ya, names = borrowed
        if column_major and not loss_obj.is_least_squares and not Xa.flags.f_contiguous:
            Xa = np.asfortranarray(Xa)
        try:
            obj = FastDataObjective.build(m, loss_obj, Xa, ya, names)
        except NonFiniteError:
            if borrowed is not None:
                as_arrays(X, y, feature_names=feature_names)  # raises the precise DataError
            raise
        check_design_fast(Xa, obj.moments, obj.n_params, names)
        obj.model._bind_target(ya)  # the random start's centre (O(n), y only)
        return obj
    Xa, ya, names = as_arrays(X, y, feature_names=feature_names)
    if ya is None:
        raise ValueError("fit() needs targets y")
    bound = m.bind(Xa, feature_names=names, y=ya)
    check_design(Xa, bound.n_params, names)
    return DataObjective(bound, loss_obj, bound.design(Xa), ya)
