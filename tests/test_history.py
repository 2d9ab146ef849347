"""The Recorder keeps every step exactly, across its capacity doublings."""

from __future__ import annotations

import numpy as np

from descend.descent.history import Recorder


def test_recorder_grows_and_keeps_every_row(rng):
    """600 steps into a recorder of capacity 4: the columns, θ path and slices equal a plain
    list of what was added (the reference is the Python list, not the recorder)."""
    p = 3
    theta0 = rng.standard_normal(p)
    rec = Recorder(True, theta0, capacity=4)
    rows, path = [], [theta0.copy()]
    for k in range(600):
        row = (k, *rng.standard_normal(4).tolist())
        theta = rng.standard_normal(p)
        rec.add(*row, theta, {"velocity": row[1]})
        rows.append(row)
        path.append(theta)
    assert len(rec) == 600 and rec.rows == rows
    h = rec.history()
    assert h.step.dtype == np.int64
    np.testing.assert_array_equal(h.step, [r[0] for r in rows])
    for j, name in enumerate(("loss", "grad_norm", "step_size", "lr"), start=1):
        np.testing.assert_array_equal(getattr(h, name), [r[j] for r in rows])
    np.testing.assert_array_equal(h.params, np.vstack(path))
    late = rec.history(start=590)
    np.testing.assert_array_equal(late.loss, [r[1] for r in rows[590:]])
    np.testing.assert_array_equal(late.params, np.vstack(path[590:]))
    np.testing.assert_array_equal(late.state_norms["velocity"], [r[1] for r in rows[590:]])


def test_recorder_load_round_trip(rng):
    """load() of saved columns gives the same history, and recording goes on after it."""
    rec = Recorder(False, np.zeros(2))
    for k in range(5):
        rec.add(k, *rng.standard_normal(4).tolist())
    other = Recorder(False, np.zeros(2))
    other.load(*rec.columns(), params=None, norms={})
    other.add(5, 1.0, 2.0, 3.0, 4.0)
    assert other.rows[:5] == rec.rows and other.rows[5] == (5, 1.0, 2.0, 3.0, 4.0)
    assert other.params is None and rec.history().params is None


def test_reserved_rows_and_extras_are_what_add_writes(rng):
    """Rows written into reserve()'s buffers with add_extras() for the norms and tracked
    columns give the record add() gives (a tracked column starts NaN-padded, and a resumed
    run without tracking keeps it aligned); last() is the last row."""
    via_add, via_reserve = Recorder(False, np.zeros(2), capacity=2), Recorder(False, np.zeros(2))
    for k in range(9):
        row = (k, *rng.standard_normal(4).tolist())
        norms = {"velocity": row[1]}
        tracked = {"sharpness": row[2]} if 3 <= k < 6 else None
        via_add.add(*row, None, norms, tracked)
        steps, cols, _ = via_reserve.reserve(1)
        i = via_reserve.n
        steps[i] = k
        cols[:, i] = row[1:]
        via_reserve.n = i + 1
        via_reserve.add_extras(i, norms, tracked)
        assert via_reserve.last() == row == via_add.rows[-1]
    assert via_reserve.rows == via_add.rows
    assert via_reserve.norms == via_add.norms
    assert via_reserve.tracked.keys() == via_add.tracked.keys() == {"sharpness"}
    got, want = via_reserve.tracked["sharpness"], via_add.tracked["sharpness"]
    np.testing.assert_array_equal(got, want)
    assert len(got) == 9 and np.isnan(got[:3]).all() and np.isnan(got[6:]).all()
