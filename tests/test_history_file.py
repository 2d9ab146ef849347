"""The append-only history file beside a checkpoint: rows round-trip exactly, appends are
incremental, and reading refuses files that do not match."""

import hashlib

import numpy as np
import pytest

from descend.descent.history import Recorder
from descend.descent.history_file import HistoryWriter, history_path, read_history


def _record(rng, n, p=3, params=True, norms=True):
    rec = Recorder(params, rng.normal(size=p))
    for k in range(n):
        rec.add(k, *rng.normal(size=4), rng.normal(size=p),
                {"velocity": float(rng.normal()), "m": float(k)} if norms else None)  # fmt: skip
    return rec


@pytest.mark.parametrize(("params", "norms"), [(True, True), (False, False), (True, False)])
def test_rows_round_trip_exactly(tmp_path, rng, params, norms):
    """Write in three appends, read back: every column, the θ path and the norms are equal bit
    for bit, and the SHA-256 is that of the file's bytes (hashlib on the file)."""
    ck = str(tmp_path / "run.ckpt")
    rec = _record(rng, 0, params=params, norms=norms)
    w = HistoryWriter(history_path(ck))
    full = _record(np.random.default_rng(5), 250, params=params, norms=norms)
    for stop in (10, 11, 250):
        part = Recorder(params, full.params[0] if params else np.zeros(3))
        h = full.history()
        part.load(h.step[:stop], h.loss[:stop], h.grad_norm[:stop], h.step_size[:stop],
                  h.lr[:stop], None if not params else full.params[: stop + 1],
                  {k: list(v[:stop]) for k, v in h.state_norms.items()})  # fmt: skip
        ref = w.append(part)
        rec = part
    data = (tmp_path / "run.ckpt.history").read_bytes()
    assert ref["rows"] == 250 and ref["sha256"] == hashlib.sha256(data).hexdigest()
    back = read_history(ck, ref)
    a, b = back.history(), rec.history()
    for f in ("step", "loss", "grad_norm", "step_size", "lr"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    if params:
        np.testing.assert_array_equal(a.params, b.params)
    assert {k: list(v) for k, v in a.state_norms.items()} == {
        k: list(v) for k, v in b.state_norms.items()
    }


def test_a_new_layout_starts_the_file_again(tmp_path, rng):
    """Rows of another layout (θ length) cannot be appended: the file is rewritten."""
    ck = str(tmp_path / "run.ckpt")
    w = HistoryWriter(history_path(ck))
    w.append(_record(rng, 20, p=2))
    ref = w.append(_record(rng, 5, p=4))
    assert ref["rows"] == 5 and ref["n_params"] == 4
    assert (tmp_path / "run.ckpt.history").stat().st_size == 5 * 8 * (5 + 2 + 4)
    assert len(read_history(ck, ref)) == 5
