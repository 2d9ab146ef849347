"""Where a run will write: checked before it starts, so a bad path costs no steps.

:func:`check_output_file` and :func:`check_output_dir` raise one clear :class:`ValueError` for a
path that cannot be written — a file path that is a directory, a folder that does not exist,
a folder without write permission — and write nothing themselves. The checkpoint writer and
the CLI (``--json``, ``--report``, ``--plot``, ``--checkpoint``) call them before the first step.
"""

from __future__ import annotations

import os

__all__ = ["check_output_dir", "check_output_file"]


def _folder_problem(folder: str, what: str) -> str | None:
    if not os.path.exists(folder):
        return f"the folder {folder!r} for {what} does not exist: create it, or choose another path"
    if not os.path.isdir(folder):
        return f"{folder!r} (the folder for {what}) is a file, not a folder"
    if not os.access(folder, os.W_OK):
        return f"cannot write in {folder!r} (for {what}): no permission; choose another folder"
    return None


def check_output_file(path: str | os.PathLike[str], what: str, example: str = "out") -> str:
    """The path as a string, when a file can be written there.

    Parameters
    ----------
    path : str or os.PathLike
        Where the file will go (it may exist: it is replaced).
    what : str
        How the user named it, for the message (e.g. ``"--checkpoint"``, ``"checkpoint"``).
    example : str
        A file name to suggest inside a directory given by mistake.

    Raises
    ------
    ValueError
        The path is a directory, or its folder does not exist or is not writable.
    """
    fname = os.fspath(path)
    if not fname:
        raise ValueError(f"{what}: an empty path; give a file name")
    if os.path.isdir(fname):
        suggestion = os.path.join(fname, example)
        raise ValueError(
            f"{what} {fname!r} is a directory, not a file: give a file name, e.g. {suggestion!r}"
        )
    problem = _folder_problem(os.path.dirname(os.path.abspath(fname)), f"{what} {fname!r}")
    if problem is not None:
        raise ValueError(problem)
    return fname


def check_output_dir(path: str | os.PathLike[str], what: str) -> str:
    """The path as a string, when it is a directory or one can be made there (with its
    missing parents).

    Raises
    ------
    ValueError
        The path, or the nearest part of it that exists, is a file; or that part is not
        writable.
    """
    dname = os.fspath(path)
    if os.path.exists(dname) and not os.path.isdir(dname):
        raise ValueError(
            f"{what} {dname!r} is an existing file; pass a directory name (it is created if "
            "missing)"
        )
    here = os.path.abspath(dname)
    while not os.path.exists(here):
        here = os.path.dirname(here)
    if not os.path.isdir(here):
        raise ValueError(f"{what} {dname!r}: {here!r} is a file, so no folder can be made there")
    if not os.access(here, os.W_OK):
        raise ValueError(f"cannot write in {here!r} ({what} {dname!r}): no permission")
    return dname
