"""The text summary speaks the user's language: a schedule is shown as a call, not a dict."""

import descend as ds
from descend.descent.summary import rate_text


def test_a_schedule_is_shown_as_a_call():
    """cosine(lr=0.05, decay_steps=…) in the summary's first line, not {'name': …}."""
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, learning_rate=0.05, schedule="cosine", max_steps=50)
    head = res.summary().splitlines()[0]
    assert "lr cosine(lr=0.05, decay_steps=50" in head and "{" not in head, head


def test_rate_text_of_numbers_and_names():
    assert rate_text(0.01) == "0.01"
    assert rate_text("armijo") == "armijo"
    assert rate_text({"name": "step", "lr": 0.1, "step_size": 100, "gamma": 0.5}) == (
        "step(lr=0.1, step_size=100, gamma=0.5)"
    )


def test_one_feature_speaks_the_lessons_language():
    """One feature: m and b named, y = m·x + b written out, fitted and exact columns aligned;
    the exact line is numpy.polyfit's."""
    import numpy as np

    import descend as ds

    d = ds.datasets.load("norris")
    text = ds.fit(d.X, d.y, learning_rate="auto").summary()
    lines = text.splitlines()
    rows = [ln for ln in lines if ln.startswith("  b (intercept)") or ln.startswith("  m (slope")]
    assert len(rows) == 2
    assert rows[0].index("=") == rows[1].index("=")  # aligned columns
    m, b = np.polyfit(d.X[:, 0], d.y, 1)
    exact = next(ln for ln in lines if ln.startswith("exact line"))
    assert f"{m:.6g}·x" in exact and f"{abs(b):.6g}" in exact and "−" in exact
    several = ds.fit(np.c_[d.X, d.X**2], d.y, learning_rate="auto").summary()
    assert "  intercept" in several and "y = m·x" not in several
