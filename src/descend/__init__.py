"""descend: fit models by minimising a loss with gradient descent — correctly, fast, visibly.

>>> import descend as ds
>>> res = ds.fit([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0], learning_rate="auto")
>>> round(res.intercept, 6), round(float(res.coef[0]), 6)
(1.0, 2.0)
"""

from __future__ import annotations

from . import (
    certify,
    curvature,
    datasets,
    landscape,
    losses,
    optim,
    precondition,
    schedules,
    surfaces,
    sweep,
)
from .checkpoint import Checkpoint, load_checkpoint, resume
from .compare import Comparison, compare
from .curvature import Advice, CriticalPoint, advise, classify
from .data import DataError, DataWarning
from .history import History
from .landscape import (
    goe_positive_definite_fraction,
    landscape_grid,
    multistart,
    saddle_study,
)
from .losses import MAE, MSE, Huber, LogLoss
from .models import MLP, Linear, Model, Polynomial, get_model
from .objective import DataObjective, Objective, objective
from .precondition import Conditioning, conditioning
from .reference import Reference, check_grad, least_squares
from .session import Session
from .sweep import LRSweep, lr_sweep
from .train import DescendWarning, FitResult, fit, minimize

__version__ = "0.1.0"

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
    "losses",
    "lr_sweep",
    "LRSweep",
    "MAE",
    "minimize",
    "MLP",
    "Model",
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
    "surfaces",
    "sweep",
]
