"""descend: fit models by minimising a loss with gradient descent — correctly, fast, visibly.

>>> import descend as ds
>>> res = ds.fit([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0], learning_rate="auto")
>>> round(res.intercept, 6), round(float(res.coef[0]), 6)
(1.0, 2.0)

The package is organised by part (see ``docs/architecture.md``): :mod:`descend.data`,
:mod:`descend.problems`, :mod:`descend.descent`, :mod:`descend.studies`,
:mod:`descend.pictures` and :mod:`descend.shells`. This module re-exports the public API.
Studies (comparisons, sweeps, certification, landscapes) and pictures (``ds.plot``,
``ds.animate``, ``ds.report``) load on first use, so ``import descend`` needs NumPy only.
"""

from __future__ import annotations

import importlib
from typing import Any

from descend.data import datasets
from descend.data.tables import DataError, DataWarning
from descend.descent import optim, schedules
from descend.descent.checkpoint import Checkpoint, load_checkpoint
from descend.descent.fit import fit
from descend.descent.history import History
from descend.descent.minimize import minimize
from descend.descent.rates import DescendWarning
from descend.descent.result import FitResult
from descend.descent.resume import resume
from descend.descent.session import Session
from descend.problems import curvature, features, losses, models, precondition, surfaces
from descend.problems.curvature import Advice, CriticalPoint, advise, classify
from descend.problems.fastfit import objective
from descend.problems.losses import MAE, MSE, Huber, LogLoss, Softmax
from descend.problems.models import MLP, Linear, Model, Polynomial, get_model
from descend.problems.objective import DataObjective, Objective
from descend.problems.precondition import Conditioning, conditioning
from descend.problems.reference import Reference, check_grad, least_squares
from descend.problems.sharpness import Sharpness, sharpness

__version__ = "0.1.0"

#: names loaded on first use: ``name -> (module, attribute or None for the module itself)``
_LAZY: dict[str, tuple[str, str | None]] = {
    "certify": ("descend.studies.certify", None),
    "landscape": ("descend.studies.landscape", None),
    "sweep": ("descend.studies.sweep", None),
    "compare": ("descend.studies.compare", "compare"),
    "Comparison": ("descend.studies.compare", "Comparison"),
    "lr_sweep": ("descend.studies.sweep", "lr_sweep"),
    "LRSweep": ("descend.studies.sweep", "LRSweep"),
    "goe_positive_definite_fraction": (
        "descend.studies.landscape",
        "goe_positive_definite_fraction",
    ),
    "landscape_grid": ("descend.studies.landscape", "landscape_grid"),
    "edge_of_stability": ("descend.studies.landscape", "edge_of_stability"),
    "multistart": ("descend.studies.landscape", "multistart"),
    "saddle_study": ("descend.studies.landscape", "saddle_study"),
    "plot": ("descend.pictures.plot", None),
    "animate": ("descend.pictures.animate", None),
    "report": ("descend.pictures.report", None),
}


def __getattr__(name: str) -> Any:
    """Load a study or picture module the first time its name is used (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'descend' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Advice",
    "advise",
    "certify",
    "check_grad",
    "Checkpoint",
    "classify",
    "compare",
    "Comparison",
    "conditioning",
    "Conditioning",
    "CriticalPoint",
    "curvature",
    "DataError",
    "DataObjective",
    "DataWarning",
    "datasets",
    "DescendWarning",
    "edge_of_stability",
    "features",
    "fit",
    "FitResult",
    "get_model",
    "goe_positive_definite_fraction",
    "History",
    "Huber",
    "landscape",
    "landscape_grid",
    "least_squares",
    "Linear",
    "load_checkpoint",
    "LogLoss",
    "Softmax",
    "losses",
    "lr_sweep",
    "LRSweep",
    "MAE",
    "minimize",
    "MLP",
    "Model",
    "models",
    "MSE",
    "multistart",
    "objective",
    "Objective",
    "optim",
    "Polynomial",
    "precondition",
    "Reference",
    "resume",
    "Session",
    "saddle_study",
    "schedules",
    "sharpness",
    "Sharpness",
    "surfaces",
    "sweep",
]
