"""The figures, tables and verdicts quoted in README.md and docs/ are what the code prints now.

scripts/docs.py regenerates every quoted block; here the cheap ones are regenerated and
compared with the files (timings masked).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _docs_script():
    spec = importlib.util.spec_from_file_location("docs_script", ROOT / "scripts" / "docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_script"] = module
    spec.loader.exec_module(module)
    return module


DOCS = _docs_script()


@pytest.mark.parametrize("name", [n for n, b in DOCS.BLOCKS.items() if b.cheap])
def test_quoted_block_is_current(name):
    """Regenerate the block and compare it with the file (run scripts/docs.py if this fails)."""
    assert DOCS.masked(DOCS.BLOCKS[name].make()) == DOCS.masked(DOCS.current(name))
