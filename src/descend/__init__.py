"""descend: fit models by minimising a loss with gradient descent — correctly, fast, visibly.

>>> import descend as ds
>>> res = ds.fit([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0], learning_rate="auto")
>>> round(res.intercept, 6), round(float(res.coef[0]), 6)
(1.0, 2.0)
"""

from __future__ import annotations

from . import curvature, datasets, losses, optim, schedules, sweep
from .compare import Comparison, compare
from .curvature import Advice, advise
from .history import History
from .landscape import landscape_grid
from .losses import MAE, MSE, Huber, LogLoss
from .models import Linear, Model, Polynomial, get_model
from .objective import DataObjective, Objective, objective
from .reference import Reference, check_grad, least_squares
from .sweep import LRSweep, lr_sweep
from .train import DescendWarning, FitResult, fit, minimize

__version__ = "0.1.0"

__all__ = [
    "Advice",
    "Comparison",
    "DataObjective",
    "DescendWarning",
    "FitResult",
    "History",
    "Huber",
    "LRSweep",
    "Linear",
    "LogLoss",
    "MAE",
    "MSE",
    "Model",
    "Objective",
    "Polynomial",
    "Reference",
    "advise",
    "check_grad",
    "compare",
    "curvature",
    "datasets",
    "fit",
    "get_model",
    "landscape_grid",
    "least_squares",
    "losses",
    "lr_sweep",
    "minimize",
    "objective",
    "optim",
    "schedules",
    "sweep",
]
