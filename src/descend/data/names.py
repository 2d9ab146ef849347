"""Names a user types: "did you mean", the step limit's aliases, and the optional extras.

Every layer names the step limit once — ``max_steps`` in Python (:func:`descend.fit`,
:func:`descend.minimize`), ``--max-steps`` on the command line, ``max_iter`` in the
scikit-learn estimator (scikit-learn's own name) — and accepts the other spelling as an alias.
A misspelt option or hyperparameter gets the closest valid names (:func:`did_you_mean`), and a
missing optional library one line with the install command (:func:`require`).

>>> did_you_mean("max_step", ["max_steps", "tol", "seed"])
" Did you mean 'max_steps'?"
>>> did_you_mean("zzz", ["max_steps"])
''
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from types import ModuleType
from typing import Any

__all__ = [
    "STEP_LIMIT_ALIASES",
    "MissingExtraError",
    "did_you_mean",
    "install_command",
    "require",
    "step_limit",
]

#: spellings of the step limit accepted beside ``max_steps`` (Python keywords)
STEP_LIMIT_ALIASES = ("max_iter",)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " Did you mean 'x'?" for the closest of ``choices`` (difflib ratio ≥ 0.6), else ''."""
    options = sorted({str(c) for c in choices})
    close = difflib.get_close_matches(str(word), options, n=2, cutoff=0.6)
    if not close:
        # a prefix or alias-style match difflib misses ("iter" → "max_iter")
        close = [c for c in options if str(word).strip("-_") and str(word).strip("-_") in c][:2]
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def step_limit(max_steps: int, options: dict[str, Any], default: int) -> int:
    """The step limit from ``max_steps`` or its alias ``max_iter`` in ``options`` (popped).

    Raises
    ------
    TypeError
        Both spellings given with different values.
    """
    for alias in STEP_LIMIT_ALIASES:
        if alias in options:
            value = options.pop(alias)
            if max_steps != default and max_steps != value:
                raise TypeError(
                    f"max_steps={max_steps!r} and its alias {alias}={value!r} were both given; "
                    "give one."
                )
            max_steps = value
    return max_steps


class MissingExtraError(ImportError):
    """An optional library is missing; the message names the extra and the install command."""


def install_command(extra: str) -> str:
    """The command that installs descend's optional ``extra``."""
    return f'pip install "descend[{extra}]"'


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` with the install command.

    >>> require("numpy", "core", "arrays").__name__
    'numpy'
    >>> require("no_such_module_xyz", "dask", "--dask")
    Traceback (most recent call last):
    ...
    descend.data.names.MissingExtraError: --dask needs no_such_module_xyz, which is not \
installed; install the 'dask' extra: pip install "descend[dask]"
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{purpose} needs {module}, which is not installed; install the {extra!r} extra: "
            f"{install_command(extra)}"
        ) from None
