"""``descend resume``: continue a checkpointed fit to the iterates it would have reached."""

from __future__ import annotations

import argparse
from typing import Any

from descend.shells.cli.fit import add_checkpoint_arguments, add_scheduler_arguments, finish
from descend.shells.cli.parser import add_step_limit, output_file

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend resume`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "resume",
        help="continue a fit from its --checkpoint file",
        description="Continue a fit saved with 'descend fit --checkpoint PATH' (after Ctrl-C, "
        "SIGTERM, a crash or --max-steps). The data are reloaded from the CSV file or dataset the "
        "checkpoint names and checked against its SHA-256 hash; the iterates are bitwise those "
        "of a run that was never stopped.",
    )
    p.add_argument("path", metavar="CHECKPOINT", help="the checkpoint file")
    p.add_argument("--csv", metavar="PATH", help="read the data from this CSV file instead")
    add_step_limit(p, None, "a new step limit (default: the original one)")
    p.add_argument(
        "--json",
        metavar="PATH",
        type=output_file("run.json"),
        help="write the full result (history too) as JSON",
    )
    add_scheduler_arguments(
        p, "a fit made with --dask: the dask.distributed scheduler to run on (default: local)"
    )
    add_checkpoint_arguments(p)
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend resume`` with the parsed ``args``; return the exit status."""
    import sys

    from descend.descent.checkpoint import load_checkpoint
    from descend.problems.distributed import CONNECT_TIMEOUT, connect

    ck = load_checkpoint(args.path)
    if ck.data is None or ck.config is None:
        raise ValueError(f"{args.path!r} was written by ds.minimize; resume it from Python")
    source: Any = ck.data.get("source")
    dask = bool(source) and "dask" in source
    if not dask and (args.scheduler or args.connect_timeout is not None):
        raise ValueError("--scheduler and --connect-timeout are for fits made with --dask")
    timeout = CONNECT_TIMEOUT if args.connect_timeout is None else args.connect_timeout
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    # a Dask fit: connect first, so that the workers read the chunks
    with connect(args.scheduler if dask else None, timeout=timeout, announce=say):
        return _resume(args, ck, source)


def _resume(args: argparse.Namespace, ck: Any, source: Any) -> int:
    from descend.descent.resume import load_source, resume
    from descend.shells.cli.progress import Progress

    if args.csv:
        source = {**(source or {}), "csv": args.csv}
        source.pop("dataset", None)
        source.pop("dask", None)
    X, y = load_source(source, args.path)
    target = args.checkpoint or args.path
    args.checkpoint = target
    max_steps = args.max_steps if args.max_steps is not None else ck.config["max_steps"]
    progress = Progress(max_steps, "resume", quiet=args.quiet)
    extra: dict[str, Any] = {}
    if args.checkpoint_every is not None or args.checkpoint_seconds is not None:
        extra = {"checkpoint_every": args.checkpoint_every,
                 "checkpoint_seconds": args.checkpoint_seconds}  # fmt: skip
    if source and "dask" in source:  # the same display counts the chunks read, then the steps
        extra["progress"] = progress.chunks
    with progress:
        res = resume(
            args.path, X, y, max_steps=args.max_steps, checkpoint=target, callback=progress, **extra
        )
    label = f"resumed {args.path} from step {ck.step}"
    return finish(res, args, label, len(y))
