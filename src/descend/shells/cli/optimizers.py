"""``descend optimizers``: the update rules and schedules, with their defaults."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend optimizers`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "optimizers",
        help="list the update rules and learning-rate schedules with their defaults",
        description="List every update rule (with its equations and default hyperparameters) "
        "and every learning-rate schedule. Choose them with --optimizer and --schedule.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend optimizers`` with the parsed ``args``; return the exit status."""
    from descend.descent import optim, schedules

    print("update rules (θ ← θ + u):")
    for d in optim.describe():
        defaults = ", ".join(f"{k}={v}" for k, v in d["defaults"].items() if v is not None)
        alias = f" (alias {', '.join(d['aliases'])})" if d["aliases"] else ""
        print(f"  {d['name']}{alias}: {d['summary']}")
        print(f"      {d['equations']}")
        print(f"      defaults: {defaults}")
    print("\nlearning-rate schedules (--schedule NAME; defaults scale with --max-steps):")
    for name, spec in schedules.SCHEDULES.items():
        print(f"  {name}: {spec.summary}")
        print(f"      {spec.formula}")
    print("\n--lr auto picks the curvature's best rate for gd, momentum and nesterov;")
    print("--lr armijo chooses each step by backtracking line search (full batch only).")
    return 0
