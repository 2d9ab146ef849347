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
