"""descend.data.encoding: exact, pickle-free encodings of floats, arrays and optimizer-state
trees, through strict JSON and back bit for bit."""

import json
import math
import struct
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend as ds
from descend.data.encoding import (
    decode_array,
    decode_float,
    decode_tree,
    encode_array,
    encode_float,
    encode_tree,
)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_float = st.floats(allow_nan=True, allow_infinity=True)


@FAST
@given(values=st.lists(any_float, max_size=20), scalar=any_float)
def test_checkpoint_encodings_are_bitwise(values, scalar):
    """Arrays (base64 of float64 bytes) and scalars survive JSON with every bit, NaN and ±inf
    included."""
    a = np.asarray(values, dtype=np.float64)
    back = decode_array(json.loads(json.dumps(encode_array(a))))
    assert back.tobytes() == a.tobytes()
    s = decode_float(json.loads(json.dumps(encode_float(scalar), allow_nan=False)))
    assert (math.isnan(s) and math.isnan(scalar)) or s == scalar


def test_optimizer_states_round_trip_exactly():
    """Every optimizer's state (NamedTuples, chains, NumPy/Python scalars) round-trips."""
    theta = np.array([0.3, -1.2, 2.0])
    for name in ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"):
        opt = ds.optim.get(name, 0.1)
        state = opt.init(theta)
        for _ in range(3):
            _, state = opt.update(np.array([1.0, -2.0, 0.5]), state, theta)
        back = decode_tree(json.loads(json.dumps(encode_tree(state))), opt.init(theta))
        assert type(back) is type(state)
        assert repr(back) == repr(state)
    with pytest.raises(ValueError, match="resume with the optimizer the run was started with"):
        decode_tree(encode_tree(ds.optim.get("adam").init(theta)), ds.optim.get("gd").init(theta))


def _json(x):
    """Through strict JSON, as checkpoints and results are written."""
    return json.loads(json.dumps(x, allow_nan=False))


def _bits(x):
    """A leaf's type and exact bits."""
    if isinstance(x, np.ndarray):
        return type(x), x.dtype.str, x.shape, x.tobytes()
    if isinstance(x, float | np.floating):
        return type(x), struct.pack("<d", float(x))
    return type(x), x


class _Inner(NamedTuple):
    m: np.ndarray
    scale: np.float64


class _State(NamedTuple):
    count: np.int64
    lr: float
    inner: _Inner
    pair: tuple
    nothing: None
    flag: bool


def _tree_bits(node):
    if isinstance(node, tuple):
        return type(node), tuple(_tree_bits(v) for v in node)
    return _bits(node)


SPECIAL = [0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, math.pi]
NONFINITE = [float("nan"), np.nan, math.inf, -math.inf]


def test_round_trip_is_bit_for_bit():
    """NaN/±inf/−0/subnormal floats, float64 arrays (any shape, NaN payloads) and a NamedTuple
    tree: decode(encode(x)) equals x bit for bit, after strict JSON."""
    for x in SPECIAL + NONFINITE:
        back = decode_float(_json(encode_float(x)))
        assert type(back) is float and struct.pack("<d", back) == struct.pack("<d", x)
    payload_nans = np.array([0x7FF8000000000001, 0xFFF8000000000000], dtype=np.uint64)
    arrays = [
        np.array(SPECIAL + NONFINITE),
        payload_nans.view(np.float64),
        np.empty(0),
        np.arange(6.0).reshape(2, 3) / 7,
        np.asfortranarray(np.array([[np.nan, -0.0], [np.inf, 5e-324]])),
        np.array(np.nan),
    ]
    for a in arrays:
        back = decode_array(_json(encode_array(a)))
        assert back.dtype == np.float64 and back.shape == a.shape
        assert back.tobytes() == np.ascontiguousarray(a).tobytes()
        assert back.flags.writeable
    state = _State(
        count=np.int64(7),
        lr=float("nan"),
        inner=_Inner(m=np.array([np.nan, -np.inf, -0.0, 1 / 3]), scale=np.float64(-np.inf)),
        pair=(np.array([[1e-310, 2.0]]), -0.0),
        nothing=None,
        flag=True,
    )
    template = _State(
        count=np.int64(0),
        lr=0.0,
        inner=_Inner(m=np.zeros(4), scale=np.float64(0.0)),
        pair=(np.zeros((1, 2)), 0.0),
        nothing=None,
        flag=False,
    )
    back = decode_tree(_json(encode_tree(state)), template)
    assert _tree_bits(back) == _tree_bits(state)
