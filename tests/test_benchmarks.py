"""The benchmark suite runs end to end (quick mode, tiny sizes; timings are not asserted)."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")


def test_quick_benchmark_smoke(tmp_path):
    """``python -m benchmarks.run --quick`` writes a Markdown table and JSON."""
    from benchmarks.run import run

    res = run(quick=True, scale=0.25, out=tmp_path)
    assert res["problems"] and res["huber"]["descend_step"] > 0
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".md"]
