"""The benchmark suite runs end to end (quick mode, tiny sizes; timings are not asserted)."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")


def test_quick_benchmark_smoke(tmp_path):
    """``python -m benchmarks.run --quick`` writes a Markdown table and JSON, and restores the
    thread limits it set."""
    import torch
    from benchmarks.run import run

    before = torch.get_num_threads()
    res = run(quick=True, scale=0.25, out=tmp_path)
    assert torch.get_num_threads() == before
    assert res["problems"] and res["huber"]["descend_step"] > 0
    assert {t["target"] for t in res["targets"]} >= {
        "least-squares time to 1e-6 ≤ 1.5× one X.T@X",
        "mini-batch epoch ≥ 5× faster than the PyTorch loop",
        "Dask fit ≤ 1.5× one read (X.sum().compute())",
    }
    dask = [r["problem"] for r in res["targets"] if "Dask" in r["target"]]
    assert len(dask) == 8  # 2 schedulers × 2 thread settings × 2 routes
    assert {p.split(", ")[-1] for p in dask} == {"statistics by blas", "statistics by kernels"}
    assert {p.split(", ")[1].split(" (")[0] for p in dask} == {"threaded", "LocalCluster"}
    busy = [t["problem"] for t in res["targets"] if t["target"].startswith("mini-batch")]
    assert sum("2 busy processes" in p for p in busy) == 2  # suite and default threads
    names = [r["method"] for r in res["problems"][0]["rows"]]
    assert any("float32" in m for m in names) and any("PyTorch" in m for m in names)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".md"]


def test_quick_benchmark_only_least_squares(tmp_path):
    """``--only least-squares`` runs just that family; the report and targets still build."""
    from benchmarks.run import main

    assert main(["--quick", "--only", "least-squares", "--out", str(tmp_path)]) == 0
    md = next(tmp_path.glob("*.md")).read_text()
    assert "## Least squares" in md and "Huber" not in md and "Mini-batch" not in md
    assert "problem families: least-squares" in md


def test_hand_loop_is_the_same_descent():
    """The small-problem family's hand-written loop makes the iterates of ds.fit (full batch,
    plain GD): the ratio compares equal work. The reference is NumPy's own least squares."""
    import numpy as np
    from benchmarks.small import datasets, hand_loop

    import descend as ds

    X, y = datasets()["norris"]
    res = ds.fit(X, y, learning_rate=0.1, max_steps=300, tol=0.0, theta0=np.zeros(2))
    theta = hand_loop(X, y, "gd", 0.1, len(res.history), None)
    np.testing.assert_allclose(theta, res.params, rtol=1e-12, atol=1e-9)
    A = np.column_stack([(X - X.mean(0)) / X.std(0), np.ones(len(y))])
    np.testing.assert_allclose(theta, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-8)


def test_small_family_quick(tmp_path):
    """``--only small`` reports every case at both thread settings, quiet and beside two
    spinning processes, and the playground rate."""
    from benchmarks.run import run

    res = run(quick=True, out=tmp_path, only=["small"])
    cases = res["small"]["cases"]
    assert {(c["data"], c["rule"], c["batch"] is None, c["threads"], c["busy"]) for c in cases} == {
        (d, r, full, t, b)
        for d in ("diabetes", "norris")
        for r in ("gd", "momentum", "adam")
        for full in (True, False)
        for t in (1, "default")
        for b in (0, 2)
    }
    assert all(c["ratio_min"] > 0 and c["step_loop_ratio_median"] > 0 for c in cases)
    assert res["small"]["playground"]["steps_per_second"] > 0
    md = next(tmp_path.glob("*.md")).read_text()
    assert "## Small problems" in md and "steps/s** made" in md


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stats_pass_family_quick(tmp_path):
    """``--only stats-pass`` reports fit, the pass and the old pass over one X.T@X and one X @ w
    at both thread settings, with and without background processes."""
    import json

    from benchmarks.run import main

    assert (
        main(["--quick", "--only", "stats-pass", "--busy", "0", "1", "--out", str(tmp_path)]) == 0
    )
    md = next(tmp_path.glob("*.md")).read_text()
    assert "## Least squares at the memory limit" in md
    res = json.loads(next(tmp_path.glob("*.json")).read_text())
    cases = res["stats_pass"]["cases"]
    assert {(c["threads"], c["busy"]) for c in cases} == {(t, b) for t in (1, "default")
                                                          for b in (0, 1)}  # fmt: skip
    assert all(c["excess"] <= 1e-6 and c["fit_over_xtx"] > 0 for c in cases)
    assert {t["target"] for t in res["targets"]} == {
        "least-squares fit ≤ 1.5× one X.T@X",
        "least-squares fit ≤ 2.0× one X @ w",
    }


@pytest.mark.timeout(60)
def test_background_processes_are_stopped():
    """The busy processes run inside the block and are gone (reaped) after it."""
    import os

    from benchmarks.stats_pass import background

    with background(2) as pids:
        assert len(pids) == 2
        for pid in pids:
            os.kill(pid, 0)  # alive
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_search_family_quick(tmp_path):
    """``--only search`` times both grid searches at both thread settings, quiet and beside two
    spinning processes, and reports how each GDRegressor candidate stopped."""
    from benchmarks.run import run

    res = run(quick=True, out=tmp_path, only=["search"])["search"]
    assert [(c["threads"], c["busy"]) for c in res["cases"]] == [
        (1, 0),
        (1, 2),
        ("default", 0),
        ("default", 2),
    ]
    assert all(c["ratio"] > 0 and -1 < c["sgd_best"] <= 1 for c in res["cases"])
    assert {r["stop_reason"] for r in res["stops"]} <= {
        "converged",
        "stationary",
        "stalled",
        "max_steps",
        "diverged",
    }
    assert "## Grid search over learning rates" in next(tmp_path.glob("*.md")).read_text()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dask_array_benchmark_smoke(monkeypatch):
    """``python -m benchmarks.dask_cluster --array`` at a tiny size: both schedulers at both
    thread settings, the chunks' statistics by BLAS and by the kernels (which the size rule
    is lowered to reach here; the workers' kernels are opted in by prepare_kernels), every
    Dask fit equal to the in-memory fit and the two routes the same fit, the table builds,
    and no worker process is left."""
    import multiprocessing

    pytest.importorskip("distributed")
    pytest.importorskip("numba")
    from benchmarks import dask_cluster

    from descend.problems import fused

    monkeypatch.setattr(fused, "MIN_ENTRIES", 0)
    r = dask_cluster.measure_array(rows=40_000, chunks=4, repeat=1)
    assert [(s["scheduler"], s["threads"]) for s in r["settings"]] == [
        (sched, label) for sched in ("threaded", "LocalCluster") for label, _, _ in
        dask_cluster.THREADS
    ]  # fmt: skip
    assert r["kernels_apply"] and set(r["workers_opted_in"].values()) == {True}
    for s in r["settings"]:
        (row,) = s["rounds"]
        for route in dask_cluster.ROUTES:
            assert row[route]["stop"] == "converged" and row[route]["coef_rel_diff"] < 1e-9
        assert s["routes_agree"]["same_steps_and_stop"]
        assert s["routes_agree"]["coef_rel_diff"] < 1e-9
    md = dask_cluster.array_markdown(r)
    assert "LocalCluster (2 processes × 1 thread) | default threads | kernels" in md
    assert len(dask_cluster.array_targets(r)) == 8
    assert multiprocessing.active_children() == []


@pytest.mark.timeout(120)
def test_fixed_costs_script_smoke(capsys):
    """``python -m benchmarks.fixed_costs`` prints both routes and the block hand-out cost
    (tiny sizes; timings are not asserted)."""
    from benchmarks.fixed_costs import main

    main(["-n", "20000", "-d", "3", "--kappa", "1e4", "--repeat", "1", "--label", "smoke"])
    out = capsys.readouterr().out
    assert out.startswith("smoke: 2e+04x3 kappa 10000 threads default")
    assert "  kernels fit" in out and "  blas    fit" in out and "outside" in out
    assert "handing out 20 blocks" in out
