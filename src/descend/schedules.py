"""Learning-rate schedules (placeholder: constant only; full set on the optim branch)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class constant:  # noqa: N801
    lr: float

    def __call__(self, step: int) -> float:
        return self.lr


def as_schedule(lr: float | Schedule) -> Schedule:
    if callable(lr):
        return lr
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"Invalid learning rate: {lr!r} (must be a positive number)")
    return constant(float(lr))


def get_schedule(name: str, lr: float, *, max_steps: int = 10_000, **kwargs: float) -> Schedule:
    if name == "constant":
        return constant(lr)
    raise ValueError(f"unknown schedule {name!r}")
