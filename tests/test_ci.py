"""The suite's own guards: a timeout for every test, and missing tools failing under CI."""

import tomllib
from pathlib import Path

import pytest

from _ci import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_has_a_timeout():
    """pytest-timeout is on for the whole suite (a hung socket cannot hang CI)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    addopts = config["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--timeout=" in addopts
    assert any(
        d.startswith("pytest-timeout") for d in config["project"]["optional-dependencies"]["test"]
    )


def test_missing_tools_fail_under_ci_and_skip_otherwise(monkeypatch):
    """CI=true turns a missing Chromium/ffmpeg into a failure; locally it is a skip."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but ffmpeg"):
        skip_or_fail("ffmpeg is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("ffmpeg is not installed")


def test_bare_pytest_finds_the_benchmarks_package():
    """`pytest` without `python -m` puts the repository root on sys.path (pythonpath = ".")."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "." in config["tool"]["pytest"]["ini_options"]["pythonpath"]
