"""Update rules (placeholder: gd only; full set on the optim branch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .schedules import Schedule, as_schedule


class Optimizer(NamedTuple):
    init: Callable[[np.ndarray], Any]
    update: Callable[..., tuple[np.ndarray, Any]]
    learning_rate: Schedule
    name: str = "custom"
    hyperparams: Any = None


class GDState(NamedTuple):
    count: int


def gd(learning_rate: float | Schedule = 0.01) -> Optimizer:
    sched = as_schedule(learning_rate)

    def init(theta: np.ndarray) -> GDState:
        return GDState(0)

    def update(g: np.ndarray, state: GDState, theta: np.ndarray | None = None) -> tuple:
        return -sched(state.count) * g, GDState(state.count + 1)

    return Optimizer(init, update, sched, "gd", {})


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {"gd": gd, "sgd": gd}


def get(name: str, learning_rate: Any = None, **hyperparams: Any) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}")
    return OPTIMIZERS[name](**({} if learning_rate is None else {"learning_rate": learning_rate}))


def state_norms(state: Any) -> dict[str, float]:
    return {}
