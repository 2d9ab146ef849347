"""compare(): several optimizers, one problem, one start."""

import numpy as np
import pytest

import descend as ds
from descend.shells.cli import main
from descend.shells.cli.compare import parse_optimizers
from descend.studies.compare import compare


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(80, 3)) * [1.0, 5.0, 20.0]
    y = X @ [1.0, -2.0, 0.5] + 3 + rng.normal(size=80)
    return ds.objective(X, y, model=ds.Linear(scale=False))


def test_every_optimizer_starts_from_the_same_point(problem):
    """All runs share θ₀, and the table has one row per optimizer in order."""
    table = compare(problem, ["gd", "momentum", ("adam", {"learning_rate": 0.05})], max_steps=300)
    assert [r.label.split("(")[0] for r in table.rows] == ["gd", "momentum", "adam"]
    for res in table.results:
        np.testing.assert_array_equal(res.history.params[0], table.theta0)


def test_steps_to_target_is_read_from_the_history(problem):
    """steps_to_target is the first k with (L_k − L*)/L* ≤ target, checked independently."""
    table = compare(problem, ["momentum"], max_steps=5000, target=1e-8)
    res, row = table.results[0], table.rows[0]
    ref = np.linalg.lstsq(np.column_stack([problem.Z, np.ones(80)]), problem.y, rcond=None)[0]
    best = problem.value(ref)
    losses = np.append(res.history.loss, res.loss)
    k = row.steps_to_target
    assert k is not None
    assert (losses[k] - best) / best <= 1e-8 < (losses[k - 1] - best) / best


def test_momentum_beats_plain_gd_on_an_ill_conditioned_problem(problem):
    """With the curvature's settings, heavy ball needs far fewer steps than GD (κ ≫ 1)."""
    # the update rules on the problem as given (an "auto" rate alone would whiten it)
    table = compare(
        problem, ["gd", "momentum"], max_steps=20_000, target=1e-8, preconditioner="none"
    )
    gd, mom = table.rows
    assert mom.steps_to_target is not None and gd.steps_to_target is not None
    assert mom.steps_to_target * 3 < gd.steps_to_target


def test_divergence_is_reported_in_the_table(problem):
    """A far too large rate shows up as diverged with no steps-to-target."""
    table = compare(problem, [("gd", {"learning_rate": 10.0})], max_steps=200)
    assert table.rows[0].diverged and table.rows[0].steps_to_target is None
    assert "**diverged**" in table.to_markdown()


def test_works_on_a_plain_objective_without_reference():
    """A surface-like objective: no reference, steps-to-target = steps of a converged run."""

    class Bowl(ds.Objective):
        n_params = 2
        suggested_start = np.array([2.0, -1.0])

        def value_and_grad(self, t):
            return float(t @ t), 2 * t

    table = compare(Bowl(), ["gd", ("adam", {"learning_rate": 0.1})], max_steps=2000, tol=1e-14)
    assert table.reference_loss is None
    assert table.rows[0].steps_to_target == table.results[0].n_steps


def test_parse_optimizers_and_errors():
    """CLI strings become names and settings; lr and momentum are spelled out."""
    assert parse_optimizers("gd, adam:lr=0.05;b1=0.8, momentum:momentum=0.5") == [
        ("gd", {}),
        ("adam", {"learning_rate": 0.05, "b1": 0.8}),
        ("momentum", {"beta": 0.5}),
    ]
    with pytest.raises(ValueError, match="key=value"):
        parse_optimizers("adam:lr")
    with pytest.raises(ValueError, match="number"):
        parse_optimizers("adam:lr=fast")


def test_cli_compare_prints_a_markdown_table(capsys):
    """`descend compare` on Norris prints one row per optimizer."""
    assert main(["compare", "--optimizers", "gd,adam", "--max-iter", "500"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| gd(") == 1 and out.count("\n| adam(") == 1


def test_cli_optimizers_lists_rules_and_schedules(capsys):
    """`descend optimizers` names every rule with its defaults, and the schedules."""
    assert main(["optimizers"]) == 0
    out = capsys.readouterr().out
    for name in ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "cosine"]:
        assert name in out
    assert "b2=0.999" in out


def test_cli_fit_passes_optimizer_settings(capsys, tmp_path):
    """--optimizer momentum --momentum 0.5 reaches the optimizer as beta=0.5."""
    path = tmp_path / "r.json"
    assert main(["fit", "--optimizer", "momentum", "--momentum", "0.5", "--json", str(path)]) == 0
    import json

    assert json.loads(path.read_text())["settings"]["hyperparams"]["beta"] == 0.5
    assert main(["fit", "--optimizer", "gd", "--beta1", "0.8"]) == 2
    assert "b1" in capsys.readouterr().err
