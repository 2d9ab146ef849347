"""``descend certify``: descend's digits on the NIST StRD problems, beside NumPy's."""

from __future__ import annotations

import argparse

from descend.shells.cli.parser import add_step_limit
from descend.shells.cli.progress import add_quiet_argument, for_args

__all__ = ["register", "run"]


EPILOG = """\
LRE (log relative error) = −log10(|estimate − certified| / |certified|), clipped to [0, 15]
(absolute error where the certified value is 0): about the number of correct significant
digits. 'coef LRE' is the minimum over the parameters B0, B1, …; R² is uncentred for NoInt1/2,
as NIST defines it. 'numpy' is np.linalg.lstsq(X, y, rcond=None) on the raw design (a column of
ones and raw powers), measured in the same run. 'steps' counts descent steps (+ steps of
iterative refinement on the correctly rounded residual).

examples:
  descend certify
  descend certify --dataset filip --dataset longley --detail
  descend certify --preconditioner none        # plain descent, to see what whitening buys
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend certify`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "certify",
        help="fit every NIST StRD dataset by gradient descent and print the LRE table",
        description="Fit each embedded NIST StRD linear-regression dataset with its stated "
        "model by gradient descent (--lr auto) and print the correct significant digits (LRE) "
        "of the parameters, residual SD and R² against NIST's certified values, beside NumPy "
        "lstsq's.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--dataset",
        action="append",
        metavar="NAME",
        help="only this dataset (repeatable; default: all 11)",
    )
    p.add_argument(
        "--preconditioner",
        choices=["none", "diagonal", "qr"],
        help="force a preconditioner (default: chosen by --lr auto)",
    )
    add_step_limit(p, 100_000, "maximum descent steps per fit")
    p.add_argument("--detail", action="store_true", help="add the per-parameter LREs")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    add_quiet_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend certify`` with the parsed ``args``; return the exit status."""
    from descend.studies.certify import certify, format_table

    options = {}
    if args.preconditioner:
        options["preconditioner"] = args.preconditioner
    with for_args(args, len(args.dataset) if args.dataset else None, "certify") as progress:
        rows = certify(args.dataset, max_steps=args.max_steps, progress=progress.advance, **options)
    print(format_table(rows, markdown=args.markdown, detail=args.detail))
    return 0
