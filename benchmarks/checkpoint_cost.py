"""What ``--checkpoint`` costs: ``descend fit`` for 100k and 200k steps with and without it.

``PYTHONPATH=src python -m benchmarks.checkpoint_cost [--src DIR] [--steps 100000,200000]``

Each run is a fresh ``python -m descend fit --no-scale --lr 1e-9 --max-steps N --quiet`` on the
embedded Norris data (a rate far below the best one, so every run goes to N steps), with
``--checkpoint`` (a save every 1000 steps, the default) or without. Reported: wall seconds and
the child's CPU seconds (user + system), and the ratio with/without. A save that rewrote the
whole history made the ratio grow with N (quadratic total cost); an append keeps it near 1.
``--src`` runs another checkout's ``src`` (e.g. the commit before, to compare).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run_once(src: str, steps: int, checkpoint: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``descend fit`` of ``steps`` steps."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "descend", "fit", "--no-scale", "--lr", "1e-9",
               "--max-steps", str(steps), "--quiet"]  # fmt: skip
        if checkpoint:
            cmd += ["--checkpoint", os.path.join(tmp, "run.ckpt")]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=tmp, env={**os.environ, "PYTHONPATH": src}, check=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu


def main(argv: list[str] | None = None) -> None:
    """Print a Markdown table: steps, seconds without and with --checkpoint, ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=SRC, help="the src folder to run (default: this checkout)")
    ap.add_argument("--steps", default="100000,200000")
    args = ap.parse_args(argv)
    print("| steps | without (wall / CPU s) | with --checkpoint (wall / CPU s) | ratio (CPU) |")
    print("|---|---|---|---|")
    for n in (int(s) for s in args.steps.split(",")):
        w0, c0 = run_once(args.src, n, False)
        w1, c1 = run_once(args.src, n, True)
        print(f"| {n:,} | {w0:.1f} / {c0:.1f} | {w1:.1f} / {c1:.1f} | {c1 / c0:.2f} |", flush=True)


if __name__ == "__main__":
    main()
