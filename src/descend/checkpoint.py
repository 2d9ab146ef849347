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
SHA-256 hash of X and y, so that resuming on other data is refused. Writes are atomic (a
temporary file, then :func:`os.replace`), so a kill while saving leaves the previous checkpoint.
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

from .loop import LoopState

__all__ = ["Checkpointer", "Checkpoint", "load_checkpoint", "data_hash", "resume", "FORMAT"]

FORMAT = "descend.checkpoint/1"
DEFAULT_EVERY = 1000


def data_hash(X: NDArray[Any], y: NDArray[Any]) -> str:
    """SHA-256 of the float64 bytes and shapes of X and y (after validation)."""
    h = hashlib.sha256()
    for a in (X, y):
        arr = np.ascontiguousarray(a, dtype="<f8")
        h.update(repr(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


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
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int | None = None,
        seconds: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = os.fspath(path)
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

    def save(self, state: LoopState, status: str) -> None:
        """Write the state (atomically) with the fit's metadata."""
        from . import __version__

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
            "state": state.to_dict(),
        }
        tmp = f"{self.path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self.last_save = time.monotonic()
        self.saved_step = int(state.k)

    def finish(self, snapshot: Callable[[], LoopState], stop_reason: str, at_boundary: bool) -> str:
        """Save the final state when it can be resumed; return a sentence for the message."""
        if stop_reason in ("interrupted", "max_steps") and at_boundary:
            state = snapshot()
            self.save(state, stop_reason)
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

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a descend checkpoint, or damaged.
    """
    fname = os.fspath(path)
    try:
        with open(fname, encoding="utf-8") as fh:
            doc = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{fname!r} is not a descend checkpoint (not JSON: {exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{fname!r} is not a descend checkpoint (not text)") from None
    except IsADirectoryError:
        raise ValueError(
            f"{fname!r} is a directory, not a checkpoint file; pass the file that "
            "--checkpoint wrote"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else None
        raise ValueError(f"{fname!r} is not a descend checkpoint (format {got!r}, want {FORMAT})")
    try:
        state = LoopState.from_dict(doc["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{fname!r} is a damaged descend checkpoint: {exc}") from None
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
    X: NDArray[Any],
    y: NDArray[Any] | None,
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
) -> None:
    """Turn ``options["checkpoint"]`` (a path) into a :class:`Checkpointer` carrying what
    :func:`resume` needs; pops ``checkpoint_data`` (where the data lives). No-op without one."""
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
    elif callable(getattr(learning_rate, "to_dict", None)):
        lr = {"schedule": learning_rate.to_dict()}
    else:
        lr = {"custom": repr(learning_rate)}
    opt = optimizer if isinstance(optimizer, str) else {"custom": getattr(optimizer, "name", "?")}
    saved = {k: v for k, v in options.items() if k not in _NOT_SAVED}
    unsaved = sorted(k for k, v in saved.items() if not _jsonable(v))
    config = {
        "model": model.spec(),
        "model_scale": getattr(model, "scale", None),
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
            "sha256": data_hash(X, y),
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "feature_names": list(getattr(model, "feature_names", []) or []),
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


def load_source(source: dict[str, Any] | None, path: str) -> tuple[Any, Any]:
    """Load the data a checkpoint names (a CSV file and columns, or an embedded dataset)."""
    if not source:
        raise ValueError(
            f"the checkpoint {path!r} does not say where its data came from: pass X and y "
            "again, e.g. ds.resume(path, X, y)"
        )
    if "dataset" in source:
        from . import datasets

        d = datasets.load(source["dataset"])
        return d.X, d.y
    if "csv" in source:
        from .data import read_csv

        X, y, _, _ = read_csv(source["csv"], x=source.get("x"), y=source.get("y"))
        return X, y
    raise ValueError(f"unknown data source in the checkpoint {path!r}: {source!r}")


def resume(
    path: str | os.PathLike[str],
    X: Any = None,
    y: Any = None,
    *,
    max_steps: int | None = None,
    checkpoint: Any = "same",
    callback: Any = None,
    optimizer: Any = None,
    learning_rate: Any = None,
    **options: Any,
) -> Any:
    """Continue a fit from its checkpoint, to the same iterates as an uninterrupted run.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint written by ``ds.fit(..., checkpoint=path)``.
    X, y : array-like, optional
        The data the fit ran on. Omit them when the checkpoint names its source (a CSV file or
        an embedded dataset, as the CLI records). Their SHA-256 must match the checkpoint's.
    max_steps : int, optional
        A new step limit (e.g. to continue a run that stopped at ``max_steps``).
    checkpoint : "same", path or None
        Keep saving to the same file (default), to another, or not at all.
    callback : callable, optional
        As in :func:`descend.minimize` (callbacks are not saved).
    optimizer, learning_rate : optional
        Needed only when the run used a ready-made Optimizer or a custom schedule object,
        which a checkpoint cannot store: pass the same ones again.
    **options
        Options that could not be saved (listed in the error message if missing).

    Returns
    -------
    FitResult
        The whole run: history from step 0, ``n_steps`` counting every update.

    Raises
    ------
    ValueError
        Not a fit checkpoint, data that differ from the checkpoint's, or settings that cannot
        be rebuilt.
    """
    from .data import DataError, as_arrays
    from .models import get_model
    from .train import fit

    ck = load_checkpoint(path)
    fname = os.fspath(path)
    if ck.config is None or ck.data is None:
        raise ValueError(
            f"{fname!r} was written by ds.minimize, which does not know the data: continue it "
            "with ds.minimize(objective, theta0, ..., resume_from=ds.load_checkpoint(path).state)"
        )
    cfg = ck.config
    if X is None and y is None:
        X, y = load_source(ck.data.get("source"), fname)
    elif X is None or y is None:
        raise ValueError(
            "give both X and y, or neither (to use the data source the checkpoint names)"
        )
    Xa, ya, _ = as_arrays(X, y)
    assert ya is not None
    digest = data_hash(Xa, ya)
    if digest != ck.data["sha256"]:
        raise DataError(
            f"refusing to resume {fname!r} on other data: the checkpoint was made on "
            f"{ck.data['n_samples']} rows × {ck.data['n_features']} features with SHA-256 "
            f"{ck.data['sha256'][:12]}…, these {Xa.shape[0]} × {Xa.shape[1]} have "
            f"{digest[:12]}…. Pass the same X and y (same rows, same order)."
        )
    missing = [k for k in cfg.get("unsaved_options", []) if k not in options]
    if missing:
        raise ValueError(
            f"the run used options that a checkpoint cannot store ({', '.join(missing)}): "
            "pass them to resume again"
        )
    opt_cfg = cfg["optimizer"]
    if optimizer is None:
        if isinstance(opt_cfg, dict):
            raise ValueError(
                f"the run used a ready-made Optimizer ({opt_cfg['custom']}): pass it again, "
                "resume(path, X, y, optimizer=opt)"
            )
        optimizer = opt_cfg
    lr_cfg = cfg["learning_rate"]
    if learning_rate is None:
        if isinstance(lr_cfg, dict) and "schedule" in lr_cfg:
            from . import schedules

            from_dict = getattr(schedules, "from_dict", None)
            if from_dict is None:  # pragma: no cover - the full schedules module has it
                raise ValueError("this descend cannot rebuild the saved schedule; pass it again")
            learning_rate = from_dict(lr_cfg["schedule"])
        elif isinstance(lr_cfg, dict):
            raise ValueError(
                f"the run used a custom learning-rate object ({lr_cfg['custom']}): pass it "
                "again, resume(path, X, y, learning_rate=...)"
            )
        else:
            learning_rate = lr_cfg
    model = get_model(cfg["model"])
    if cfg.get("model_scale") is not None and hasattr(model, "scale"):
        model.scale = bool(cfg["model_scale"])
    pre = cfg.get("preconditioner")  # the one actually used (a float rate never auto-picks)
    kwargs = {**cfg["options"], **options}
    kwargs.setdefault("refine", cfg.get("refine", "auto"))
    res = fit(
        Xa,
        ya,
        model=model,
        loss=cfg["loss"],
        optimizer=optimizer,
        learning_rate=learning_rate,
        batch_size=cfg["batch_size"],
        max_steps=int(cfg["max_steps"] if max_steps is None else max_steps),
        tol=float(cfg["tol"]),
        seed=cfg["seed"],
        preconditioner=None if pre in (None, "none") else pre,
        warn=False,
        feature_names=ck.data.get("feature_names") or None,
        checkpoint=fname if checkpoint == "same" else checkpoint,
        checkpoint_data=ck.data.get("source"),
        checkpoint_notes=ck.notes,
        callback=callback,
        resume_from=ck.state,
        **kwargs,
    )
    # the run's own notes (refinement) first, then the original fit's (as fit orders them)
    own = [w for w in res.warnings if w not in ck.notes and not w.startswith("preconditioner:")]
    res.warnings[:] = own + list(ck.notes)
    if cfg.get("preconditioner_reason") is not None:
        res.settings["preconditioner_reason"] = cfg["preconditioner_reason"]
    return res
