"""What a run returns: :class:`FitResult` (the parameters reached, the history, why it stopped).

:func:`descend.minimize` and :func:`descend.fit` build it; plots, reports, the CLI and the JSON
serialiser read it. Linear and polynomial fits also answer in the data's original units
(``.intercept``, ``.coef``, ``.predict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import as_arrays
from descend.descent.history import History
from descend.descent.summary import summary_text
from descend.descent.verdicts import STOP_REASONS as _REASONS
from descend.descent.verdicts import Certificate
from descend.problems.curvature import Advice
from descend.problems.reference import Reference

Array = NDArray[np.float64]

__all__ = ["FitResult", "STOP_REASONS"]

#: why a run stops (:attr:`FitResult.stop_reason`); the meanings: :data:`verdicts.STOP_REASONS`
STOP_REASONS = tuple(_REASONS)


@dataclass
class FitResult:
    """What a run reached, and why it stopped.

    Attributes
    ----------
    params : ndarray, shape (p,)
        Final θ, in the coordinates descent ran in (scaled features for a scaled model).
        After divergence this is the last good θ (the lowest loss seen), not the blown-up one.
    loss : float
        Full-data loss at ``params``.
    history : History
        Per-step record (loss, grad_norm, step_size, lr, optionally θ).
    stop_reason : {"converged", "stationary", "stalled", "max_steps", "diverged", "interrupted", \
            "early_stopped"}
        See :mod:`descend.descent.verdicts`: "converged" is certified, never a guess.
    message : str
        One or two sentences explaining the stop (for divergence: why, and what to change).
    n_steps : int
        Updates made.
    wall_time : float
        Seconds spent in the loop.
    reference : Reference or None
        For least-squares problems, the closed-form optimum (``.intercept .coef .loss``).
    advice : Advice or None
        Curvature-based learning-rate advice (λ_max, κ, stability limit).
    settings : dict
        The options the run used (optimizer, learning rate, batch size, …).
    versions : dict
        Versions of descend, NumPy and Python that produced a result loaded from JSON (empty
        for a run made in this process).
    certificate : Certificate or None
        Bounds on L(θ) − L* and ‖θ − θ*‖ at ``params`` where the problem is strongly convex
        with μ known (least squares); None where no certificate exists.
    """

    params: Array
    loss: float
    history: History
    stop_reason: str
    message: str
    n_steps: int
    wall_time: float
    reference: Reference | None = None
    advice: Advice | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    objective: Any = field(default=None, repr=False)
    opt_state: Any = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    certificate: Certificate | None = None

    # -- original units -------------------------------------------------------------------
    def _linear_model(self) -> Any:
        if self.model is None or not self.model.is_linear:
            kind = "this objective" if self.model is None else self.model.spec()
            raise AttributeError(
                f"intercept/coef exist for linear and polynomial models only, not {kind}; "
                "use res.params, res.unpack() or res.predict(X)"
            )
        return self.model

    @property
    def intercept(self) -> Any:
        """b in the data's original units (y ≈ intercept + coef·x); with K outputs (the
        softmax) an array of shape (K,), one intercept per class."""
        b = self._linear_model().to_original(self.params)[0]
        return float(b) if self.model.n_outputs == 1 else np.asarray(b)

    @property
    def coef(self) -> Array:
        """Coefficients in original units, shape (d,) — (K, d) with K outputs, one row per
        class; a polynomial's coef[k−1] multiplies x**k."""
        return np.asarray(self._linear_model().to_original(self.params)[1])

    def predict(self, X: Any) -> Array:
        """Predictions for raw inputs X (original units), shape (n,) — (n, K) with K outputs
        (the softmax's logits)."""
        if self.model is None:
            raise AttributeError("predict() needs a fitted model: this result came from minimize")
        Xa, _, _ = as_arrays(X)
        return np.asarray(self.model.predict(self.params, Xa))

    def unpack(self) -> dict[str, Any]:
        """Named views of θ (``{"m": …, "b": …}``, per-layer weights)."""
        if self.model is None:
            return {f"θ{j}": float(v) for j, v in enumerate(self.params)}
        return dict(self.model.unpack(self.params))

    # -- gap to the reference -------------------------------------------------------------
    @property
    def distance_to_reference(self) -> float | None:
        """‖θ − θ*‖₂ in descent coordinates (None without a reference)."""
        if self.reference is None:
            return None
        return float(np.linalg.norm(self.params - self.reference.params))

    @property
    def loss_gap(self) -> float | None:
        """L(θ) − L(θ*) ≥ 0 (None without a reference)."""
        if self.reference is None:
            return None
        return float(self.loss - self.reference.loss)

    @property
    def converged(self) -> bool:
        """True when the run stopped "converged": certified, with ``certificate`` as evidence."""
        return self.stop_reason == "converged"

    def summary(self) -> str:
        """A readable multi-line summary (what the CLI prints)."""
        return summary_text(self)

    def _repr_html_(self) -> str:
        """Notebook display: the summary as a table, the stop reason and an SVG loss curve."""
        from descend.descent.display import fit_html

        return fit_html(self)

    def _repr_markdown_(self) -> str:
        """Notebook display where HTML is not shown: the summary as Markdown tables."""
        from descend.descent.display import fit_markdown

        return fit_markdown(self)
