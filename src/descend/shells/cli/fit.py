"""``descend fit``: gradient descent on a CSV file or an embedded dataset."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

from descend.data.names import require
from descend.data.tables import CSV_MAX_BYTES
from descend.shells.cli import signals
from descend.shells.cli.figures import add_figure_arguments, write_figures
from descend.shells.cli.parser import add_step_limit, output_file

__all__ = [
    "add_checkpoint_arguments",
    "add_data_arguments",
    "add_scheduler_arguments",
    "add_training_arguments",
    "build_model",
    "checkpoint_kwargs",
    "data_source",
    "finish",
    "load_data",
    "optimizer_hyperparams",
    "parse_lr",
    "register",
    "run",
    "training_kwargs",
    "add_penalty_arguments",
    "penalty_kwargs",
]


EPILOG = """\
examples:
  descend fit                                   # the embedded default (NIST Norris), lr 0.01
  descend fit --lr auto                         # the curvature's best constant rate
  descend fit data.csv --x area --y price --model poly:3 --lr auto --json run.json
  descend fit --lr 1.5                         # too large: see the divergence explained
  descend fit data.csv --batch-size 32          # mini-batch descent (1 = stochastic)
  descend fit --plot figures --report run.html  # PNG figures and a self-contained HTML report

The loss is the mean over rows: mse = (1/n)·Σ(y − ŷ)². Features are standardised before
descent (--no-scale to see why that matters); parameters are printed in the data's units,
next to the exact least-squares answer.
"""


def parse_lr(text: str) -> float | str:
    """A positive number, 'auto' or 'armijo'."""
    low = text.strip().lower()
    if low in ("auto", "armijo"):
        return low
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"learning rate must be a positive number, 'auto' or 'armijo', got {text!r}"
        ) from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"learning rate must be a positive, finite number, got {text!r}"
        )
    return value


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments that choose the data: a CSV file and its columns, or an embedded dataset."""
    p.add_argument(
        "csv",
        nargs="?",
        help="CSV file with a header row, or .npy/.npz/.parquet/.feather (default: --dataset)",
    )
    p.add_argument(
        "--x",
        action="append",
        metavar="COL",
        help="input column by name; repeat for several (--x a --x 'area, m2'), or "
        "comma-separate names without commas (--x a,b); default: all but y",
    )
    p.add_argument("--y", metavar="COL", help="target column (default: the last column)")
    p.add_argument(
        "--dataset",
        metavar="NAME",
        help="embedded dataset (see 'descend datasets'); default norris when no CSV is given",
    )
    p.add_argument(
        "--dropna",
        action="store_true",
        help="drop rows with empty or NA cells in the chosen columns and say how many "
        "(default: refuse them, naming the cell)",
    )
    p.add_argument(
        "--max-csv-mb",
        type=float,
        default=CSV_MAX_BYTES / 2**20,
        metavar="MB",
        help=f"refuse a CSV file larger than this (default {CSV_MAX_BYTES // 2**20} MiB)",
    )


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    """Model, loss, optimizer and stopping options shared by fit-like commands."""
    p.add_argument(
        "--model",
        help="linear | linear-nointercept | poly:D | mlp:8,8 (default "
        "linear, or the dataset's stated model)",
    )
    p.add_argument("--loss", default="mse", help="mse (default) | mae | huber[:delta] | logloss")
    p.add_argument("--optimizer", default="gd", help="gd (default); see 'descend optimizers'")
    p.add_argument(
        "--lr",
        type=parse_lr,
        default=0.01,
        metavar="LR",
        help="learning rate: a number (default 0.01), 'auto' or 'armijo'",
    )
    p.add_argument("--schedule", help="learning-rate schedule, e.g. cosine, step, exponential")
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="K",
        help="rows per step: omit for full batch, 1 for stochastic",
    )
    add_step_limit(p, 10_000, "maximum number of steps")
    p.add_argument(
        "--tol",
        type=float,
        default=1e-9,
        help="converged (certified) when the bounds on L − L* and ‖θ − θ*‖ are within this "
        "fraction of L and ‖θ‖ (least squares; default 1e-9); see docs/verdicts.md",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for θ₀ and shuffling (default 0)")
    p.add_argument(
        "--preconditioner",
        choices=["none", "diagonal", "qr"],
        help="descend in whitened coordinates (default: chosen by --lr auto when "
        "the Hessian's κ > 100, else none)",
    )
    p.add_argument(
        "--no-scale",
        action="store_true",
        help="descend on the raw columns (no standardisation): slow or divergent",
    )
    g = p.add_argument_group("optimizer settings (see 'descend optimizers' for defaults)")
    for flag, key, text in HYPER_FLAGS:
        g.add_argument(flag, type=float, dest=f"hyper_{key}", metavar="X", help=text)


#: CLI flag → optimizer hyperparameter (``--momentum`` means β for momentum/nesterov and
#: the momentum term for rmsprop)
HYPER_FLAGS = [
    ("--momentum", "momentum", "momentum coefficient β (momentum, nesterov, rmsprop)"),
    ("--beta1", "b1", "Adam's β₁ (default 0.9)"),
    ("--beta2", "b2", "Adam's β₂ (default 0.999)"),
    ("--eps", "eps", "ε added to the denominator (adagrad, rmsprop, adam)"),
    ("--decay", "decay", "RMSprop's averaging constant ρ (default 0.99)"),
    ("--weight-decay", "weight_decay", "AdamW's decoupled weight decay λ"),
    (
        "--clip-norm",
        "clip_norm",
        "scale the gradient by min(1, this / (‖g‖ + 1e-6)), as torch's clip_grad_norm_",
    ),
    ("--clip-value", "clip_value", "clip each gradient entry to ±this value"),
]


def optimizer_hyperparams(args: argparse.Namespace) -> dict[str, float]:
    """The hyperparameters given on the command line, named as the update rule names them."""
    out: dict[str, float] = {}
    for _, key, _ in HYPER_FLAGS:
        value = getattr(args, f"hyper_{key}", None)
        if value is None:
            continue
        if key == "momentum" and args.optimizer.lower() in ("momentum", "nesterov"):
            key = "beta"
        out[key] = value
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend fit`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "fit",
        help="fit a model by gradient descent and print a summary",
        description="Fit a model by gradient descent: θ ← θ − lr·∇L(θ), from random θ₀.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(p)
    add_training_arguments(p)
    p.add_argument(
        "--track-sharpness",
        type=int,
        metavar="N",
        help="measure the sharpness λ_max(∇²L) every N steps (res.history.sharpness; the "
        "summary gives the last value beside 2/lr)",
    )
    add_penalty_arguments(p)
    p.add_argument(
        "--json",
        metavar="PATH",
        type=output_file("run.json"),
        help="write the full result (history too) as JSON",
    )
    p.add_argument(
        "--dask",
        action="store_true",
        help="read DATA lazily with Dask (.npy chunk folder, Parquet, Zarr) and fit "
        "it by chunked passes: for data larger than memory",
    )
    add_scheduler_arguments(p, "with --dask: a dask.distributed scheduler address (default: local)")
    add_checkpoint_arguments(p)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_figure_arguments(p)
    p.set_defaults(func=run)


def add_penalty_arguments(p: argparse.ArgumentParser) -> None:
    """--penalty, --alpha, --l1-ratio and the validation split (scikit-learn's names)."""
    g = p.add_argument_group("penalty (on the coefficients in your units; docs/penalties.md)")
    g.add_argument(
        "--penalty",
        choices=["none", "l2", "l1", "elasticnet"],
        help="add α·(r·‖w‖₁ + ½(1 − r)·‖w‖₂²) to the loss (default none); l1 and elasticnet "
        "take proximal steps (exact zeros) and need --optimizer gd",
    )
    g.add_argument("--alpha", type=float, default=1e-4, help="α ≥ 0 (default 1e-4)")
    g.add_argument(
        "--l1-ratio",
        type=float,
        default=0.15,
        metavar="R",
        help="the L1 share r of elasticnet, in [0, 1] (default 0.15)",
    )

    v = p.add_argument_group("validation (docs/verdicts.md: early_stopped)")
    v.add_argument(
        "--validation-fraction",
        type=float,
        metavar="F",
        help="hold out this share of the rows (seeded by --seed) and record their loss per "
        "step (default: none; 0.1 with --early-stopping)",
    )
    v.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when the validation loss stops improving and keep the best θ on it",
    )
    v.add_argument(
        "--n-iter-no-change",
        type=int,
        default=10,
        metavar="N",
        help="steps (epochs for mini-batches) without a new low before --early-stopping "
        "fires (default 10)",
    )


def penalty_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """fit() keywords for --penalty/--alpha/--l1-ratio and the validation options."""
    out: dict[str, Any] = {}
    if args.penalty not in (None, "none"):
        out.update(penalty=args.penalty, alpha=args.alpha, l1_ratio=args.l1_ratio)
    if args.validation_fraction is not None or args.early_stopping:
        out.update(
            validation_fraction=args.validation_fraction,
            early_stopping=args.early_stopping,
            n_iter_no_change=args.n_iter_no_change,
        )
    return out


def add_scheduler_arguments(p: argparse.ArgumentParser, scheduler_help: str) -> None:
    """``--scheduler ADDRESS`` and ``--connect-timeout S`` (fit and resume)."""
    p.add_argument("--scheduler", metavar="ADDRESS", help=scheduler_help)
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=None,
        metavar="S",
        help="with --scheduler: seconds to wait for the scheduler (default: 5)",
    )


def add_checkpoint_arguments(p: argparse.ArgumentParser) -> None:
    """--checkpoint PATH and how often to write it."""
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        type=output_file("run.ckpt", ".json", ".history"),
        help="save the run's state here (every 1000 steps by default, at --max-steps, and on "
        "Ctrl-C/SIGTERM); continue with 'descend resume PATH'",
    )
    p.add_argument(
        "--checkpoint-every", type=int, metavar="N", help="save the checkpoint every N steps"
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        metavar="S",
        help="save the checkpoint when S seconds have passed since the last save",
    )


def checkpoint_kwargs(args: argparse.Namespace, source: dict[str, Any] | None) -> dict[str, Any]:
    """fit() keywords for --checkpoint (with the data's source, so resume can reload it)."""
    if not args.checkpoint:
        if args.checkpoint_every is not None or args.checkpoint_seconds is not None:
            raise ValueError("--checkpoint-every/--checkpoint-seconds need --checkpoint PATH")
        return {}
    return {
        "checkpoint": args.checkpoint,
        "checkpoint_every": args.checkpoint_every,
        "checkpoint_seconds": args.checkpoint_seconds,
        "checkpoint_data": source,
    }


def data_source(args: argparse.Namespace) -> dict[str, Any]:
    """Where the data came from, as a checkpoint records it."""
    if args.csv:
        import os

        return {"csv": os.path.abspath(args.csv), "x": args.x or None, "y": args.y}
    from descend.data import datasets

    return {"dataset": args.dataset or datasets.DEFAULT}


def finish(
    res: Any,
    args: argparse.Namespace,
    label: str,
    n_rows: int,
    figures: Callable[[], list[str]] | None = None,
) -> int:
    """Write --json (and figures), print the summary, choose the exit status (shared with
    resume)."""
    from descend.descent.serialize import save_result

    json_path = args.json
    if res.stop_reason == "interrupted" and args.checkpoint and not json_path:
        json_path = f"{args.checkpoint}.json"  # the partial result is never lost
    if json_path:
        save_result(res, json_path)
    written = figures() if figures is not None else []
    if not args.quiet:
        print(f"data: {label}, {n_rows} rows")
        print(res.summary())
        if json_path:
            print(f"wrote {json_path}")
        for path in written:
            print(f"wrote {path}")
    if res.stop_reason == "diverged":
        print(f"descend: {res.message}", file=sys.stderr)
        return 3
    if res.stop_reason == "stalled":  # nothing more to gain at these settings: say so
        print(f"descend: {res.message}", file=sys.stderr)
        return 4
    if res.stop_reason == "interrupted" and args.checkpoint:
        print(
            f"descend: interrupted; state saved to {args.checkpoint}, result to {json_path}. "
            f"Continue with: descend resume {args.checkpoint}",
            file=sys.stderr,
        )
        return signals.exit_status(res.message)
    if res.stop_reason == "interrupted":  # Ctrl-C without a checkpoint: what was reached is shown
        by = " (SIGTERM)" if signals.exit_status(res.message) == 143 else ""
        print(f"descend: {res.message}{by}", file=sys.stderr)
        return signals.exit_status(res.message)
    return 0


def load_data(args: argparse.Namespace) -> tuple[Any, Any, list[str], str | None, str]:
    """(X, y, feature names, the dataset's model spec or None, a label for the data)."""
    if args.csv and args.dataset:
        raise ValueError("give a CSV file or --dataset, not both")
    if args.csv:
        import warnings

        from descend.data.files import read_table
        from descend.data.tables import DataWarning

        if not args.max_csv_mb > 0:
            raise ValueError(f"--max-csv-mb must be positive, got {args.max_csv_mb!r}")
        cap = int(args.max_csv_mb * 2**20)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            X, y, names, target = read_table(
                args.csv, x=args.x or None, y=args.y, max_bytes=cap, dropna=args.dropna
            )
        for w in caught:  # e.g. the rows --dropna dropped
            print(f"note: {w.message}", file=sys.stderr)
        return X, y, names, None, f"{args.csv} ({target} ~ {', '.join(names)})"
    if args.x or args.y:
        raise ValueError("--x/--y choose columns of a CSV file: give the file too")
    from descend.data import datasets

    d = datasets.load(args.dataset or datasets.DEFAULT)
    return d.X, d.y, d.feature_names, d.model, f"NIST StRD {d.title}"


def build_model(args: argparse.Namespace, default: str | None) -> Any:
    """The model --model names (else ``default``, else linear), unscaled with --no-scale."""
    from descend.problems.models import get_model

    model = get_model(args.model or default or "linear")
    if args.no_scale:
        if not hasattr(model, "scale"):
            raise ValueError("--no-scale applies to linear and polynomial models")
        model.scale = False
    return model


def training_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`descend.fit` that the training options set."""
    return {
        "loss": args.loss,
        "optimizer": args.optimizer,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
        "max_steps": args.max_steps,
        "tol": args.tol,
        "seed": args.seed,
        "preconditioner": getattr(args, "preconditioner", None),
        **({"schedule": args.schedule} if args.schedule else {}),
        **optimizer_hyperparams(args),
    }


def run(args: argparse.Namespace) -> int:
    """Run ``descend fit`` with the parsed ``args``; return the exit status."""
    if not args.dask:
        if args.scheduler or args.connect_timeout is not None:
            raise ValueError("--scheduler and --connect-timeout need --dask")
        X, y, names, default_model, label = load_data(args)
        return _fit_and_finish(args, X, y, names, default_model, label, {}, data_source(args))
    import os
    import sys

    require("dask.array", "dask", "--dask")  # one line with the install command
    from descend.problems.distributed import CONNECT_TIMEOUT, connect, load

    if not args.csv:
        raise ValueError("--dask needs a data path (.npy folder, Parquet or Zarr)")
    timeout = CONNECT_TIMEOUT if args.connect_timeout is None else args.connect_timeout
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    # connect first, so that every chunk is read by the cluster's workers, never here
    with connect(args.scheduler, timeout=timeout, announce=say):
        X, y, names = load(args.csv, y=args.y)
        label = f"{args.csv} (dask, {X.numblocks[0]} chunks)"
        source = {"dask": os.path.abspath(args.csv), "y": args.y}
        return _fit_and_finish(args, X, y, names, None, label, {}, source, dask=True)


def _fit_and_finish(
    args: argparse.Namespace,
    X: Any,
    y: Any,
    names: list[str] | None,
    default_model: Any,
    label: str,
    extra: dict[str, Any],
    source: dict[str, Any],
    *,
    dask: bool = False,
) -> int:
    import warnings

    from descend.descent.fit import fit
    from descend.descent.rates import DescendWarning
    from descend.shells.cli.progress import Progress

    model = build_model(args, default_model)
    progress = Progress(args.max_steps, "fit", quiet=args.quiet)
    kwargs = {**training_kwargs(args), **penalty_kwargs(args), **extra}
    if getattr(args, "track_sharpness", None) is not None:
        kwargs["track_sharpness"] = args.track_sharpness
    if dask:  # the same display counts the chunks read, then the steps
        kwargs["progress"] = progress.chunks
    with warnings.catch_warnings(), progress:
        warnings.simplefilter("ignore", DescendWarning)  # shown in the summary instead
        res = fit(
            X,
            y,
            model=model,
            feature_names=names,
            callback=progress,
            **kwargs,
            **checkpoint_kwargs(args, source),
        )
    return finish(res, args, label, len(y), lambda: write_figures(args, res, X, y, label))
