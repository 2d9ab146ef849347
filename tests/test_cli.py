"""The command line: summaries, JSON output, one-line errors with non-zero exit."""

import json

import numpy as np
import pytest

from descend.shells.cli import main


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows))
    return path


def test_fit_default_runs_on_norris(capsys):
    """`descend fit` fits the embedded Norris data and prints parameters and the reference."""
    assert main(["fit"]) == 0
    out = capsys.readouterr().out
    assert "Norris" in out and "intercept" in out and "reference loss" in out
    assert "stop reason" in out


def test_fit_csv_with_columns_and_json(tmp_path, capsys, rng):
    """Columns by name, a polynomial model, lr auto, and a JSON file with the history."""
    x = rng.uniform(0, 4, 30)
    price = 1 + 2 * x - 0.5 * x**2 + 0.25 * x**3
    csv = write_csv(
        tmp_path / "d.csv",
        ["area", "noise", "price"],
        [(a, n, p) for a, n, p in zip(x, rng.normal(size=30), price, strict=True)],
    )
    out_json = tmp_path / "run.json"
    code = main(
        [
            "fit",
            str(csv),
            "--x",
            "area",
            "--y",
            "price",
            "--model",
            "poly:3",
            "--lr",
            "auto",
            "--json",
            str(out_json),
            "--max-iter",
            "50000",
            "--tol",
            "0",
        ]
    )
    assert code == 0
    data = json.loads(out_json.read_text())
    np.testing.assert_allclose(
        [data["original_units"]["intercept"], *data["original_units"]["coef"]],
        [1, 2, -0.5, 0.25],
        rtol=1e-6,
        atol=1e-8,
    )
    assert len(data["history"]["loss"]) == data["n_steps"]
    assert "x^2" in capsys.readouterr().out.replace("area^2", "x^2")


def test_divergence_exits_3_with_the_reason(capsys):
    """Too large a learning rate: exit status 3 and the stability limit named."""
    assert main(["fit", "--lr", "5"]) == 3
    assert "stability limit" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["fit", "missing.csv"], "missing.csv"),
        (["fit", "--dataset", "nope"], "nope"),
        (["fit", "--model", "poly:x"], "degree"),
        (["fit", "--loss", "l7"], "l7"),
        (["fit", "--x", "a"], "CSV"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    """Each bad input ends with exit 2 and a single 'descend: error:' line naming it."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("descend: error:") and needle in err[0]


def test_bad_column_and_cell_in_csv(tmp_path, capsys):
    """A missing column and a non-numeric cell are named with the fix."""
    csv = write_csv(tmp_path / "d.csv", ["a", "b"], [(1, 2), (2, "oops"), (3, 4)])
    assert main(["fit", str(csv), "--x", "zzz"]) == 2
    assert "zzz" in capsys.readouterr().err
    assert main(["fit", str(csv)]) == 2
    assert "oops" in capsys.readouterr().err


def test_logloss_on_numeric_targets_is_one_line_and_exit_2(tmp_path, capsys):
    """`descend fit --loss logloss` on a CSV with y = 2: exit 2, one line naming row and value."""
    csv = write_csv(tmp_path / "d.csv", ["x", "y"], [(1, 0), (2, 1), (3, 2), (4, 1)])
    assert main(["fit", str(csv), "--loss", "logloss"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("descend: error:"), err
    assert "row 3 has y = 2.0" in err[0] and "{0, 1}" in err[0]


def test_bad_lr_is_rejected_by_the_parser(capsys):
    """argparse rejects a non-numeric learning rate with a usage message (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--lr", "fast"])
    assert exc.value.code == 2
    assert "learning rate" in capsys.readouterr().err


def test_datasets_lists_all_eleven(capsys):
    """`descend datasets` prints one row per NIST dataset."""
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ["norris", "pontius", "filip", "longley", "wampler5", "noint2"]:
        assert name in out


def test_help_teaches(capsys):
    """--help explains the update rule and the stability limit."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "θ ← θ − lr·∇L(θ)" in out and "2/λ_max" in out


BAD_INPUT_CASES = [  # (argv with {tmp} for tmp_path, needle in the one-line error)
    (["fit", "--plot", "{tmp}/afile", "--quiet"], "is an existing file"),
    (["resume", "{tmp}"], "is a directory, not a checkpoint file"),
    (["landscape", "saddles", "--samples", "0"], "n_samples must be >= 2"),
    (["landscape", "saddles", "--points", "0"], "n_points must be >= 1"),
    (["landscape", "saddles", "--sizes", ""], "hidden-layer widths must be"),
    (["landscape", "saddles", "--sizes", "0"], "hidden-layer widths must be"),
    (["landscape", "saddles", "--gtol", "-1"], "gtol must be a positive"),
    (["landscape", "goe", "--sizes", "0"], "GOE sizes must be whole numbers >= 1"),
    (["landscape", "goe", "--sizes", ""], "GOE sizes must be whole numbers >= 1"),
    (["landscape", "goe", "--samples", "0"], "n_samples must be >= 1"),
    (["landscape", "goe", "--samples", "-1"], "n_samples must be >= 1"),
]


@pytest.mark.parametrize("argv, needle", BAD_INPUT_CASES)
def test_bad_input_is_one_clear_line(argv, needle, tmp_path, capsys):
    """Bad arguments found by probing: exit 2 and one 'descend: error:' line, no traceback."""
    (tmp_path / "afile").write_text("not a directory\n")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("descend: error:") and needle in err[0], err


def test_an_infinite_learning_rate_is_refused(capsys):
    """--lr inf is rejected by the parser (exit 2) with the reason."""
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--lr", "inf"])
    assert exc.value.code == 2 and "finite" in capsys.readouterr().err


def test_an_mlp_without_layers_is_refused(capsys):
    """--model mlp: (no sizes) exits 2 and asks for the hidden layer sizes."""
    assert main(["fit", "--model", "mlp:"]) == 2
    assert "hidden layer sizes" in capsys.readouterr().err
