"""``descend compare``: several optimizers on the same data and start."""

from __future__ import annotations

import argparse
from typing import Any

from descend.shells.cli.fit import add_data_arguments, build_model, load_data
from descend.shells.cli.parser import add_step_limit
from descend.shells.cli.progress import add_quiet_argument, for_args

__all__ = ["parse_optimizers", "register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend compare`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "compare",
        help="run several optimizers on the same data and start; print a table",
        description="Run several update rules from the same random start on the same data "
        "and compare steps to a target excess loss over the exact optimum, final loss, time "
        "and divergence. gd/momentum/nesterov use the curvature's best settings unless you "
        "give NAME:lr=…,beta=…",
        epilog="example: descend compare --dataset longley "
        "--optimizers gd,momentum,nesterov,adam:lr=0.05,rmsprop",
    )
    add_data_arguments(p)
    p.add_argument("--model", help="model spec (default: linear, or the dataset's model)")
    p.add_argument("--loss", default="mse", help="loss (default mse)")
    p.add_argument("--no-scale", action="store_true", help="descend on the raw columns")
    p.add_argument(
        "--optimizers",
        default="gd,momentum,nesterov,adagrad,rmsprop,adam",
        help="comma-separated; each NAME or NAME:key=value;key=value (e.g. adam:lr=0.05)",
    )
    add_step_limit(p, 5_000, "step budget per optimizer")
    p.add_argument("--target", type=float, default=1e-6, help="relative excess loss to reach")
    p.add_argument("--batch-size", type=int, help="mini-batch size (default full batch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--preconditioner",
        choices=["none", "diagonal", "qr", "auto"],
        default="none",
        help="none (default): compare the update rules on the problem as given; auto: let "
        "'auto' rates whiten an ill-conditioned least-squares problem, as descend fit --lr auto",
    )
    add_quiet_argument(p)
    p.set_defaults(func=run)


def parse_optimizers(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``"gd,adam:lr=0.05;b1=0.8"`` → ``[("gd", {}), ("adam", {"learning_rate": 0.05, …})]``."""
    out: list[tuple[str, dict[str, Any]]] = []
    for item in text.split(","):
        name, _, rest = item.strip().partition(":")
        if not name:
            continue
        settings: dict[str, Any] = {}
        for pair in filter(None, (s.strip() for s in rest.split(";"))):
            key, eq, value = pair.partition("=")
            if not eq:
                raise ValueError(f"write optimizer settings as key=value, got {pair!r} in {item!r}")
            key = {"lr": "learning_rate", "momentum": "beta"}.get(key.strip(), key.strip())
            try:
                settings[key] = float(value)
            except ValueError:
                raise ValueError(
                    f"setting {key} of {name} must be a number, got {value!r}"
                ) from None
        out.append((name, settings))
    if not out:
        raise ValueError("--optimizers is empty: name at least one, e.g. gd,adam")
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``descend compare`` with the parsed ``args``; return the exit status."""
    from descend.problems.fastfit import objective
    from descend.studies.compare import compare

    X, y, names, default_model, label = load_data(args)
    model = build_model(args, default_model)
    obj = objective(X, y, model=model, loss=args.loss)
    optimizers = parse_optimizers(args.optimizers)
    with for_args(args, len(optimizers), "compare") as progress:
        table = compare(
            obj,
            optimizers,
            max_steps=args.max_steps,
            target=args.target,
            batch_size=args.batch_size,
            seed=args.seed,
            preconditioner=None if args.preconditioner == "auto" else args.preconditioner,
            progress=progress.advance,
        )
    print(
        f"data: {label}, {len(y)} rows; model {obj.model.spec()}, loss {obj.loss.spec()}; "
        f"preconditioner {args.preconditioner}"
    )
    print(table.to_markdown())
    return 0
