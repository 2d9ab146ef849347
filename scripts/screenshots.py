"""Screenshot the notebook displays into docs/figures/rich_display.png (headless Chromium).

Builds one HTML page from the objects' own ``_repr_html_`` — a FitResult on NIST Norris, its
certificate and a learning-rate sweep, as Jupyter shows them — and photographs it.

Usage: python scripts/screenshots.py [--chromium PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import descend as ds

ROOT = Path(__file__).resolve().parents[1]


def page() -> str:
    """The HTML page: the displays one after another, as notebook output cells."""
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, seed=0, warn=False)
    sweep = ds.lr_sweep(d.X, d.y, max_steps=300)
    cells = [
        ("res = ds.fit(d.X, d.y, seed=0)", res._repr_html_()),
        ("ds.lr_sweep(d.X, d.y, max_steps=300)", sweep._repr_html_()),
    ]
    body = "".join(
        f'<pre style="background:#f5f5f5;padding:4px">In: {code}</pre>{html}'
        for code, html in cells
    )
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = ap.parse_args()
    out = ROOT / "docs" / "figures" / "rich_display.png"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "page.html"
        src.write_text(page(), encoding="utf-8")
        subprocess.run(
            [args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=820,1250", f"--screenshot={out}", src.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
