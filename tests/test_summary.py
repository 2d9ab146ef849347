"""The text summary speaks the user's language: a schedule is shown as a call, not a dict."""

import numpy as np
import pytest

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


def test_a_network_summary_shows_layer_shapes_and_norms(rng):
    """97 raw numbers become one line per array: its shape, ‖·‖₂ and max |·| (computed here
    from model.unpack), plus the loss of predicting the mean."""
    X = rng.uniform(40, 300, (60, 1))
    y = 1500 * X[:, 0] + rng.normal(0, 3e4, 60)
    res = ds.fit(X, y, model="mlp:8,8", learning_rate="auto", max_steps=50, seed=0)
    text = res.summary()
    assert "parameters: 97 in 6 arrays" in text
    W2 = res.model.unpack(res.params)["W2"]
    assert f"‖·‖ = {np.linalg.norm(W2):<10.4g}" in text and "8×8" in text
    assert f"baseline loss   {np.var(y):.10g}" in text
    assert "[" not in text.split("parameters:")[1].split("final loss")[0]


def test_a_fit_worse_than_the_mean_says_so(rng):
    """A linear fit stopped after 3 tiny steps from a poor start is worse than predicting ȳ
    (loss = var(y) for the MSE): a note and a DescendWarning say so, with both numbers."""
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, 3.0] + 10.0
    with pytest.warns(ds.DescendWarning, match="worse than predicting the mean of y"):
        res = ds.fit(X, y, learning_rate=1e-9, max_steps=3, theta0=[-5.0, 5.0, -5.0, 0.0])
    assert res.loss > np.var(y)
    assert f"(loss {np.var(y):.4g})" in res.warnings[-1]
    good = ds.fit(X, y, learning_rate="auto", seed=0)
    assert not any("mean of y" in w for w in good.warnings)


def test_the_sharpness_is_compared_with_the_rules_own_edge():
    """2/η for gd, 2(1 + β)/η for heavy ball (Polyak's stability limit read as a sharpness), the
    preconditioned Hessian's edge for Adam, and the accepted step under a line search."""
    from descend.descent.summary import _edge_text

    assert _edge_text({"optimizer": "gd", "hyperparams": {}}, 0.1).endswith(": 20)")
    hb = _edge_text({"optimizer": "momentum", "hyperparams": {"beta": 0.9}}, 0.1)
    assert hb.endswith(": 38)")
    assert "P⁻¹H" in _edge_text({"optimizer": "adam", "hyperparams": {"b1": 0.9}}, 0.01)
    ls = _edge_text({"optimizer": "gd", "hyperparams": {}, "learning_rate": "armijo"}, 0.5)
    assert "line search" in ls and "edge 4)" in ls
