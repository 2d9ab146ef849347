"""Figure and report options shared by fit-like commands (``--plot DIR``, ``--report FILE``)."""

from __future__ import annotations

import argparse
from typing import Any

from descend.shells.cli.parser import output_dir, output_file

__all__ = ["add_figure_arguments", "needs_matplotlib", "write_figures"]


def add_figure_arguments(p: argparse.ArgumentParser) -> None:
    """``--plot DIR`` and ``--report FILE``."""
    p.add_argument(
        "--plot",
        metavar="DIR",
        type=output_dir,
        help="write fit.png, loss.png, steps.png and contour.png into DIR (needs matplotlib)",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        type=output_file("report.html"),
        help="write a self-contained HTML report of the run (figures embedded, no network)",
    )


def needs_matplotlib() -> None:
    """Turn a missing matplotlib into the CLI's one-line error (a ValueError)."""
    try:
        import matplotlib  # noqa: F401
        import PIL  # noqa: F401
    except ImportError:
        raise ValueError(
            "figures need matplotlib and Pillow: pip install 'descend[plot]'"
        ) from None


def write_figures(
    args: argparse.Namespace, res: Any, X: Any, y: Any, label: str | None = None
) -> list[str]:
    """Write what ``--plot`` and ``--report`` ask for; return the paths written."""
    written: list[str] = []
    if getattr(args, "plot", None):
        needs_matplotlib()
        from descend.pictures.plot import save_figures

        written.extend(str(p) for p in save_figures(res, X, y, args.plot))
    if getattr(args, "report", None):
        needs_matplotlib()
        from descend.pictures.report import write_report

        written.append(str(write_report(res, X, y, args.report, data_label=label)))
    return written
