"""The edge-of-stability study: its summary numbers from hand-made traces, a short real run
(the sharpness of a tanh network pushed to 2/η by full-batch GD), the picture and the CLI."""

import json

import numpy as np
import pytest

from descend.shells.cli import main
from descend.studies.landscape import EdgeRun, edge_of_stability


def _run(lr, sharp, loss):
    sharp = np.asarray(sharp, dtype=float)
    steps = np.arange(sharp.size) * 10
    return EdgeRun(lr, np.asarray(loss, float), steps, sharp, "max_steps", 0.0, {})


def test_summary_numbers_follow_their_definitions():
    """late median × η/2, the first crossing of 2/η, the peak and the share of rising steps,
    from a trace written by hand (η = 0.5: 2/η = 4)."""
    sharp = [1.0, 2.0, 4.5, 3.9, 4.1, 4.0, 4.2, 3.8]  # steps 0, 10, …, 70
    loss = np.linspace(1.0, 0.1, 80)
    loss[[45, 55, 65]] += 0.05  # three rises in the late phase (steps 40 … 79)
    r = _run(0.5, sharp, loss)
    assert r.threshold == 4.0
    assert r.first_crossing == 20
    assert r.peak_ratio == pytest.approx(4.5 / 4.0)
    assert r.late_ratio == pytest.approx(np.median([4.1, 4.0, 4.2, 3.8]) / 4.0)
    assert r.late_rises == pytest.approx(3 / 39)
    assert r.loss_at_half == pytest.approx(np.median(loss[40:60]))
    assert r.loss_at_end == pytest.approx(np.median(loss[60:]))
    assert r.verdict() == "at the edge"
    assert _run(0.5, [1.0] * 8, loss).verdict() == "below the edge"
    assert _run(0.5, [1.0] * 8, loss).first_crossing is None
    blown = EdgeRun(0.5, loss[:3], steps_of(1), np.array([1.0]), "diverged", 0.0, {})
    assert blown.verdict() == "diverged at step 3"  # not "not measured"


def steps_of(n):
    return np.arange(n) * 10


def test_a_rate_that_diverges_says_so_and_every_must_fit_the_run(capsys):
    """η = 5 on the default network blows up within a few steps: the table's verdict says it
    diverged (it read "not measured"); measuring less than twice per run is refused."""
    argv = ["landscape", "edge", "--lrs", "5", "--max-steps", "300", "--quiet"]
    assert main(argv) == 0
    assert "| diverged at step" in capsys.readouterr().out
    assert main(["landscape", "edge", "--max-steps", "100", "--every", "1000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "every ≤ max_steps/2" in err


@pytest.mark.slow
def test_gradient_descent_on_a_tanh_network_reaches_the_edge():
    """At η = 0.2 the sharpness starts near 5.4, rises past 2/η = 10 and then stays within
    10 % of it (median of the last half), while the loss, no longer monotone, ends far below
    its start; at η = 0.02 (2/η = 100) it stays far below its 2/η (Cohen et al., ICLR 2021)."""
    study = edge_of_stability([0.02, 0.2], max_steps=800, every=20)
    low, high = study.runs
    assert low.first_crossing is None and low.late_ratio < 0.3
    assert high.first_crossing is not None and high.sharpness[0] < 0.7 * high.threshold
    assert abs(high.late_ratio - 1.0) <= 0.1 and high.verdict() == "at the edge"
    assert high.final_loss < 0.2 * high.loss[0] and high.late_rises > 0.1
    assert "| 0.2 | 10 |" in study.table()


def test_edge_cli_prints_the_table_and_writes_plot_and_json(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png, out = tmp_path / "edge.png", tmp_path / "edge.json"
    argv = ["landscape", "edge", "--lrs", "0.4,0.8", "--max-steps", "60", "--every", "20"]
    assert main([*argv, "--plot", str(png), "--json", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "tanh MLP [16] (65 parameters)" in text and "| 0.8 | 2.5 |" in text
    data = json.loads(out.read_text())
    assert [r["learning_rate"] for r in data["runs"]] == [0.4, 0.8]
    assert data["runs"][0]["sharpness_steps"] == [0, 20, 40]
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize("bad", ["0", "0.1,inf", "fast"])
def test_edge_cli_refuses_bad_rates(capsys, bad):
    assert main(["landscape", "edge", "--lrs", bad]) == 2
    assert "expected positive learning rates" in capsys.readouterr().err


@pytest.mark.slow
def test_adam_reaches_its_own_edge_on_the_preconditioned_hessian():
    """Adam at η = 0.03: λ_max(P⁻¹H) rises from about half of 38/η to hover within 10 % of it
    (Cohen et al., "Adaptive Gradient Methods at the Edge of Stability", 2022)."""
    (run,) = edge_of_stability([0.03], optimizer="adam", max_steps=1500, every=20).runs
    assert run.preconditioned and run.threshold == pytest.approx(38 / 0.03)
    assert run.sharpness[0] < 0.7 * run.threshold and abs(run.late_ratio - 1.0) <= 0.1
