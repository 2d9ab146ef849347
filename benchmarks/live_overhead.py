"""Overhead of ``ds.fit(..., live=True)`` and of the CLI's progress callback.

Times the same fit (NIST Longley, plain GD at lr 0.2, no preconditioner, 20,000 steps, tol 0
so that every run takes all its steps) plain, with ``live=True`` in terminal mode (the rationed
tqdm redraws; the bar is drawn only when stderr is a terminal), with ``live=True`` in notebook
mode (a stand-in display handle that renders the HTML it is sent, as Jupyter would), and with
the CLI's ``Progress`` callback. Runs are interleaved; reports the best of ``--repeats`` (the
least disturbed by other work on the machine).

Usage: python benchmarks/live_overhead.py [--repeats 5] [--steps 20000]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from typing import Any

import descend as ds
from descend.descent import live
from descend.shells.cli.progress import Progress


class _Handle:
    """Stands in for IPython's display handle: renders the HTML it is given."""

    def update(self, obj: Any) -> None:
        obj._repr_html_()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20_000)
    args = ap.parse_args()
    times = measure(args.repeats, args.steps)
    base = times["plain"]
    spread = times.pop("plain spread")
    print(f"Longley, gd, {args.steps} steps, best of {args.repeats} (plain: median − best "
          f"= {100 * spread:.1f} %):")  # fmt: skip
    for name, med in times.items():
        print(f"  {name:<16} {med:7.3f} s  overhead {100 * (med / base - 1):+5.1f} %")
    return 0


def measure(repeats: int = 5, steps: int = 20_000) -> dict[str, float]:
    """Best-of-``repeats`` seconds of each case (plain, live (terminal), live (notebook), CLI
    progress), and ``"plain spread"``: how far the plain runs' median lies above their best."""
    d = ds.datasets.load("longley")
    kw: dict[str, Any] = dict(optimizer="gd", learning_rate=0.2, max_steps=steps, tol=0.0,
                              seed=0, warn=False, preconditioner="none")  # fmt: skip

    def plain() -> None:
        ds.fit(d.X, d.y, **kw)

    def terminal() -> None:
        ds.fit(d.X, d.y, live=True, **kw)

    def progress() -> None:
        ds.fit(d.X, d.y, callback=Progress(steps, "fit", stream=io.StringIO()), **kw)

    def notebook() -> None:
        orig = live.in_notebook
        live.in_notebook = lambda: False  # type: ignore[assignment]
        orig_init = live.LiveView.__init__

        def init(self: Any, *a: Any, **k: Any) -> None:
            orig_init(self, *a, **k)
            self.bar, self.handle = None, _Handle()

        live.LiveView.__init__ = init  # type: ignore[method-assign]
        try:
            ds.fit(d.X, d.y, live=True, **kw)
        finally:
            live.LiveView.__init__ = orig_init  # type: ignore[method-assign]
            live.in_notebook = orig  # type: ignore[assignment]

    cases = {"plain": plain, "live (terminal)": terminal, "live (notebook)": notebook,
             "CLI progress": progress}  # fmt: skip
    for f in cases.values():
        f()  # warm up imports
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, f in cases.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    out = {name: min(ts) for name, ts in times.items()}
    out["plain spread"] = statistics.median(times["plain"]) / min(times["plain"]) - 1
    return out


if __name__ == "__main__":
    raise SystemExit(main())
