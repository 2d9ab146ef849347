"""descend: fit models by minimising a loss with gradient descent — correctly, fast, visibly.

>>> import descend as ds
>>> res = ds.fit([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0], learning_rate="auto")
>>> round(res.intercept, 6), round(float(res.coef[0]), 6)
(1.0, 2.0)
"""

from __future__ import annotations

from . import curvature, datasets, losses, optim, schedules
from .curvature import Advice, advise
from .history import History
from .losses import MAE, MSE, Huber, LogLoss
from .models import Linear, Model, Polynomial, get_model
from .objective import DataObjective, Objective, objective
from .reference import Reference, check_grad, least_squares
from .session import Session
from .train import DescendWarning, FitResult, fit, minimize

__version__ = "0.1.0"

__all__ = [
    "Advice",
    "DataObjective",
    "DescendWarning",
    "FitResult",
    "History",
    "Huber",
    "Linear",
    "LogLoss",
    "MAE",
    "MSE",
    "Model",
    "Objective",
    "Polynomial",
    "Reference",
    "Session",
    "advise",
    "check_grad",
    "curvature",
    "datasets",
    "fit",
    "get_model",
    "least_squares",
    "losses",
    "minimize",
    "objective",
    "optim",
    "schedules",
]
