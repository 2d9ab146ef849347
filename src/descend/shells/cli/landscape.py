"""``descend landscape``: local minima by multi-start, the saddle-point study, the edge of
stability, the GOE check."""

from __future__ import annotations

import argparse
import json
from typing import Any

from descend.shells.cli.parser import add_step_limit, output_file
from descend.shells.cli.progress import add_quiet_argument, for_args
from descend.studies.landscape import (
    edge_of_stability,
    goe_positive_definite_fraction,
    multistart,
    saddle_study,
    tiny_network_objective,
)

__all__ = ["add_landscape_arguments", "register", "run_landscape"]


#: a --json FILE that can be written (checked while parsing)
_JSON = output_file("landscape.json")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend landscape`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "landscape",
        help="non-convex landscapes: multistart, saddle-point study, edge of stability, "
        "random-matrix check",
        description="Measure the lesson's claims about non-convex losses: with few parameters "
        "descent ends in different local minima (multistart); in networks, critical points "
        "are mostly saddles (saddles); and a random symmetric matrix is rarely positive "
        "definite (goe).",
    )
    add_landscape_arguments(p)
    p.set_defaults(func=run_landscape)


def _rate_list(text: str) -> list[float]:
    try:
        rates = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        rates = []
    if not rates or not all(r > 0 and r < float("inf") for r in rates):
        raise argparse.ArgumentTypeError(
            f"expected positive learning rates like 0.1,0.2,0.4; got {text!r}"
        )
    return rates


def _int_list(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers like 2,4,8; got {text!r}"
        ) from None


def add_landscape_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``saddles`` / ``multistart`` / ``edge`` / ``goe`` sub-commands to ``parser``."""
    sub = parser.add_subparsers(dest="landscape_command", metavar="WHAT", required=True)
    s = sub.add_parser("saddles", help="critical points of growing networks: index vs loss")
    s.add_argument(
        "--sizes",
        type=_int_list,
        default=[2, 4, 8, 16, 32],
        help="hidden-layer widths, one network each (default 2,4,8,16,32)",
    )
    s.add_argument("--points", type=int, default=6, help="descent runs per size (default 6)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--samples", type=int, default=200, help="rows of the regression task")
    s.add_argument("--gtol", type=float, default=1e-8, help="a point is critical when ‖∇L‖ ≤ this")
    s.add_argument(
        "--random",
        type=int,
        default=0,
        help="extra Newton-MR searches per size from random points (default 0)",
    )
    s.add_argument(
        "--path",
        type=int,
        default=0,
        help="Newton-MR searches per descent run from steps spaced geometrically along it "
        "(default 0)",
    )
    s.add_argument(
        "--plateaus",
        type=int,
        default=5,
        help="Newton-MR searches per descent run from step 0 and its plateaus (default 5)",
    )
    s.add_argument(
        "--max-iter", type=int, default=100, help="iterations of each search (default 100)"
    )
    s.add_argument("--workers", type=int, default=1, help="processes for the searches (default 1)")
    add_quiet_argument(s)
    s.add_argument("--json", metavar="FILE", type=_JSON, help="also write the raw data as JSON")
    m = sub.add_parser("multistart", help="descent from many starts: which minima it finds")
    m.add_argument(
        "--surface",
        default="himmelblau",
        help="a surface name, or tiny-network for the one-hidden-unit network (default himmelblau)",
    )
    m.add_argument("--starts", type=int, default=20)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--optimizer", default="gd")
    m.add_argument("--lr", type=float, default=0.005, help="learning rate (default 0.005)")
    add_step_limit(m, 5000, "maximum steps per start")
    m.add_argument(
        "--cluster-tol",
        type=float,
        default=1e-2,
        help="end points closer than this (in θ) are one point (default 0.01)",
    )
    m.add_argument(
        "--no-polish",
        dest="polish",
        action="store_false",
        help="report descent's end points as they are, without converging them by "
        "saddle-free Newton (they are then usually not critical points)",
    )
    add_quiet_argument(m)
    m.add_argument("--json", metavar="FILE", type=_JSON, help="also write the result as JSON")
    e = sub.add_parser(
        "edge",
        help="the edge of stability: sharpness rises to 2/lr and hovers there (full-batch GD)",
        description="Train a small tanh network by full-batch gradient descent at several "
        "learning rates with the sharpness (the largest Hessian eigenvalue) measured every few "
        "steps, and report where it ends relative to 2/lr (Cohen et al., ICLR 2021).",
    )
    e.add_argument(
        "--lrs",
        type=_rate_list,
        default=[0.05, 0.1, 0.2, 0.4],
        help="learning rates, one run each (default 0.05,0.1,0.2,0.4)",
    )
    e.add_argument(
        "--hidden", type=_int_list, default=[16], help="hidden-layer widths (default 16)"
    )
    e.add_argument("--samples", type=int, default=100, help="rows of the task (default 100)")
    add_step_limit(e, 3000, "steps per run")
    e.add_argument(
        "--every", type=int, default=10, help="measure the sharpness every N steps (default 10)"
    )
    e.add_argument("--seed", type=int, default=0)
    e.add_argument(
        "--optimizer",
        default="gd",
        help="gd (default), or an adaptive rule (adam, rmsprop, adagrad): then the sharpness "
        "of P⁻¹H against its edge, 38/lr for Adam",
    )
    e.add_argument("--plot", metavar="FILE", help="also draw loss and sharpness to FILE (.png)")
    add_quiet_argument(e)
    e.add_argument("--json", metavar="FILE", type=_JSON, help="also write the traces as JSON")
    g = sub.add_parser(
        "goe", help="fraction of random symmetric matrices that are positive definite"
    )
    g.add_argument("--sizes", type=_int_list, default=[1, 2, 3, 4, 5, 6])
    g.add_argument("--samples", type=int, default=100_000)
    g.add_argument("--seed", type=int, default=0)
    add_quiet_argument(g)
    g.add_argument("--json", metavar="FILE", type=_JSON, help="also write the table as JSON")


def run_landscape(args: argparse.Namespace) -> int:
    """Run the sub-command parsed by :func:`add_landscape_arguments`; print; return 0."""
    what = args.landscape_command
    data: dict[str, Any]
    if what == "saddles":
        with for_args(args, None, "landscape saddles") as progress:
            study = saddle_study(
                args.sizes, n_points=args.points, seed=args.seed, n_samples=args.samples,
                gtol=args.gtol, progress=progress.advance, random_starts=args.random,
                max_iter=args.max_iter, path_starts=args.path, snapshots=args.plateaus,
                workers=args.workers,
            )  # fmt: skip
        print(study.table())
        print()
        print(study.binned())
        data = study.to_dict()
    elif what == "multistart":
        from descend.problems import surfaces

        if args.surface == "tiny-network":
            obj: Any = tiny_network_objective()
        else:
            obj = surfaces.get(args.surface)
        with for_args(args, args.starts, "landscape multistart") as progress:
            res = multistart(
                obj,
                n_starts=args.starts,
                seed=args.seed,
                optimizer=args.optimizer,
                learning_rate=args.lr,
                max_steps=args.max_steps,
                cluster_tol=args.cluster_tol,
                polish=args.polish,
                progress=progress.advance,
            )
        print(res.table())
        data = res.to_dict()
    elif what == "edge":
        with for_args(args, len(args.lrs), "landscape edge", "rate") as progress:
            edge = edge_of_stability(
                args.lrs, args.hidden, n_samples=args.samples, max_steps=args.max_steps,
                every=args.every, seed=args.seed, optimizer=args.optimizer,
                progress=progress.advance,
            )  # fmt: skip
        print(edge.describe())
        print()
        print(edge.table())
        if args.plot:
            from descend.pictures.plot import plot_edge_of_stability

            plot_edge_of_stability(edge).savefig(args.plot, dpi=120)
        data = edge.to_dict()
    else:
        with for_args(args, len(args.sizes), "landscape goe", "size") as progress:
            goe = goe_positive_definite_fraction(
                args.sizes, args.samples, args.seed, progress=progress.advance
            )
        print(goe.table())
        data = {"rows": goe.rows, "seed": goe.seed}
    out = getattr(args, "json", None)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, default=float)
    return 0
