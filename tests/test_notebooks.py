"""The lesson's notebooks: stored without outputs, and executed top to bottom by a real kernel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_six_lessons_are_there() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (path.name, cell.id)
        assert not cell.metadata.get("execution"), (path.name, cell.id)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_in_under_a_minute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on any error
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"{path.name} took {elapsed:.0f} s"
    text = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    assert "all exercises check out" in text  # the last cell's checks ran and passed
    # descend's results display as rich HTML tables (a notebook shows tables, not reprs)
    html = [
        out["data"]["text/html"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("output_type") == "execute_result" and "text/html" in out.get("data", {})
    ]
    assert all("<table" in h for h in html if 'class="descend"' in h)
    # a live run leaves its final picture (display_data, updated in place) in the notebook
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "live-status" in out.get("data", {}).get("text/html", ""):
                assert (
                    out["output_type"] == "display_data"
                    and "live-final" in out["data"]["text/html"]
                )
