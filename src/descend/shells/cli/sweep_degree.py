"""``descend sweep-degree``: κ and plain-descent steps per degree, monomial vs orthogonal."""

from __future__ import annotations

import argparse
import math

from descend.shells.cli.fit import add_data_arguments
from descend.shells.cli.parser import add_step_limit
from descend.shells.cli.progress import add_quiet_argument, for_args

__all__ = ["register", "run"]


EPILOG = """\
For each degree d the model poly:d (x mapped onto [-1, 1], columns standardised) is fitted by
plain gradient descent at the best constant rate, without a preconditioner, until the loss gap
L − L* ≤ tol·L* (L* from QR), or --max-steps steps ('>N' = not reached). κ₂ raw is the condition
number of the raw design [1, x, …, x^d]; κ(H) that of the Hessian descent runs on.

With --validation F the sweep instead fits each degree (Chebyshev basis, lr auto, optionally a
ridge penalty per --alphas) on the rows not held out and prints the training and validation
MSE: the training loss falls with the degree, the validation loss falls and then rises.

examples:
  descend sweep-degree --dataset filip --max-degree 10
  descend sweep-degree --dataset norris --validation 0.3 --alphas 0,1e-3
  descend sweep-degree data.csv --x age --y height --max-degree 12 --bases monomial,legendre
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend sweep-degree`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "sweep-degree",
        help="κ, steps to tolerance and final loss per polynomial degree and basis",
        description="Sweep the polynomial degree and compare plain gradient descent in the "
        "monomial basis with an orthogonal (Chebyshev/Legendre) basis.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(p)
    p.add_argument("--max-degree", type=int, default=12, metavar="D", help="default 12")
    p.add_argument("--min-degree", type=int, default=1, metavar="D", help="default 1")
    p.add_argument(
        "--bases",
        default="monomial,chebyshev",
        help="comma-separated bases (default monomial,chebyshev)",
    )
    p.add_argument(
        "--tol", type=float, default=1e-6, help="relative loss-gap tolerance (default 1e-6)"
    )
    add_step_limit(p, 20_000, "maximum steps per fit")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument(
        "--validation",
        type=float,
        metavar="F",
        help="instead: hold out this share of the rows (seeded by --seed) and print the "
        "training and validation MSE per degree (and per --alphas): overfitting, shown",
    )
    p.add_argument(
        "--alphas",
        default="0",
        help="with --validation: comma-separated ridge α values (default 0: no penalty)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    add_quiet_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend sweep-degree`` with the parsed ``args``; return the exit status."""
    from descend.shells.cli.fit import load_data
    from descend.studies.certify import format_sweep, sweep_degree

    X, y, _names, _model, label = load_data(args)
    if args.validation is not None:
        from descend.studies.sweep import format_validation, validation_curve

        alphas = [float(a) for a in args.alphas.split(",") if a.strip()]
        vrows = validation_curve(
            X,
            y,
            degrees=range(args.min_degree, args.max_degree + 1),
            alphas=alphas,
            validation_fraction=args.validation,
            seed=args.seed,
            max_steps=args.max_steps,
        )
        held = math.ceil(args.validation * len(y))
        print(f"data: {label}, {len(y)} rows; {held} held out for validation (seed {args.seed})")
        print(format_validation(vrows, markdown=args.markdown))
        return 0
    bases = [b.strip() for b in args.bases.split(",") if b.strip()]
    with for_args(args, None, "sweep-degree") as progress:
        rows = sweep_degree(
            X,
            y,
            max_degree=args.max_degree,
            min_degree=args.min_degree,
            bases=bases,
            gap_tol=args.tol,
            max_steps=args.max_steps,
            progress=progress.advance,
        )
    print(f"data: {label}, {len(y)} rows; plain gradient descent, best constant rate")
    print(format_sweep(rows, markdown=args.markdown))
    return 0
