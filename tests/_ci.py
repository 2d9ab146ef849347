"""Missing tools skip a test on a developer's machine but fail it under CI (``CI=true``)."""

import os

import pytest


def on_ci() -> bool:
    """Whether the suite runs under CI (the ``CI`` environment variable is true)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` locally; under CI a missing tool is a failure, not a skip."""
    if on_ci():
        pytest.fail(f"CI=true but {reason}: install it (scripts/test.sh does)")
    pytest.skip(reason)
