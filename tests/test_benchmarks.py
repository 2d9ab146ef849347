"""The benchmark suite runs end to end (quick mode, tiny sizes; timings are not asserted)."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")


def test_quick_benchmark_smoke(tmp_path):
    """``python -m benchmarks.run --quick`` writes a Markdown table and JSON, and restores the
    thread limits it set."""
    import torch
    from benchmarks.run import run

    before = torch.get_num_threads()
    res = run(quick=True, scale=0.25, out=tmp_path)
    assert torch.get_num_threads() == before
    assert res["problems"] and res["huber"]["descend_step"] > 0
    assert {t["target"] for t in res["targets"]} >= {
        "least-squares time to 1e-6 ≤ 1.5× one X.T@X",
        "mini-batch epoch ≥ 5× faster than the PyTorch loop",
    }
    names = [r["method"] for r in res["problems"][0]["rows"]]
    assert any("float32" in m for m in names) and any("PyTorch" in m for m in names)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".md"]


def test_quick_benchmark_only_least_squares(tmp_path):
    """``--only least-squares`` runs just that family; the report and targets still build."""
    from benchmarks.run import main

    assert main(["--quick", "--only", "least-squares", "--out", str(tmp_path)]) == 0
    md = next(tmp_path.glob("*.md")).read_text()
    assert "## Least squares" in md and "Huber" not in md and "Mini-batch" not in md
    assert "problem families: least-squares" in md
