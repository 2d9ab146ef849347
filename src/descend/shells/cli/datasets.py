"""``descend datasets``: the embedded reference datasets."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend datasets`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "datasets",
        help="list the embedded datasets (NIST StRD, certified answers)",
        description="List the embedded NIST StRD linear-regression datasets with their model, "
        "size and NIST's level of difficulty. Fit one with 'descend fit --dataset NAME'.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend datasets`` with the parsed ``args``; return the exit status."""
    from descend.data import datasets

    rows = [("name", "model", "rows", "cols", "difficulty", "kind")]
    for name in datasets.names():
        d = datasets.load(name)
        rows.append((name, d.model, str(d.X.shape[0]), str(d.X.shape[1]), d.difficulty, d.kind))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(
        "\nSource: NIST/ITL Statistical Reference Datasets, Linear Least Squares Regression "
        "(public domain)."
    )
    return 0
