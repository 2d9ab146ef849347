"""The command line: summaries, JSON output, one-line errors with non-zero exit."""

import json
import os
import re
import signal
import subprocess
import sys
import time

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
        ]
    )
    assert code == 0  # certified "converged" (a --tol 0 run ends "stalled", exit status 4)
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
        (["resume", "nope.ckpt"], "no checkpoint at 'nope.ckpt'"),
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


@pytest.mark.parametrize("value", ["fast", "-1", "0"])
def test_bad_lr_is_rejected_by_the_parser_in_one_line(value, capsys):
    """A bad --lr is refused by the parser (exit 2) in one line: no usage block."""
    assert main(["fit", "--lr", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("descend fit: error: argument --lr: learning rate"), err
    assert "usage:" not in err[0] and "'descend fit --help'" in err[0]


def test_logloss_on_numeric_targets_is_one_line_and_exit_2(tmp_path, capsys):
    """`descend fit --loss logloss` on a CSV with y = 2: exit 2, one line naming row and value."""
    csv = write_csv(tmp_path / "d.csv", ["x", "y"], [(1, 0), (2, 1), (3, 2), (4, 1)])
    assert main(["fit", str(csv), "--loss", "logloss"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("descend: error:"), err
    assert "row 3 has y = 2.0" in err[0] and "{0, 1}" in err[0]


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
    (["landscape", "saddles", "--random", "-1"], "random_starts must be >= 0"),
    (["landscape", "saddles", "--sizes", ""], "hidden-layer widths must be"),
    (["landscape", "saddles", "--sizes", "0"], "hidden-layer widths must be"),
    (["landscape", "saddles", "--gtol", "-1"], "gtol must be a positive"),
    (["landscape", "saddles", "--path", "-1"], "path_starts must be >= 0"),
    (["landscape", "saddles", "--workers", "0"], "workers must be >= 1"),
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
    assert len(err) == 1 and re.match(r"descend( fit)?: error:", err[0]) and needle in err[0], err


def test_an_infinite_learning_rate_is_refused(capsys):
    """--lr inf is rejected by the parser (exit 2) with the reason."""
    assert main(["fit", "--lr", "inf"]) == 2
    assert "finite" in capsys.readouterr().err


def test_an_mlp_without_layers_is_refused(capsys):
    """--model mlp: (no sizes) exits 2 and asks for the hidden layer sizes."""
    assert main(["fit", "--model", "mlp:"]) == 2
    assert "hidden layer sizes" in capsys.readouterr().err


def test_fit_penalty_flags(tmp_path, capsys):
    """--penalty l1 with a large --alpha drops the slope to exactly 0; bad α is one line."""
    out = tmp_path / "run.json"
    code = main(["fit", "--dataset", "norris", "--lr", "auto", "--penalty", "l1", "--alpha",
                 "1e9", "--quiet", "--json", str(out)])  # fmt: skip
    assert code == 0
    saved = json.loads(out.read_text())
    assert saved["settings"]["penalty"] == {"penalty": "l1", "alpha": 1e9, "l1_ratio": 0.15}
    assert saved["original_units"]["coef"] == [0.0]
    code = main(["fit", "--dataset", "norris", "--penalty", "l2", "--alpha", "-1"])
    assert code == 2
    assert "alpha must be" in capsys.readouterr().err


# -- the first hour of a new user (issue 17) --------------------------------------------------

STEP_LIMIT_COMMANDS = [
    ["fit"],
    ["resume", "x.ckpt"],
    ["compare"],
    ["certify"],
    ["sweep-degree"],
    ["sweep-lr"],
    ["animate", "--out", "a.gif"],
    ["landscape", "multistart"],
]


@pytest.mark.parametrize("command", STEP_LIMIT_COMMANDS)
@pytest.mark.parametrize("flag", ["--max-steps", "--max-iter"])
def test_every_step_limit_takes_both_spellings(command, flag):
    """--max-steps is the CLI's name for the step limit, --max-iter its alias, everywhere."""
    from descend.shells.cli import build_parser

    args = build_parser().parse_args([*command, flag, "17"])
    assert args.max_steps == 17


def test_fit_with_max_steps_runs(capsys):
    """`descend fit --max-steps 10` (once 'unrecognized') stops after 10 steps."""
    assert main(["fit", "--max-steps", "10"]) == 0
    assert "stopped after max_steps = 10 updates" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["fit", "--max-stepz", "5"], "'--max-steps'"),
        (["fit", "--optimiser", "adam"], "'--optimizer'"),
        (["fti"], "'fit'"),
        (["landscape", "multistart", "--start", "3", "--sed", "1"], "'--seed'"),
    ],
)
def test_a_misspelt_option_is_one_line_with_a_suggestion(argv, suggestion, capsys):
    """An unknown option or command: exit 2, one line, the closest valid name."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and "usage:" not in err[0], err
    assert f"Did you mean {suggestion}" in err[0], err


def _popen(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "descend", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)  # fmt: skip


def test_a_closed_pipe_is_not_a_traceback():
    """`descend optimizers | head` when the reader is gone: no traceback, exit 141 (SIGPIPE)."""
    proc = _popen(["optimizers"])
    proc.stdout.close()  # the reader goes away before descend writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_without_a_checkpoint_exits_130_or_143(sig, code):
    """Ctrl-C (SIGTERM) without --checkpoint prints what was reached and exits 130 (143)."""
    proc = _popen(["fit", "--lr", "1e-6", "--tol", "0", "--max-steps", "100000000", "--quiet"])
    time.sleep(3.0)  # past the imports and into the loop
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err.decode()
    assert b"descend: interrupted at step" in err, err.decode()


def test_dask_without_dask_names_the_extra(tmp_path, monkeypatch, capsys):
    """--dask without Dask installed: one line with the install command, exit 2."""
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    assert main(["fit", str(tmp_path / "big.parquet"), "--dask"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "descend[dask]"' in err[0], err


def test_dev_zero_stops_at_the_size_cap(capsys):
    """`descend fit /dev/zero` used to read until memory ran out; now the cap stops it."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert main(["fit", "/dev/zero", "--max-csv-mb", "1"]) == 2
    err = capsys.readouterr().err
    assert "size cap of 1 MiB" in err and "--max-csv-mb" in err


def test_repeated_x_and_dropna_on_the_command_line(tmp_path, capsys):
    """--x 'area, m2' --x rooms --dropna: the comma column is chosen, 2 rows dropped (said)."""
    csv = tmp_path / "d.csv"
    csv.write_text(
        'date,"area, m2",rooms,price\n2024-01-01,50,2,100\n2024-01-02,,3,150\n'
        "2024-01-03,70,NA,160\n2024-01-04,80,4,210\n2024-01-05,90,5,230\n2024-01-06,60,1,120\n"
    )
    assert main(["fit", str(csv), "--x", "area, m2", "--x", "rooms"]) == 2
    assert "--dropna" in capsys.readouterr().err
    code = main(["fit", str(csv), "--x", "area, m2", "--x", "rooms", "--dropna", "--lr", "auto"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "dropped 2 rows with empty or NA cells (lines 3, 4)" in err
    assert "4 rows" in out and "area, m2" in out


def test_fit_tracks_the_sharpness_and_the_summary_quotes_it(capsys):
    """--track-sharpness N: the summary gives the last measured λ_max beside the rule's edge."""
    argv = ["fit", "--model", "mlp:4", "--lr", "auto", "--max-steps", "25"]
    assert main([*argv, "--track-sharpness", "10"]) == 0
    out = capsys.readouterr().out
    assert "sharpness       λ_max(∇²L) = " in out
    assert "at step 20 (the rule's edge at this rate: " in out
    assert "measured 3 times" in out
