"""``descend animate``: the descent as a GIF (or MP4 where ffmpeg exists)."""

from __future__ import annotations

import argparse
import sys

from descend.shells.cli.figures import needs_matplotlib
from descend.shells.cli.fit import (
    add_data_arguments,
    add_training_arguments,
    build_model,
    load_data,
    training_kwargs,
)
from descend.shells.cli.parser import output_file
from descend.shells.cli.progress import add_quiet_argument, for_args

__all__ = ["positive_int", "register", "run"]


EPILOG = """\
examples:
  descend animate --out descent.gif             # Norris, lr 0.01: the path and the line move
  descend animate --lr 0.9 --out overshoot.gif  # near the stability limit: it zig-zags
  descend animate data.csv --model poly:3 --lr auto --out poly.gif --frames 40 --fps 10

Frames are spread evenly over the steps (min(frames, steps + 1) of them). MP4 needs ffmpeg.
"""


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (an argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend animate`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "animate",
        help="fit, then write the descent as an animated GIF (or MP4)",
        description="Fit by gradient descent and animate it: the path growing on the loss "
        "contours, the fitted line moving over the data.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(p)
    add_training_arguments(p)
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        type=output_file("descent.gif"),
        help="output .gif (or .mp4)",
    )
    p.add_argument("--frames", type=positive_int, default=60, help="most frames (default 60)")
    p.add_argument("--fps", type=positive_int, default=15, help="frames per second (default 15)")
    add_quiet_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend animate`` with the parsed ``args``; return the exit status."""
    import warnings

    from descend.descent.fit import fit
    from descend.descent.rates import DescendWarning

    needs_matplotlib()
    if not args.out.lower().endswith((".gif", ".mp4")):
        raise ValueError(f"--out must end in .gif or .mp4, got {args.out!r}")
    from descend.pictures.animate import animate, can_write_mp4, frame_steps

    if args.out.lower().endswith(".mp4") and not can_write_mp4():
        raise ValueError("writing MP4 needs ffmpeg, which is not installed here; use --out x.gif")
    X, y, names, default_model, label = load_data(args)
    model = build_model(args, default_model)
    with (
        warnings.catch_warnings(),
        for_args(args, args.max_steps, "animate (fit)", "step") as progress,
    ):
        warnings.simplefilter("ignore", DescendWarning)
        res = fit(
            X,
            y,
            model=model,
            feature_names=names,
            record_params=True,
            callback=progress,
            **training_kwargs(args),
        )
    with for_args(args, None, "animate", "frame") as frames:
        animate(res, X, y, args.out, frames=args.frames, fps=args.fps, progress=frames.advance)
    count = len(frame_steps(res.n_steps, args.frames))
    print(f"data: {label}, {len(y)} rows · {res.n_steps} steps, {res.stop_reason}")
    print(f"wrote {args.out} ({count} frames at {args.fps} fps)")
    if res.stop_reason == "diverged":
        print(f"descend: {res.message}", file=sys.stderr)
        return 3
    return 0
