"""``descend sweep-lr``: the same run at many learning rates, around the stability limit."""

from __future__ import annotations

import argparse
import math

from descend.shells.cli.figures import needs_matplotlib
from descend.shells.cli.fit import (
    add_data_arguments,
    add_training_arguments,
    build_model,
    load_data,
    optimizer_hyperparams,
)
from descend.shells.cli.parser import output_file
from descend.shells.cli.progress import add_quiet_argument, for_args

__all__ = ["parse_lrs", "register", "run"]


EPILOG = """\
examples:
  descend sweep-lr                              # Norris: a factor-2 grid around 2/λ_max
  descend sweep-lr --lrs 0.01,0.1,0.5,0.9,1.1,2 --plot sweep.png
  descend sweep-lr --no-scale --dataset longley --max-steps 2000

Every run starts from the same θ₀ (--seed). --lr and --schedule are not used: the sweep sets
the rate. Rates below the stability limit 2/λ_max converge (slowly when tiny); rates above it
diverge. Exit status 0 whatever the runs did.
"""


def parse_lrs(text: str) -> list[float]:
    """Comma-separated positive numbers."""
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--lrs takes comma-separated numbers, e.g. 0.01,0.1,1, got {text!r}"
        ) from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"learning rates must be positive numbers, got {text!r}")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend sweep-lr`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "sweep-lr",
        help="run gradient descent at many learning rates and show where it diverges",
        description="Fit the same data once per learning rate, from the same θ₀, and print the "
        "final loss of each run next to the stability limit 2/λ_max.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(p)
    add_training_arguments(p)
    p.add_argument(
        "--lrs",
        type=parse_lrs,
        metavar="LR,LR,…",
        help="learning rates to try (default: 0.9·2^k·(2/λ_max), k = −10…2)",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        type=output_file("sweep.png"),
        help="save the sweep figure (PNG, SVG, PDF)",
    )
    add_quiet_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend sweep-lr`` with the parsed ``args``; return the exit status."""
    from descend.studies.sweep import lr_sweep

    if args.plot:
        needs_matplotlib()
    X, y, names, default_model, label = load_data(args)
    model = build_model(args, default_model)
    with for_args(args, len(args.lrs) if args.lrs else None, "sweep-lr") as progress:
        sweep = lr_sweep(
            X,
            y,
            lrs=args.lrs,
            model=model,
            loss=args.loss,
            max_steps=args.max_steps,
            seed=args.seed,
            optimizer=args.optimizer,
            tol=args.tol,
            batch_size=args.batch_size,
            progress=progress.advance,
            **optimizer_hyperparams(args),
        )
    limit = sweep.advice.stability_limit if sweep.advice is not None else math.nan
    print(
        f"data: {label}, {len(y)} rows · {sweep.settings['model'] if sweep.settings else ''}"
        f" · loss {args.loss} · optimizer {args.optimizer} · at most {args.max_steps} steps"
    )
    if sweep.advice is not None:
        print(f"curvature: {sweep.advice.describe()}")
    if sweep.reference_loss is not None:
        print(f"optimum loss (closed-form least squares): {sweep.reference_loss:.10g}")
    print(f"{'lr':>12}  {'lr/limit':>9}  {'final loss':>16}  {'steps':>6}  result")
    for row in sweep.rows():
        ratio = row["lr"] / limit if math.isfinite(limit) else math.nan
        loss = "—" if row["diverged"] else f"{row['final_loss']:.10g}"
        result = "diverged" if row["diverged"] else row["stop_reason"]
        print(f"{row['lr']:>12.5g}  {ratio:>9.3g}  {loss:>16}  {row['steps']:>6}  {result}")
    if args.plot:
        from descend.pictures.plot import plot_lr_sweep

        plot_lr_sweep(sweep).savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0
