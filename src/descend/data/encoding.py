"""Exact, pickle-free encodings for checkpoints and results.

Float64 arrays as base64 of their little-endian bytes, finite float scalars as JSON numbers
(``repr`` round-trips exactly), non-finite ones as the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"``; NamedTuple trees (optimizer states) leaf by leaf.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "decode_array",
    "decode_float",
    "decode_tree",
    "encode_array",
    "encode_float",
    "encode_tree",
]

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
