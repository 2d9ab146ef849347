"""Checkpoints: save a running fit, and resume it to the very same iterates.

``ds.fit(X, y, ..., checkpoint="run.ckpt", checkpoint_every=1000)`` writes the loop's complete
state (θ, optimizer state, history, counters, the mini-batch sampler's random state) to a file
every 1000 steps, when the run stops at ``max_steps``, and when it is interrupted (SIGINT or
SIGTERM while it runs in the main thread). ``ds.resume("run.ckpt", X, y)`` — or
``descend resume run.ckpt`` — continues it; the iterates are bitwise those of a run that was
never stopped.

The file is JSON (no pickle): arrays as base64 of their little-endian bytes, non-finite floats as
``"NaN"``/``"Infinity"``. It records how the fit was set up (model, loss, optimizer, learning
rate, …), where the data came from when known (a CSV path and columns, or a dataset name) and a
SHA-256 hash of X and y, so that resuming on other data is refused. The history lives beside it
in ``<path>.history``, appended to at each save (:mod:`descend.descent.history_file`), so a save
costs O(steps since the last one), not O(steps so far).

Writes are atomic (a temporary ``<path>.tmp<PID>``, then :func:`os.replace`): a kill while saving
leaves the previous checkpoint. A temporary left by a killed process is removed by the next save
or load in that folder; one left by an error is removed at once. Reading validates the contents,
not only the format: the step count against the history's length and its SHA-256, θ against its
SHA-256, the θ path's end against θ, the sampler's permutation — an edited or inconsistent
checkpoint is refused, saying what does not match.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.samplers import check_state
from descend.descent.history_file import HistoryWriter, history_path, read_history
from descend.descent.loop import LoopState
from descend.descent.outputs import check_output_file
from descend.descent.schedules import to_spec

__all__ = [
    "Checkpointer",
    "Checkpoint",
    "attach",
    "load_checkpoint",
    "data_hash",
    "remove_temporaries",
    "FORMAT",
]

#: the format written: the state in JSON, the history beside it (``<path>.history``)
FORMAT = "descend.descent.checkpoint/2"
#: the first format (the history inside the JSON), still read
FORMAT_1 = "descend.descent.checkpoint/1"
DEFAULT_EVERY = 1000


def data_hash(X: NDArray[Any], y: NDArray[Any]) -> str:
    """SHA-256 of the float64 bytes and shapes of X and y (after validation)."""
    h = hashlib.sha256()
    for a in (X, y):
        arr = np.ascontiguousarray(a, dtype="<f8")
        h.update(repr(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def theta_hash(theta: NDArray[Any]) -> str:
    """SHA-256 of θ's float64 little-endian bytes."""
    return hashlib.sha256(np.ascontiguousarray(theta, dtype="<f8").tobytes()).hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or a platform without signal 0
        return True
    return True


def remove_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Remove ``<path>.tmp<PID>`` files whose process is gone (a kill while saving), and this
    process's own; return the names removed."""
    fname = os.path.abspath(os.fspath(path))
    folder, prefix = os.path.dirname(fname), os.path.basename(fname) + ".tmp"
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        pid = name[len(prefix) :]
        if not (name.startswith(prefix) and pid.isdigit()):
            continue
        if int(pid) == os.getpid() or not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
                removed.append(name)
    return removed


class _Guard:
    """Turns SIGINT/SIGTERM into a request to stop at the next step boundary."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):  # exotic platforms
                self._old[sig] = signal.signal(sig, self._handler)

    def uninstall(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


class Checkpointer:
    """Where and how often :func:`descend.minimize` saves its state.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (written atomically).
    every : int, optional
        Save every this many steps (default 1000 when ``seconds`` is not given either).
    seconds : float, optional
        Save when this many seconds have passed since the last save.
    meta : dict, optional
        What :func:`descend.fit` knows (model, loss, settings, data hash and source), needed by
        :func:`resume`.

    Raises
    ------
    ValueError
        ``path`` (or ``<path>.history``) is a directory, or its folder does not exist or is not
        writable: said before the run starts, and nothing is written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int | None = None,
        seconds: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = check_output_file(path, "checkpoint", "run.ckpt")
        check_output_file(history_path(self.path), "checkpoint history", "run.ckpt")
        remove_temporaries(self.path)
        self._history: HistoryWriter | None = None
        self.every: int | None = None
        self.seconds: float | None = None
        self.meta = meta or {}
        self.configure(every=every, seconds=seconds)
        self.last_save = time.monotonic()
        self.saved_step: int | None = None
        self._guard: _Guard | None = None

    def configure(self, every: int | None = None, seconds: float | None = None) -> None:
        """Set the saving frequency (validated); None keeps the current one."""
        if every is not None:
            if isinstance(every, bool) or not isinstance(every, int | np.integer) or every < 1:
                raise ValueError(f"checkpoint_every must be a whole number ≥ 1, got {every!r}")
            self.every = int(every)
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise ValueError(f"checkpoint_seconds must be a number > 0, got {seconds!r}")
            self.seconds = float(seconds)
        if self.every is None and self.seconds is None:
            self.every = DEFAULT_EVERY

    def guard(self) -> _Guard:
        """The signal guard for this run (installed by the loop)."""
        self._guard = _Guard()
        return self._guard

    def due(self, k: int) -> bool:
        """Whether to save after step k."""
        if self.every is not None and k % self.every == 0:
            return True
        return self.seconds is not None and time.monotonic() - self.last_save >= self.seconds

    def _on_disk(self) -> dict[str, Any] | None:
        """The history reference of the checkpoint now at the path (a resumed run's), if any."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh)
            ref = doc["state"]["history"] if doc.get("format") == FORMAT else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return ref if isinstance(ref, dict) else None

    def save(self, state: LoopState, status: str) -> None:
        """Append the new history rows, then write the state (atomically) with the fit's
        metadata. Cost: O(steps since the last save) plus the state's size."""
        from descend import __version__

        previous = None
        if self._history is None:
            self._history = HistoryWriter(history_path(self.path))
            previous = self._on_disk()
        state_doc = state.to_dict(history=False)
        state_doc["history"] = self._history.append(state.recorder, previous)
        doc = {
            "format": FORMAT,
            "status": status,
            "step": int(state.k),
            "saved_at": time.time(),
            "versions": {
                "descend": __version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
            },
            **self.meta,
            "theta_sha256": theta_hash(state.theta),
            "state": state_doc,
        }
        tmp = f"{self.path}.tmp{os.getpid()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, allow_nan=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:  # an error or a second Ctrl-C while writing: leave no temporary
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.last_save = time.monotonic()
        self.saved_step = int(state.k)

    def finish(self, snapshot: Callable[[], LoopState], stop_reason: str, at_boundary: bool) -> str:
        """Save the final state when it can be resumed; return a sentence for the message."""
        if stop_reason in ("interrupted", "max_steps") and at_boundary:
            state = snapshot()
            self.save(state, stop_reason)
            if stop_reason == "max_steps":  # resuming to the same limit would do nothing
                more = 2 * int(state.k)
                return (
                    f"; state saved to {self.path} at step {state.k} (continue past the limit "
                    f"with ds.resume({self.path!r}, X, y, max_steps={more}) or 'descend resume "
                    f"{self.path} --max-steps {more}')"
                )
            return (
                f"; state saved to {self.path} at step {state.k} "
                f"(continue with ds.resume({self.path!r}, X, y) or 'descend resume {self.path}')"
            )
        if stop_reason == "interrupted" and self.saved_step is not None:
            return f"; the last checkpoint ({self.path}) is from step {self.saved_step}"
        return ""


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """A checkpoint file, read back.

    Attributes
    ----------
    path : str
    status : {"running", "interrupted", "max_steps"}
        Why it was written.
    step : int
        Updates made when it was written.
    state : LoopState
        The loop state (pass as ``resume_from=`` to :func:`descend.minimize`).
    config : dict or None
        The fit's settings (None for a checkpoint of a plain :func:`descend.minimize` run).
    data : dict or None
        ``{"sha256", "n_samples", "n_features", "feature_names", "source"}``.
    notes : list of str
        The fit's notes (e.g. what ``learning_rate="auto"`` chose).
    versions : dict
    """

    path: str
    status: str
    step: int
    state: LoopState
    config: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    versions: dict[str, Any] = field(default_factory=dict)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint file written by a fit or minimize with ``checkpoint=path``.

    Besides the format, the contents are checked (see the module's docstring); temporaries
    left beside it by a killed save are removed.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a descend checkpoint; or damaged or edited (what does not match is named).
    """
    fname = os.fspath(path)
    remove_temporaries(fname)
    try:
        with open(fname, encoding="utf-8") as fh:
            doc = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{fname!r} is not a descend checkpoint (not JSON: {exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{fname!r} is not a descend checkpoint (not text)") from None
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no checkpoint at {fname!r}: check the path (a fit writes one with "
            "--checkpoint PATH, or checkpoint=PATH in Python)"
        ) from None
    except IsADirectoryError:
        raise ValueError(
            f"{fname!r} is a directory, not a checkpoint file; pass the file that "
            "--checkpoint wrote"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") not in (FORMAT, FORMAT_1):
        got = doc.get("format") if isinstance(doc, dict) else None
        raise ValueError(f"{fname!r} is not a descend checkpoint (format {got!r}, want {FORMAT})")
    try:
        recorder = None
        if doc["format"] == FORMAT:
            recorder = read_history(fname, doc["state"]["history"])
        state = LoopState.from_dict(doc["state"], recorder=recorder)
        problem = _inconsistency(doc, state)
    except (KeyError, TypeError, ValueError) as exc:
        problem = str(exc) or type(exc).__name__
    if problem is not None:
        raise ValueError(
            f"{fname!r} is a damaged or edited descend checkpoint: {problem}. Resume from an "
            "intact copy, or start the fit again."
        )
    return Checkpoint(
        path=fname,
        status=str(doc.get("status", "running")),
        step=int(doc.get("step", state.k)),
        state=state,
        config=doc.get("config"),
        data=doc.get("data"),
        notes=list(doc.get("notes", [])),
        versions=dict(doc.get("versions", {})),
    )


def _inconsistency(doc: dict[str, Any], state: LoopState) -> str | None:
    """What in a checkpoint contradicts the rest, in words (None: consistent)."""
    rec = state.recorder
    step = int(doc.get("step", state.k))
    if step != state.k:
        return f"it says step {step}, its state step {state.k}"
    if len(rec) != state.k:
        return f"its state is at step {state.k} but its history has {len(rec)} rows"
    steps = rec.columns()[0]
    if not np.array_equal(steps, np.arange(state.k)):
        return "its history's step column is not 0, 1, …, k − 1"
    want = doc.get("theta_sha256")
    if doc["format"] == FORMAT and want != theta_hash(state.theta):
        return "θ does not match its SHA-256"
    if state.best_theta is not None and state.best_theta.shape != state.theta.shape:
        return f"its lowest-loss θ has shape {state.best_theta.shape}, θ {state.theta.shape}"
    params = rec.params
    if params is not None and not np.array_equal(params[-1], state.theta):
        return "the last θ of its θ path is not its θ"
    if state.sampler is not None:
        if (problem := check_state(state.sampler)) is not None:
            return f"its mini-batch sampler state is inconsistent: {problem}"
        n_rows = (doc.get("data") or {}).get("n_samples")
        if "n" in state.sampler and n_rows is not None and int(state.sampler["n"]) != n_rows:
            return f"its sampler draws from {state.sampler['n']} rows, its data have {n_rows}"
    return None


# ---------------------------------------------------------------------------------------------
# fit's side: what a checkpoint must remember
# ---------------------------------------------------------------------------------------------
_NOT_SAVED = {"callback", "checkpoint", "checkpoint_every", "checkpoint_seconds", "resume_from"}


def _jsonable(x: Any) -> bool:
    try:
        json.dumps(x, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def attach(
    options: dict[str, Any],
    *,
    X: Any,
    y: Any,
    data_sha256: str | None = None,
    model: Any,
    loss: Any,
    optimizer: Any,
    learning_rate: Any,
    batch_size: int | None,
    max_steps: int,
    tol: float,
    seed: int | None,
    notes: list[str],
    preconditioner: str | None = None,
    preconditioner_reason: str | None = None,
    refine: Any = "auto",
    extra: dict[str, Any] | None = None,
) -> None:
    """Turn ``options["checkpoint"]`` (a path) into a :class:`Checkpointer` carrying what
    :func:`resume` needs; pops ``checkpoint_data`` (where the data lives). No-op without one.

    ``data_sha256``: the data's fingerprint when the objective computed one (Dask, per chunk on
    the workers); else :func:`data_hash` of X and y (NumPy arrays, shape (n, d) and (n,))."""
    assert y is not None
    source = options.pop("checkpoint_data", None)
    notes = list(options.pop("checkpoint_notes", None) or notes)
    path = options.get("checkpoint")
    if path is None or isinstance(path, Checkpointer):
        return
    if isinstance(learning_rate, int | float) and not isinstance(learning_rate, bool):
        lr: Any = float(learning_rate)
    elif isinstance(learning_rate, str):
        lr = learning_rate
    elif (spec := to_spec(learning_rate)) is not None:
        lr = {"schedule": spec}
    else:
        lr = {"custom": repr(learning_rate)}
    opt = optimizer if isinstance(optimizer, str) else {"custom": optimizer.name}
    saved = {k: v for k, v in {**options, **(extra or {})}.items() if k not in _NOT_SAVED}
    unsaved = sorted(k for k, v in saved.items() if not _jsonable(v))
    config = {
        "model": model.spec(),
        "model_scale": model.scale,
        "loss": loss.spec(),
        "optimizer": opt,
        "learning_rate": lr,
        "batch_size": batch_size,
        "max_steps": int(max_steps),
        "tol": float(tol),
        "seed": seed,
        "preconditioner": preconditioner,
        "preconditioner_reason": preconditioner_reason,
        "refine": refine,
        "options": {k: v for k, v in saved.items() if k not in unsaved},
        "unsaved_options": unsaved,
    }
    meta = {
        "config": config,
        "data": {
            "sha256": data_hash(X, y) if data_sha256 is None else data_sha256,
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "feature_names": list(model.feature_names or []),
            "source": source,
        },
        "notes": list(notes),
    }
    options["checkpoint"] = Checkpointer(
        path,
        every=options.pop("checkpoint_every", None),
        seconds=options.pop("checkpoint_seconds", None),
        meta=meta,
    )
