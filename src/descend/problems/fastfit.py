"""From the user's data to an objective in one pass: validation, scaling and statistics.

:func:`build_objective` is what :func:`descend.fit` calls. For linear and polynomial models
it avoids every pass and copy it can:

- a float64 NumPy array X (either memory order) and numeric y are used **as they are**, not
  copied (descend never writes to them); so is a float32 X for a
  :class:`~descend.problems.models.Linear`
  model (see *float32 storage* below); anything else goes through
  :func:`descend.data.tables.as_arrays`, which makes one validated float64 copy;
- finiteness, the constant-column check, the feature scaling, the Gram matrix (curvature
  advice) and the least-squares statistics all come from one blocked pass
  (:func:`descend.problems.stats.moments`); only when that pass finds a NaN/inf does
  :func:`~descend.data.tables.as_arrays` run, to raise its precise message;
- for Φ(X) = X, :func:`~descend.data.tables.check_fit_data`'s magnitude checks (squares that
  overflow or underflow) are bounded from the same statistics (:func:`magnitudes_safe`); its
  max-abs pass over X runs only when a bound comes near a limit or the pass found NaN/inf.

**float32 storage, float64 arithmetic.** The fast path reads X in row blocks and copies each
block into a small float64 buffer before any arithmetic (the shift of the statistics pass,
the scaling of a mini-batch, the fused pass of other losses). X may therefore be stored as
float32: half the memory and half the bytes read per pass, and — because widening float32 to
float64 is exact — the *same* statistics, steps and iterates as a float64 copy of the same
float32 values (bitwise for the least-squares statistics). What float32 costs is only the
rounding of the data themselves, once, to 24 significant bits (relative 6e-8 per entry):
the fit is the exact fit of the rounded data. ``dtype`` (in :func:`descend.fit`) chooses:

- ``None`` (default): keep a float32 or float64 array X as it is; copy anything else to
  float64 (a float32 X used to be copied to float64: same results, twice the memory);
- ``np.float32``: store X as float32, converting other inputs once (a float64 array is then
  copied at half its size; pass float32 data to avoid the copy);
- ``np.float64``: always float64 (a float32 X is copied, the plain behaviour).

Polynomial features are always computed in float64 (from x rounded to float32 when
``dtype=np.float32``), and the plain path (small X, other models) always works on a float64
copy — of the float32-rounded values when ``dtype=np.float32``, so that both paths fit the
same data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import (
    as_arrays,
    check_design,
    check_fit_data,
    check_sample_weight,
    check_samples,
    default_names,
    magnitude_limits,
)
from descend.problems.fast_objective import FastDataObjective
from descend.problems.losses import Loss, get_loss
from descend.problems.models import get_model
from descend.problems.objective import DataObjective
from descend.problems.stats import Moments, NonFiniteError

Array = NDArray[np.float64]

__all__ = ["build_objective", "borrow_arrays", "make_objective", "objective", "SMALL"]

#: below this many cells the design checks simply run on X (they cost nothing)
SMALL = 1 << 16


DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def storage_dtype(dtype: Any) -> np.dtype[Any] | None:
    """Validate ``fit(dtype=…)``: None, float32 or float64 (as a NumPy dtype)."""
    if dtype is None:
        return None
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be None, np.float32 or np.float64, got {dtype!r}") from err
    if dt not in DTYPES:
        raise ValueError(f"dtype must be None, np.float32 or np.float64, got {dtype!r}")
    return dt


def borrow_arrays(
    X: Any,
    y: Any,
    feature_names: list[str] | None = None,
    dtypes: tuple[np.dtype[Any], ...] = (np.dtype(np.float64),),
) -> tuple[Array, Array, list[str]] | None:
    """(X, y, names) without copying X when X is already a 2-D (or 1-D) array of ``dtypes``.

    Returns None when the input needs :func:`descend.data.tables.as_arrays` (lists, DataFrames,
    other dtypes, odd shapes): that path copies and validates everything itself. Finiteness
    is *not* checked here: the caller's one-pass statistics do that. y is always float64
    (O(n), converted when needed).
    """

    if not (isinstance(X, np.ndarray) and X.dtype in dtypes and X.ndim in (1, 2)):
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
        names = default_names(d)
    ya = y if y.dtype == np.float64 else y.astype(np.float64)
    return Xa, ya, names


def check_design_fast(X: Array, mom: Moments, n_params: int, names: list[str]) -> None:
    """:func:`descend.data.tables.check_design`'s warnings, from the statistics (no extra pass)."""

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


def magnitudes_safe(mom: Moments) -> bool:
    """True when :func:`descend.data.tables.check_fit_data` certainly passes X and y of ``mom``.

    That check refuses a column whose largest magnitude m = max|x| is below ``tiny`` or above
    ``huge`` (:func:`descend.data.tables.magnitude_limits`). The statistics bound m from both sides
    without reading the data again:

    - above: m ≤ |x₀| + max|x − x₀| ≤ |x₀| + √Σ(x − x₀)², with Σ(x − x₀)² = Sxx + n(μ − x₀)²;
    - below: m ≥ rms = √(Sxx/n + μ²).

    Safe means |x₀| + √(Sxx + n(μ − x₀)²) ≤ huge/4 and rms ≥ 2·tiny for every column and y:
    the factors 4 and 2 cover the rounding of the statistics many times over (squares that
    underflow only make the lower bound smaller, i.e. more cautious). Non-finite statistics,
    all-zero columns and anything near a limit are not safe: the caller then runs the exact
    max-abs pass, so the messages (and the decisions) are those of ``check_fit_data``.
    """

    tiny, huge = magnitude_limits(mom.n)
    n = float(mom.n)
    x0 = np.append(mom.x0, 0.0)  # y's shift is not kept: bound y around 0 instead
    mean = np.append(mom.mean, mom.ymean)
    ss = np.append(np.diag(mom.Sxx), mom.syy)
    with np.errstate(over="ignore", invalid="ignore"):
        upper = np.abs(x0) + np.sqrt(ss + n * (mean - x0) ** 2)
        rms = np.sqrt(ss / n + mean**2)
    return bool(np.all(upper <= huge / 4) and np.all(rms >= 2 * tiny))


def build_objective(
    X: Any,
    y: Any,
    model: Any = "linear",
    loss: Any = "mse",
    *,
    feature_names: list[str] | None = None,
    fast: bool | str = "auto",
    column_major: bool = False,
    dtype: Any = None,
    sample_weight: Any = None,
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
    dtype : None, np.float32 or np.float64
        How the fast path stores X (see the module docstring, *float32 storage*).
    sample_weight : array-like, shape (n,), optional
        Row weights s_i ≥ 0: the loss becomes Σ s_i ℓ_i / Σ s_i (the plain path; see
        :class:`~descend.problems.objective.DataObjective`).

    Returns
    -------
    DataObjective
        A :class:`~descend.problems.fast_objective.FastDataObjective` for linear models when
        ``fast``.
    """

    m = get_model(model)
    loss_obj = get_loss(loss)
    if loss_obj.n_outputs != 1 or sample_weight is not None or m.keeps_binding:
        fast = False  # K outputs, weighted rows, a kept binding (partial_fit): the plain path
    if fast == "auto":
        try:
            fast = int(np.prod(np.shape(X))) >= SMALL
        except ValueError:  # a ragged nested list: as_arrays names the short/long row
            fast = False
    dt = storage_dtype(dtype)
    if fast and m.is_linear:
        plain_linear = not m.expands_features  # Φ(X) = X: blocks are widened before arithmetic
        if dt is not None:
            keep: tuple[np.dtype[Any], ...] = (dt,) if plain_linear else (DTYPES[0],)
        else:
            keep = DTYPES if plain_linear else (DTYPES[0],)
        if dt == DTYPES[1] and isinstance(X, np.ndarray) and X.dtype.kind in "fiu":
            if X.dtype != np.float32 or not plain_linear:
                X = X.astype(np.float32)  # one copy, at float32 size
            if not plain_linear:
                X = X.astype(np.float64)  # polynomial features in float64, from rounded x
        borrowed = borrow_arrays(X, y, feature_names, keep)
        if borrowed is None:
            Xa, ya, names = as_arrays(X, y, feature_names=feature_names)
            if ya is None:
                raise ValueError("fit() needs targets y")
            if dt == DTYPES[1]:
                Xa = Xa.astype(np.float32) if plain_linear else _round32(Xa)
        else:
            Xa, ya, names = borrowed
        if column_major and not loss_obj.is_least_squares and not Xa.flags.f_contiguous:
            Xa = np.asfortranarray(Xa)
        # too few rows; magnitudes whose squares overflow or underflow: for Φ(X) = X the
        # magnitudes are bounded from the statistics (no pass), see magnitudes_safe
        if plain_linear:
            check_samples(Xa.shape[0])
        else:
            check_fit_data(Xa, ya, names)
        try:
            obj = FastDataObjective.build(m, loss_obj, Xa, ya, names)
        except NonFiniteError:
            if plain_linear:
                check_fit_data(Xa, ya, names)  # inf, or squares that overflowed: its message
            if borrowed is not None:
                as_arrays(X, y, feature_names=feature_names)  # raises the precise DataError
            raise
        if plain_linear and not magnitudes_safe(obj.moments):
            check_fit_data(Xa, ya, names)  # near a limit: the exact max-abs pass decides
        check_design_fast(Xa, obj.moments, obj.n_params, names)
        obj.model.bind_target_mean(obj.moments.ymean)  # the random start's centre: ȳ
        return obj
    Xa, ya, names = as_arrays(X, y, feature_names=feature_names)
    if ya is None:
        raise ValueError("fit() needs targets y")
    check_fit_data(Xa, ya, names)
    if dt == DTYPES[1]:
        Xa = _round32(Xa)
    loss_obj = loss_obj.for_targets(ya)
    weights = None if sample_weight is None else check_sample_weight(sample_weight, len(ya))
    bound = m.with_outputs(loss_obj.n_outputs).bind(
        Xa, feature_names=names, y=ya, weights=weights, scale_target=loss_obj.numeric_targets
    )
    check_design(Xa, bound.n_params, names)
    return DataObjective(bound, loss_obj, bound.design(Xa), ya, weights)


def _round32(X: Array) -> Array:
    """X's values rounded to float32, kept in float64 (in place: X is already a copy)."""
    X[...] = X.astype(np.float32)
    return X


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

    X is never copied for a :class:`~descend.problems.models.Linear` model: one blocked pass
    (:func:`descend.problems.stats.moments`) gives the scaling, the Gram matrix and, for the squared
    error, the whole least-squares problem. Other models get the plain :class:`DataObjective`
    on ``model.design(X)``.
    """

    loss_obj = get_loss(loss).for_targets(y)
    if fast == "auto":
        fast = X.size >= SMALL
    if not fast or not model.is_linear or loss_obj.n_outputs != 1 or model.keeps_binding:
        bound = model.with_outputs(loss_obj.n_outputs).bind(
            X, feature_names=feature_names, y=y, scale_target=loss_obj.numeric_targets
        )
        return DataObjective(bound, loss_obj, bound.design(X), y)
    obj = FastDataObjective.build(model, loss_obj, X, y, feature_names)
    obj.model.bind_target_mean(obj.moments.ymean)  # ȳ from the statistics: no pass over y
    return obj
