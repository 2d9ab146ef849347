"""The resumable state of the descent loop, and a mini-batch sampler that can be saved.

:func:`descend.minimize` keeps its counters in local variables (the hot loop stays fast); a
:class:`LoopState` is what it starts from and what it hands out when asked for a snapshot:
everything needed to continue a run *bitwise* as if it had never stopped — θ, the optimizer
state, the history so far, the stopping counters and the sampler's random state.

Everything here encodes to plain JSON without loss and without pickle: float64 arrays as
base64 of their little-endian bytes, finite float scalars as JSON numbers (``repr`` round-trips
exactly), non-finite ones as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .history import Recorder

Array = NDArray[np.float64]

__all__ = [
    "BatchSampler",
    "LoopState",
    "encode_array",
    "decode_array",
    "encode_float",
    "decode_float",
    "encode_tree",
    "decode_tree",
]


# ---------------------------------------------------------------------------------------------
# exact, pickle-free encodings
# ---------------------------------------------------------------------------------------------
_ALLOWED_DTYPES = {"float64", "int64", "int32", "intp", "bool", "float32", "uint64"}


def encode_float(x: float) -> float | str:
    """A JSON-safe exact form of a float: itself when finite, else "NaN"/"Infinity"/"-Infinity"."""
    x = float(x)
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def decode_float(x: Any) -> float:
    """Inverse of :func:`encode_float` (``float("Infinity")`` is inf, ``float("NaN")`` nan)."""
    return float(x)


def encode_array(a: Any) -> dict[str, Any]:
    """``{"dtype", "shape", "b64"}``: the array's little-endian bytes in base64 (exact)."""
    arr = np.asarray(a)
    name = arr.dtype.name
    if name not in _ALLOWED_DTYPES:
        raise TypeError(f"cannot encode an array of dtype {arr.dtype} (numbers only)")
    little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    return {
        "dtype": name,
        "shape": list(arr.shape),
        "b64": base64.b64encode(little.tobytes()).decode("ascii"),
    }


def decode_array(d: dict[str, Any]) -> NDArray[Any]:
    """Inverse of :func:`encode_array`; a fresh, writeable, native-order array."""
    name = str(d["dtype"])
    if name not in _ALLOWED_DTYPES:
        raise ValueError(f"checkpoint holds an array of unsupported dtype {name!r}")
    dtype = np.dtype(name).newbyteorder("<")
    raw = base64.b64decode(d["b64"].encode("ascii"), validate=True)
    shape = tuple(int(s) for s in d["shape"])
    arr = np.frombuffer(raw, dtype=dtype)
    if arr.size != math.prod(shape):
        raise ValueError(f"checkpoint array has {arr.size} values, expected shape {shape}")
    return arr.reshape(shape).astype(np.dtype(name), copy=True)


def encode_tree(node: Any) -> Any:
    """Encode an optimizer state: (nested) NamedTuples/tuples of arrays, ints and floats.

    Scalars keep their exact type (Python vs NumPy) so the restored state computes the very
    same numbers.
    """
    if isinstance(node, tuple):
        kind = type(node).__name__ if hasattr(node, "_fields") else "tuple"
        return {"node": kind, "items": [encode_tree(v) for v in node]}
    if isinstance(node, np.ndarray):
        return {"array": encode_array(node)}
    if node is None:
        return {"none": True}
    if isinstance(node, bool | np.bool_):
        return {"bool": bool(node)}
    if isinstance(node, np.integer):
        return {"int": int(node), "np": node.dtype.name}
    if isinstance(node, int):
        return {"int": node}
    if isinstance(node, np.floating):
        return {"float": encode_float(float(node)), "np": node.dtype.name}
    if isinstance(node, float):
        return {"float": encode_float(node)}
    raise TypeError(
        f"cannot checkpoint an optimizer state holding a {type(node).__name__}; states must be "
        "(tuples of) NamedTuples of arrays and numbers"
    )


def decode_tree(enc: Any, template: Any) -> Any:
    """Rebuild a state encoded by :func:`encode_tree`, using ``template`` (``opt.init(θ)``) for
    the container types. Raises ValueError when the structures differ (another optimizer)."""
    if isinstance(template, tuple):
        kind = type(template).__name__ if hasattr(template, "_fields") else "tuple"
        if not isinstance(enc, dict) or enc.get("node") != kind:
            got = enc.get("node") if isinstance(enc, dict) else type(enc).__name__
            raise ValueError(
                f"the checkpoint's optimizer state ({got}) does not match this optimizer's "
                f"({kind}): resume with the optimizer the run was started with"
            )
        items = enc["items"]
        if len(items) != len(template):
            raise ValueError(
                f"the checkpoint's optimizer state has {len(items)} parts, this optimizer's "
                f"{len(template)}: resume with the optimizer the run was started with"
            )
        children = [decode_tree(e, t) for e, t in zip(items, template, strict=True)]
        if hasattr(template, "_fields"):
            return type(template)(*children)
        return tuple(children)
    return _decode_leaf(enc)


def _decode_leaf(enc: dict[str, Any]) -> Any:
    if "array" in enc:
        return decode_array(enc["array"])
    if "none" in enc:
        return None
    if "bool" in enc:
        return bool(enc["bool"])
    if "int" in enc:
        return np.dtype(enc["np"]).type(enc["int"]) if "np" in enc else int(enc["int"])
    if "float" in enc:
        value = decode_float(enc["float"])
        return np.dtype(enc["np"]).type(value) if "np" in enc else value
    raise ValueError(f"unreadable optimizer-state entry {enc!r}")


# ---------------------------------------------------------------------------------------------
# the sampler
# ---------------------------------------------------------------------------------------------
class BatchSampler:
    """Mini-batch row indices whose position and random state can be saved and restored.

    Each epoch draws one ``rng.permutation(n)`` and hands out consecutive slices of
    ``batch_size`` rows (the last one may be shorter) — the same sequence as
    :func:`descend.data.batches` for the same generator.

    Parameters
    ----------
    n : int
        Number of rows.
    batch_size : int
        Rows per batch, ``1 <= batch_size < n``.
    rng : numpy.random.Generator
        Source of the permutations.
    """

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator) -> None:
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.rng = rng
        self.perm: NDArray[np.int64] | None = None
        self.pos = 0

    def __iter__(self) -> BatchSampler:
        return self

    def __next__(self) -> NDArray[np.int64]:
        if self.perm is None or self.pos >= self.n:
            self.perm = self.rng.permutation(self.n)
            self.pos = 0
        start = self.pos
        self.pos = start + self.batch_size
        return self.perm[start : self.pos]

    def state_dict(self) -> dict[str, Any]:
        """The generator's bit-generator state, the current permutation and the position."""
        return {
            "n": self.n,
            "batch_size": self.batch_size,
            "bit_generator": self.rng.bit_generator.state,
            "perm": None if self.perm is None else encode_array(self.perm),
            "pos": self.pos,
        }

    def load_state(self, d: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (same n and batch size required)."""
        if int(d["n"]) != self.n or int(d["batch_size"]) != self.batch_size:
            raise ValueError(
                f"the checkpoint's sampler drew batches of {d['batch_size']} from {d['n']} rows, "
                f"this run {self.batch_size} from {self.n}"
            )
        self.rng.bit_generator.state = d["bit_generator"]
        self.perm = None if d["perm"] is None else decode_array(d["perm"]).astype(np.int64)
        self.pos = int(d["pos"])


# ---------------------------------------------------------------------------------------------
# the loop state
# ---------------------------------------------------------------------------------------------
@dataclass
class LoopState:
    """Everything :func:`descend.minimize` needs to continue a run exactly.

    Attributes
    ----------
    k : int
        Updates made so far.
    theta : ndarray, shape (p,)
        θ_k.
    opt_state : Any
        The optimizer's state (NamedTuples), or its encoded form before :meth:`restore`.
    recorder : Recorder
        The history so far.
    loss0, prev_loss, best_loss, lr_ls, last_lr : float or None
        First loss, previous loss, lowest loss, line-search warm start, last learning rate.
    calm, rising : int
        Consecutive calm (small change) and rising steps.
    best_theta : ndarray, shape (p,)
        θ with the lowest loss (the divergence guard's rollback).
    epoch_losses : list of float
        Full losses at the end of each mini-batch epoch.
    sampler : dict or None
        :meth:`BatchSampler.state_dict` (mini-batch runs).
    elapsed : float
        Seconds spent in the loop before this state was taken.
    """

    k: int
    theta: Array
    opt_state: Any
    recorder: Recorder
    loss0: float | None = None
    prev_loss: float = math.nan
    calm: int = 0
    rising: int = 0
    best_theta: Array | None = None
    best_loss: float = math.inf
    epoch_losses: list[float] = field(default_factory=list)
    lr_ls: float = 1.0
    last_lr: float = math.nan
    sampler: dict[str, Any] | None = None
    elapsed: float = 0.0
    encoded_opt_state: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (exact; no pickle)."""
        rec = self.recorder
        cols = list(zip(*rec.rows, strict=True)) if rec.rows else [()] * 5
        return {
            "k": int(self.k),
            "theta": encode_array(self.theta),
            "opt_state": self.opt_state if self.encoded_opt_state else encode_tree(self.opt_state),
            "history": {
                "step": encode_array(np.asarray(cols[0], dtype=np.int64)),
                "loss": encode_array(np.asarray(cols[1], dtype=np.float64)),
                "grad_norm": encode_array(np.asarray(cols[2], dtype=np.float64)),
                "step_size": encode_array(np.asarray(cols[3], dtype=np.float64)),
                "lr": encode_array(np.asarray(cols[4], dtype=np.float64)),
                "params": None
                if rec.params is None
                else encode_array(np.vstack(rec.params) if rec.params else np.zeros((0, 0))),
                "norms": {
                    key: encode_array(np.asarray(v, dtype=np.float64))
                    for key, v in rec.norms.items()
                },
            },
            "loss0": None if self.loss0 is None else encode_float(self.loss0),
            "prev_loss": encode_float(self.prev_loss),
            "calm": int(self.calm),
            "rising": int(self.rising),
            "best_theta": encode_array(self.theta if self.best_theta is None else self.best_theta),
            "best_loss": encode_float(self.best_loss),
            "epoch_losses": [encode_float(v) for v in self.epoch_losses],
            "lr_ls": encode_float(self.lr_ls),
            "last_lr": encode_float(self.last_lr),
            "sampler": self.sampler,
            "elapsed": float(self.elapsed),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoopState:
        """Inverse of :meth:`to_dict`; the optimizer state stays encoded until :meth:`restore`."""
        h = d["history"]
        theta = decode_array(d["theta"]).astype(np.float64)
        rec = Recorder(False, theta)
        steps = decode_array(h["step"])
        columns = [decode_array(h[f]) for f in ("loss", "grad_norm", "step_size", "lr")]
        rec.rows = [
            (int(steps[i]), *(float(c[i]) for c in columns))  # type: ignore[misc]
            for i in range(steps.shape[0])
        ]
        if h["params"] is not None:
            P = decode_array(h["params"])
            rec.params = [P[i].copy() for i in range(P.shape[0])]
        rec.norms = {key: [float(v) for v in decode_array(a)] for key, a in h["norms"].items()}
        return cls(
            k=int(d["k"]),
            theta=theta,
            opt_state=d["opt_state"],
            recorder=rec,
            loss0=None if d["loss0"] is None else decode_float(d["loss0"]),
            prev_loss=decode_float(d["prev_loss"]),
            calm=int(d["calm"]),
            rising=int(d["rising"]),
            best_theta=decode_array(d["best_theta"]).astype(np.float64),
            best_loss=decode_float(d["best_loss"]),
            epoch_losses=[decode_float(v) for v in d["epoch_losses"]],
            lr_ls=decode_float(d["lr_ls"]),
            last_lr=decode_float(d["last_lr"]),
            sampler=d["sampler"],
            elapsed=float(d["elapsed"]),
            encoded_opt_state=True,
        )

    def decoded_opt_state(self, template: Any) -> Any:
        """The optimizer state, decoded against ``template = opt.init(θ)`` when needed."""
        if self.encoded_opt_state:
            return decode_tree(self.opt_state, template)
        return self.opt_state
