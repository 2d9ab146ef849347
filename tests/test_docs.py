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


# -- every README code block runs (issue 17) --------------------------------------------------

#: README commands not run here, each with the reason (a new command must be run or listed)
SKIPPED_COMMANDS = {
    "descend landscape saddles": "minutes of saddle searches (test_landscape.py runs a small one)",
    "descend serve": "a server that runs until stopped; tests/test_web.py drives it",
    "descend landscape edge --plot edge.png": "a minute of training at four rates; "
    "tests/test_edge.py runs a short one",
}

#: exit status the README promises for a command (0 when not listed)
EXPECTED_EXIT = {
    "descend fit --lr 1.5": 3,  # "too large: diverges"
    "descend fit --no-scale --dataset longley": 3,  # "lr 0.01 diverges"
}

#: files the README's commands read, written into the working directory first
FIXTURES = {
    "data.csv": 'area,"area, m2",rooms,price\n'
    + "\n".join(f"{a},{a},{a % 4 + 1},{3 + 2 * a - 0.1 * a * a}" for a in range(1, 21))
    + "\n21,,3,40\n",
}


@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    """Every ```python block of README.md runs, top to bottom in one namespace, as written."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    blocks = DOCS.code_blocks("README.md", "python")
    assert len(blocks) >= 5
    namespace: dict = {"__name__": "__readme__"}
    import warnings

    import matplotlib.pyplot as plt

    for line, code in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102
            except Exception as exc:  # pragma: no cover - the failure message
                pytest.fail(f"README.md block at line {line} failed: {type(exc).__name__}: {exc}")
        plt.close("all")


@pytest.mark.slow
def test_readme_commands_run(tmp_path, monkeypatch, capsys):
    """Every `descend …` command in README.md's ```bash blocks runs with the promised exit
    status (a few long-running ones are listed, with the reason, in SKIPPED_COMMANDS)."""
    import shlex

    from descend.shells.cli import main

    monkeypatch.chdir(tmp_path)
    for name, text in FIXTURES.items():
        (tmp_path / name).write_text(text)
    cmds = DOCS.commands("README.md")
    assert "descend fit" in cmds and "descend fit --lr auto" in cmds
    unlisted = set(SKIPPED_COMMANDS) - set(cmds)
    assert not unlisted, f"SKIPPED_COMMANDS no longer in the README: {unlisted}"
    for cmd in cmds:
        if cmd in SKIPPED_COMMANDS:
            continue
        try:
            code = main(shlex.split(cmd)[1:])
        except SystemExit as exc:  # --help
            code = exc.code
        out, err = capsys.readouterr()
        assert code == EXPECTED_EXIT.get(cmd, 0), f"{cmd!r} exited {code}: {err}"
        assert "Traceback" not in err and out.strip(), cmd


@pytest.mark.parametrize("name", list(DOCS.BLOCKS))
def test_every_block_has_its_markers(name):
    """Slow blocks are not regenerated here, but each one's markers are in its file, so
    ``python scripts/docs.py NAME`` can rewrite it (and it was written: no placeholder)."""
    body = DOCS.current(name)
    assert body.strip() and body.strip() != "(generated)"
