"""Dask fits: chunked reductions give the in-memory answer, also out of core on a cluster."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend.problems.distributed import load

da = pytest.importorskip("dask.array")


def _data(rng, n=20_000, d=4):
    X = rng.standard_normal((n, d)) * [1, 2, 3, 4] + [0, 1, -2, 5]
    y = X @ rng.standard_normal(d) + 1.5 + 0.3 * rng.standard_normal(n)
    return X, y


def test_dask_least_squares_equals_in_memory(rng):
    """Full-batch least squares on a chunked array: the in-memory θ, reference and steps."""
    X, y = _data(rng)
    a = ds.fit(da.from_array(X, chunks=(3000, 2)), da.from_array(y, chunks=5000),
               learning_rate="auto", tol=1e-12)  # fmt: skip
    b = ds.fit(X, y, learning_rate="auto", tol=1e-12)
    assert a.settings["dask"] and a.n_steps == b.n_steps
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    np.testing.assert_allclose(a.reference.coef, b.reference.coef, rtol=1e-10)


def test_dask_huber_and_minibatches(rng):
    """Huber full batch (a reduction per step) and chunk-sampling mini-batches both work."""
    X, y = _data(rng, n=4000)
    Xd, yd = da.from_array(X, chunks=1000), da.from_array(y, chunks=1000)
    a = ds.fit(Xd, yd, loss="huber", learning_rate=0.5, max_steps=20, tol=0)
    b = ds.fit(X, y, loss="huber", learning_rate=0.5, max_steps=20, tol=0)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    c = ds.fit(Xd, yd, learning_rate=0.05, batch_size=100, max_steps=400, tol=0)
    assert c.loss < 2 * c.reference.loss


def test_dask_minibatches_visit_every_chunk_once_per_epoch(rng):
    """Four chunks, each on its own line y = X·w_j + b_j (so their losses differ by 5× or more),
    one chunk per batch: every recorded batch loss equals — to 1e-12 — the plain NumPy mean
    squared error of exactly one chunk at the recorded θ_k, and each epoch of four steps visits
    every chunk once. Reading only the first chunk (or any one) would match one chunk only."""
    c = 250
    X = rng.normal(size=(4 * c, 2))
    W = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, -2.0], [4.0, 4.0]])
    b = np.array([0.0, 5.0, -5.0, 10.0])
    y = np.concatenate([X[j * c : (j + 1) * c] @ W[j] + b[j] for j in range(4)])
    res = ds.fit(da.from_array(X, chunks=(c, 2)), da.from_array(y, chunks=c),
                 model=ds.Linear(scale=False), learning_rate=0.05, batch_size=c, max_steps=12,
                 tol=0, record_params=True)  # fmt: skip
    assert res.n_steps == 12
    visited = []
    blocks = [slice(j * c, (j + 1) * c) for j in range(4)]
    for k, (theta, loss) in enumerate(zip(res.history.params[:-1], res.history.loss, strict=True)):
        w, intercept = theta[:2], theta[2]  # unscaled linear model: θ = (w, b)
        chunk_mse = np.array([np.mean((X[s] @ w + intercept - y[s]) ** 2) for s in blocks])
        match = np.flatnonzero(np.abs(chunk_mse - loss) <= 1e-12 * loss)
        assert match.size == 1, (k, loss, chunk_mse)
        visited.append(int(match[0]))
    for epoch in range(3):
        assert sorted(visited[4 * epoch : 4 * epoch + 4]) == [0, 1, 2, 3], visited


def test_dask_logloss_refuses_numeric_targets():
    """The log loss's target check runs chunk by chunk, numbering rows in the whole of y."""
    X = da.from_array(np.arange(12.0).reshape(-1, 1), chunks=4)
    y = da.from_array(np.array([0, 1, 0, 1, 1, 0, 0, 1, 1, 3.0, 0, 1]), chunks=4)
    with pytest.raises(ds.DataError, match=r"row 10 has y = 3.0"):
        ds.fit(X, y, loss="logloss")


def test_out_of_core_on_a_memory_limited_cluster(tmp_path, rng):
    """~200 MB of .npy chunks through a worker limited to 160 MB: the in-memory θ."""
    distributed = pytest.importorskip("distributed")
    d, rows = 9, 100_000
    w = rng.standard_normal(d)
    for i in range(28):  # 28 chunks × 8 MB = 224 MB
        Xc = rng.standard_normal((rows, d))
        block = np.column_stack([Xc, Xc @ w + 1.0 + 0.1 * rng.standard_normal(rows)])
        np.save(tmp_path / f"part{i:03d}.npy", block)
    X, y, names = load(tmp_path)
    assert X.nbytes + y.nbytes > 200e6
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, memory_limit="160MB",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):  # fmt: skip
        res = ds.fit(X, y, learning_rate="auto", tol=1e-12)
    full = np.concatenate([np.load(f) for f in sorted(tmp_path.glob("*.npy"))])
    mem = ds.fit(full[:, :d], full[:, d], learning_rate="auto", tol=1e-12)
    np.testing.assert_allclose(res.params, mem.params, rtol=1e-9)
    assert res.stop_reason == "converged"


def test_load_parquet_and_zarr(tmp_path, rng):
    """Parquet and Zarr stores load lazily with their column names."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, y = _data(rng, n=2000)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(target=y)
    df.to_parquet(tmp_path / "data.parquet")
    Xd, yd, names = load(tmp_path / "data.parquet")
    assert names == ["a", "b", "c", "d"]
    np.testing.assert_allclose(Xd.compute(), X)
    import zarr  # the dask extra

    store = zarr.open_group(str(tmp_path / "d.zarr"), mode="w")
    store.create_array("X", data=X, chunks=(500, 4))
    store.create_array("y", data=y, chunks=(500,))
    Xz, yz, _ = load(tmp_path / "d.zarr")
    np.testing.assert_allclose(yz.compute(), y)


# ---------------------------------------------------------------------------------------------
# Parquet: folders of several files, files of several row groups (issue 20, items 1 and 2)
# ---------------------------------------------------------------------------------------------
def _parquet_folder(path, rng, files=4, rows=3000, row_group=1000):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path.mkdir()
    w = np.array([1.0, -2.0, 0.5, 3.0])
    frames = []
    for i in range(files):
        X = rng.standard_normal((rows, 4)) * [1, 2, 3, 4] + [0, 1, -2, 5]
        df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
        df["target"] = X @ w + 1.5 + 0.3 * rng.standard_normal(rows)
        df.to_parquet(path / f"p{i}.parquet", row_group_size=row_group)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _lstsq(X, y):
    A = np.column_stack([np.ones(len(y)), X])
    return np.linalg.lstsq(A, y, rcond=None)[0]


def test_parquet_folder_of_four_files_fits_to_lstsq(tmp_path, rng):
    """Four files (the 'lengths' error of issue 20): one chunk per file, the lstsq answer."""
    df = _parquet_folder(tmp_path / "pq", rng)
    X, y, names = load(tmp_path / "pq")
    assert names == ["a", "b", "c", "d"] and X.numblocks[0] == 4 and X.shape == (12_000, 4)
    np.testing.assert_array_equal(y.compute(), df["target"].to_numpy())
    res = ds.fit(X, y, learning_rate="auto", tol=1e-12)
    ref = _lstsq(df[names].to_numpy(), df["target"].to_numpy())
    np.testing.assert_allclose([res.intercept, *res.coef], ref, rtol=1e-9)


def test_parquet_file_partitions_follow_row_groups(tmp_path, rng):
    """One file of 6 row groups: one partition per row group under a tiny blocksize, merged up
    to the blocksize otherwise; the rows in order either way."""
    df = _parquet_folder(tmp_path / "pq", rng, files=1, rows=6000, row_group=1000)
    f = tmp_path / "pq" / "p0.parquet"
    X1, y1, _ = load(f, blocksize=1)
    assert X1.chunks[0] == (1000,) * 6
    X3, _, _ = load(f, blocksize=2 * 1000 * 5 * 8)  # two row groups of 5 float64 columns
    assert X3.chunks[0] == (2000,) * 3
    np.testing.assert_array_equal(X1.compute(), df[["a", "b", "c", "d"]].to_numpy())
    Xy, yy, names = load(f, y="a")
    assert names == ["b", "c", "d", "target"]
    np.testing.assert_array_equal(yy.compute(), df["a"].to_numpy())


def test_cli_fits_a_parquet_folder(tmp_path, rng):
    """`descend fit FOLDER --dask` (the reproduction in issue 20) matches lstsq."""
    import json

    from descend.shells.cli import main

    df = _parquet_folder(tmp_path / "pq", rng)
    out = tmp_path / "r.json"
    code = main(["fit", str(tmp_path / "pq"), "--dask", "--lr", "auto", "--tol", "1e-12",
                 "--quiet", "--json", str(out)])  # fmt: skip
    assert code == 0
    r = json.loads(out.read_text())["original_units"]
    ref = _lstsq(df[["a", "b", "c", "d"]].to_numpy(), df["target"].to_numpy())
    np.testing.assert_allclose([r["intercept"], *r["coef"]], ref, rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# bad input: one line naming the file, the column and the row (issue 20, item 4)
# ---------------------------------------------------------------------------------------------
def _fit_error(X, y):
    with pytest.raises(ValueError) as err:
        ds.fit(X, y, max_steps=2)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_parquet_errors_name_file_column_and_row(tmp_path, rng):
    pd = pytest.importorskip("pandas")
    df = _parquet_folder(tmp_path / "pq", rng)
    folder = tmp_path / "pq"
    # a NaN in the third file, at its row 1234 (row 7234 of the data)
    bad = pd.read_parquet(folder / "p2.parquet")
    bad.loc[1234, "c"] = np.nan
    bad.to_parquet(folder / "p2.parquet", row_group_size=1000)
    msg = _fit_error(*load(folder)[:2])
    assert "p2.parquet" in msg and "row 1234" in msg and "'c'" in msg and "nan" in msg
    # a column missing from one file
    df.iloc[:100].drop(columns="b").to_parquet(folder / "p2.parquet")
    with pytest.raises(ValueError, match=r"p2\.parquet has no column 'b'"):
        load(folder)
    # a string column
    df.iloc[:100].assign(b="x").to_parquet(folder / "p2.parquet")
    with pytest.raises(ValueError, match=r"p2\.parquet: column 'b' holds (large_)?string"):
        load(folder)
    # a truncated file
    df.iloc[:3000].to_parquet(folder / "p2.parquet")
    data = (folder / "p2.parquet").read_bytes()
    (folder / "p2.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"p2\.parquet: not a readable Parquet file"):
        load(folder)


def test_npy_errors_name_the_chunk(tmp_path, rng):
    np.save(tmp_path / "a.npy", rng.standard_normal((100, 5)))
    np.save(tmp_path / "b.npy", rng.standard_normal((100, 4)))
    with pytest.raises(ValueError, match=r"b\.npy has 4 columns but .*a\.npy has 5"):
        load(tmp_path)
    block = rng.standard_normal((100, 5))
    block[42, 3] = np.inf
    np.save(tmp_path / "b.npy", block)
    msg = _fit_error(*load(tmp_path)[:2])
    assert "b.npy, row 42: column 'column 3' is inf" in msg


def test_dask_array_nan_names_chunk_and_row(rng):
    X, y = _data(rng, n=4000)
    X[2500, 1] = np.nan
    msg = _fit_error(da.from_array(X, chunks=1000), da.from_array(y, chunks=1000))
    assert "chunk 2 of X, row 500: column 'x2' is nan" in msg


def test_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, rng, capsys):
    """No scheduler at the address: exit 2 with one line, within the connect timeout."""
    import socket
    import time

    from descend.shells.cli import main

    pytest.importorskip("distributed")
    _parquet_folder(tmp_path / "pq", rng, files=1)
    with socket.socket() as s:  # a free port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    code = main(["fit", str(tmp_path / "pq"), "--dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--connect-timeout", "1"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and time.perf_counter() - t < 20
    assert err.count("\n") == 0 and "cannot reach the Dask scheduler" in err and str(port) in err


# ---------------------------------------------------------------------------------------------
# checkpoints of Dask fits (issue 20, item 3)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        dict(loss="huber", learning_rate=0.1),
        dict(learning_rate=0.1),
        dict(learning_rate=0.05, batch_size=700),
    ],
    ids=["full-batch-huber", "full-batch-least-squares", "mini-batch"],
)
def test_dask_checkpoint_resumes_bitwise(tmp_path, rng, kw):
    """Stop at step 12, resume to 24: bitwise the iterates of an uninterrupted 24-step run."""
    _parquet_folder(tmp_path / "pq", rng)
    X, y, _ = load(tmp_path / "pq")
    full = ds.fit(X, y, max_steps=24, tol=0, **kw)
    ck = tmp_path / "run.ckpt"
    first = ds.fit(X, y, max_steps=12, tol=0, checkpoint=ck, **kw)
    assert first.n_steps == 12
    res = ds.resume(ck, X, y, max_steps=24)
    assert res.n_steps == 24
    np.testing.assert_array_equal(res.params, full.params)
    # other data (one value changed in one file) is refused by the fingerprint
    pd = pytest.importorskip("pandas")
    f = tmp_path / "pq" / "p3.parquet"
    df = pd.read_parquet(f)
    df.loc[5, "a"] += 1.0
    df.to_parquet(f, row_group_size=1000)
    X2, y2, _ = load(tmp_path / "pq")
    with pytest.raises(ValueError, match="refusing to resume on other data"):
        ds.resume(ck, X2, y2, max_steps=24)


def test_cli_dask_checkpoint_and_resume(tmp_path, rng):
    """`descend fit --dask --checkpoint` then `descend resume`: the uninterrupted θ."""
    import json

    from descend.shells.cli import main

    _parquet_folder(tmp_path / "pq", rng)
    ck, a, b = tmp_path / "c.ckpt", tmp_path / "a.json", tmp_path / "b.json"
    common = ["--dask", "--loss", "huber", "--lr", "0.1", "--tol", "0", "--quiet"]
    assert main(["fit", str(tmp_path / "pq"), *common, "--max-iter", "20", "--json", str(a)]) == 0
    assert main(["fit", str(tmp_path / "pq"), *common, "--max-iter", "10",
                 "--checkpoint", str(ck)]) == 0  # fmt: skip
    assert main(["resume", str(ck), "--max-iter", "20", "--quiet", "--json", str(b)]) == 0
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert rb["n_steps"] == 20 and rb["params"] == ra["params"]


def test_scheduler_without_workers_is_refused_at_connect():
    """A scheduler with no workers: one line within the connect timeout, not a fit that waits
    forever (the cluster test checks workers that cannot import descend)."""
    distributed = pytest.importorskip("distributed")
    from descend.problems.distributed import connect

    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as lc,
        pytest.raises(ValueError, match=r"has no workers \(waited 0\.5 s\): start some with"),
        connect(lc.scheduler_address, timeout=0.5),
    ):
        pass


# ---------------------------------------------------------------------------------------------
# progress: the chunks of the statistics pass (issue 20, item 5)
# ---------------------------------------------------------------------------------------------
def _chunk_calls(X, y, **kw):
    calls = []
    res = ds.fit(X, y, progress=lambda done, total: calls.append((done, total)), **kw)
    return res, calls


def test_progress_counts_each_chunk_once(rng):
    """(0, n) first, then each of the n chunks once, in order, ending at (n, n); the steps
    are left to the callback. The fit is the same as without progress."""
    X, y = _data(rng, n=4000)
    Xd, yd = da.from_array(X, chunks=(500, 4)), da.from_array(y, chunks=500)
    res, calls = _chunk_calls(Xd, yd, max_steps=5, tol=0)
    assert calls == [(k, 8) for k in range(9)]
    np.testing.assert_array_equal(res.params, ds.fit(Xd, yd, max_steps=5, tol=0).params)


def test_progress_on_a_distributed_client(rng):
    """With a distributed Client the chunks are counted as their results arrive."""
    distributed = pytest.importorskip("distributed")
    X, y = _data(rng, n=3000)
    Xd, yd = da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as lc,
        distributed.Client(lc),
    ):
        _, calls = _chunk_calls(Xd, yd, max_steps=3, tol=0)
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_progress_true_draws_a_tqdm_bar_and_closes_it(rng, capsys):
    pytest.importorskip("tqdm")
    X, y = _data(rng, n=2000)
    ds.fit(da.from_array(X, chunks=(500, 4)), da.from_array(y, chunks=500), progress=True,
           max_steps=2, tol=0)  # fmt: skip
    err = capsys.readouterr().err
    assert "reading" in err and "4/4" in err and "chunk" in err


# ---------------------------------------------------------------------------------------------
# regressions of issue 20 not covered above
# ---------------------------------------------------------------------------------------------
def test_load_reads_no_rows_on_the_client(tmp_path, rng, monkeypatch):
    """Item 2: load() reads Parquet footers and .npy headers only; every row is read by the
    task that needs it (on a worker), never by load() in the client."""
    import pyarrow.parquet as pq

    _parquet_folder(tmp_path / "pq", rng, files=2)
    np.save(tmp_path / "a.npy", rng.standard_normal((50, 3)))

    def refuse(*args, **kwargs):
        raise AssertionError("rows read in the client")

    for name in ("read_row_groups", "read", "iter_batches"):
        monkeypatch.setattr(pq.ParquetFile, name, refuse)
    monkeypatch.setattr(pq, "read_table", refuse)
    real_load = np.load

    def header_only(f, mmap_mode=None, **kw):
        if mmap_mode is None:
            refuse()
        return real_load(f, mmap_mode=mmap_mode, **kw)

    monkeypatch.setattr(np, "load", header_only)
    X, y, _ = load(tmp_path / "pq")  # nothing read yet
    Xn, _, _ = load(tmp_path, y=0)
    assert X.shape == (6000, 4) and Xn.shape == (50, 2)
    with pytest.raises(ValueError, match="rows read in the client"):  # the guard works
        X.sum().compute(scheduler="sync")
    with pytest.raises(AssertionError, match="rows read in the client"):
        Xn.sum().compute(scheduler="sync")


def test_truncated_npy_chunk_is_one_line(tmp_path, rng):
    np.save(tmp_path / "a.npy", rng.standard_normal((100, 3)))
    np.save(tmp_path / "b.npy", rng.standard_normal((100, 3)))
    data = (tmp_path / "b.npy").read_bytes()
    (tmp_path / "b.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"b\.npy: not a readable \.npy file .*re-write it"):
        load(tmp_path)


def test_cli_resume_of_an_api_dask_checkpoint_says_what_is_missing(tmp_path, rng, capsys):
    """Item 3: a Dask checkpoint written through the API has no data source; `descend resume`
    says so in one line (it used to call it 'written by ds.minimize'), and ds.resume with the
    data continues it."""
    from descend.shells.cli import main

    _parquet_folder(tmp_path / "pq", rng, files=2)
    X, y, _ = load(tmp_path / "pq")
    ck = tmp_path / "api.ckpt"
    ds.fit(X, y, learning_rate=0.1, max_steps=5, tol=0, checkpoint=ck)
    assert main(["resume", str(ck), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not say where its data came from" in err
    assert "ds.minimize" not in err
    assert ds.resume(ck, X, y, max_steps=8).n_steps == 8


def test_every_pass_reads_each_chunk_once(tmp_path, rng, monkeypatch):
    """X's and y's chunks share one read task: the statistics pass and every Huber step read
    each Parquet chunk once (not once for X and again for y)."""
    import dask

    import descend.problems.distributed as dd

    _parquet_folder(tmp_path / "pq", rng, files=3)
    reads: dict[str, int] = {}
    real = dd._read_parquet

    def counted(f, groups, columns, first_row):
        reads[f] = reads.get(f, 0) + 1
        return real(f, groups, columns, first_row)

    passes = [0]
    real_reduce = dd.DaskObjective._reduce

    def counted_reduce(self, *args, **kwargs):
        passes[0] += 1
        return real_reduce(self, *args, **kwargs)

    monkeypatch.setattr(dd, "_read_parquet", counted)
    monkeypatch.setattr(dd.DaskObjective, "_reduce", counted_reduce)
    X, y, _ = load(tmp_path / "pq")
    with dask.config.set(scheduler="sync"):
        ds.fit(X, y, learning_rate="auto", warn=False)
        first = min(reads)  # the shift x₀ is its first row: one more read of that chunk
        assert reads == {f: 1 + (f == first) for f in reads} and len(reads) == 3
        reads.clear()
        ds.fit(X, y, loss="huber", learning_rate=0.5, max_steps=10, tol=0, warn=False)
    assert passes[0] >= 10
    assert reads == {f: 1 + passes[0] + (f == first) for f in reads}


def _centred(X, y):
    """Sxx, sxy, the means and syy by NumPy's two-pass centring (the outside reference)."""
    mx, my = X.mean(axis=0), y.mean()
    Xc, yc = X - mx, y - my
    return Xc.T @ Xc, Xc.T @ yc, mx, float(yc @ yc)


@pytest.mark.parametrize("case", ["raw", "offset", "late offset", "overflow"])
def test_dask_statistics_route_keeps_their_accuracy(rng, case):
    """The statistics pass reads each chunk's raw sums in place (as in memory) only where the
    in-memory rule accepts them. A column of mean 1e6 and spread 2 (raw sums would lose ~12
    digits of Sxx) is refused by the probe of the first rows; the same offset only after the
    probe's 1024 rows passes the probe and is refused on the finished sums (a second, shifted
    pass); values near 1e155 (raw squares overflow) are refused by the probe. Each against
    NumPy's two-pass centred sums, and against stats.moments."""
    from descend.problems import stats
    from descend.problems.distributed import moments_dask

    n = 100_000
    X = rng.standard_normal((n, 3)) * [1.0, 2.0, 0.5]
    if case == "offset":
        X[:, 1] += 1e6
    elif case == "late offset":  # after the probe's rows: r² = 1 + μ²/σ² ≈ 98 > 64
        X[stats.PROBE_ROWS :, 1] += 1e6
    elif case == "overflow":
        X[:, 1] = 1e155 + 1e150 * X[:, 1]
    y = X[:, 0] - X[:, 2] + 0.1 * rng.standard_normal(n)
    seen = []
    mom, digest = moments_dask(da.from_array(X, chunks=(10_000, 3)),
                               da.from_array(y, chunks=10_000), fingerprint=False,
                               progress=lambda i, t: seen.append(i))  # fmt: skip
    assert digest is None
    assert seen.count(0) == (2 if case == "late offset" else 1)  # the passes made
    Sxx, sxy, mx, syy = _centred(X, y)
    np.testing.assert_allclose(mom.Sxx, Sxx, rtol=1e-9, atol=1e-9 * np.abs(np.diag(Sxx)).min())
    np.testing.assert_allclose(mom.sxy, sxy, rtol=1e-9, atol=1e-9 * np.abs(sxy).max())
    np.testing.assert_allclose(mom.mean, mx, rtol=1e-12)
    assert mom.syy == pytest.approx(syy, rel=1e-9)
    mem = stats.moments(X, y)
    np.testing.assert_array_equal(mom.x0, mem.x0)
    np.testing.assert_allclose(mom.Sxx, mem.Sxx, rtol=1e-9, atol=1e-9 * np.abs(Sxx).max())


def test_dask_fingerprint_only_when_checkpointing(tmp_path, rng):
    """A fit without a checkpoint skips the per-chunk hashing; with one, the fingerprint is
    SHA-256 over (shape, chunk sizes) and each chunk's SHA-256 of its shapes and float64
    bytes — computed here by hashlib from the documented layout."""
    import hashlib

    X, y = _data(rng, n=3000)
    Xd, yd = da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000)
    plain = ds.fit(Xd, yd, learning_rate="auto")
    assert plain.objective.data_fingerprint is None
    res = ds.fit(Xd, yd, learning_rate="auto", checkpoint=str(tmp_path / "c.ckpt"))
    h = hashlib.sha256(repr(((3000, 4), (1000, 1000, 1000))).encode())
    for i in range(0, 3000, 1000):
        c = hashlib.sha256()
        for a in (X[i : i + 1000], y[i : i + 1000]):
            c.update(repr(a.shape).encode())
            c.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        h.update(c.hexdigest().encode())
    assert res.objective.data_fingerprint == h.hexdigest()
    np.testing.assert_array_equal(plain.params, res.params)


@pytest.mark.timeout(120)
def test_repeated_fits_on_one_client_keep_task_keys_consistent(tmp_path, rng, caplog):
    """On a distributed Client, a read of the Parquet chunks, two least-squares fits and a
    Huber fit in a row: every graph sent to the scheduler is optimised alike, so a chunk's key
    never names two different tasks (the scheduler warns, then may fail with a KeyError or
    hang)."""
    import logging

    distributed = pytest.importorskip("distributed")
    caplog.set_level(logging.WARNING, logger="distributed.scheduler")
    pytest.importorskip("pyarrow")
    _parquet_folder(tmp_path / "pq", rng, files=3)
    X, y, _ = load(tmp_path / "pq")
    ref = ds.fit(X.compute(), y.compute(), learning_rate="auto", warn=False)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as lc,
        distributed.Client(lc),
    ):
        (X.sum() + y.sum()).compute()
        for _ in range(2):
            res = ds.fit(X, y, learning_rate="auto", warn=False)
            np.testing.assert_allclose(res.params, ref.params, rtol=1e-9)
        ds.fit(X, y, loss="huber", learning_rate=0.5, max_steps=3, tol=0, warn=False)
    assert not [r for r in caplog.records if "run_spec" in r.getMessage()]


# ---------------------------------------------------------------------------------------------
# the compiled statistics kernels in the processes that run the chunks (issue 19, item 5)
# ---------------------------------------------------------------------------------------------
KERNEL_FITS = [
    {"learning_rate": "auto"},
    {"learning_rate": "auto", "optimizer": "momentum"},
    {"learning_rate": 0.05, "optimizer": "adam", "max_steps": 300},
    {"learning_rate": 0.1, "max_steps": 200},
]


def _words(message: str) -> str:
    import re

    return re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "#", message)


def _kernel_data(rng, n=60_000, d=8):
    base = rng.standard_normal((n, d))
    X = (base + 2.0 * base[:, :1]) * rng.uniform(0.5, 3, d) + rng.uniform(-2, 2, d)
    y = X @ rng.standard_normal(d) + 1.0 + 0.5 * rng.standard_normal(n)
    return X, y, da.from_array(X, chunks=(15_000, d)), da.from_array(y, chunks=15_000)


@pytest.mark.timeout(120)
def test_dask_fits_with_and_without_the_kernels_agree(rng, monkeypatch):
    """On the local schedulers the chunks run in this process: after opting in, every chunk's
    raw sums come from the kernels (counted), and the fits have the BLAS route's stop reasons,
    step counts and messages (but for numbers at rounding level), parameters to 1e-9; the
    threaded and the synchronous scheduler give bitwise the same fit (each chunk's sums
    depend on its values only, added in chunk order). ``DESCEND_NUMBA=0`` still wins."""
    pytest.importorskip("numba")
    import dask

    from descend.problems import fused
    from descend.problems.distributed import prepare_kernels

    calls: list[int] = []
    real = fused.block_sums

    def counted(*args):
        calls.append(1)
        return real(*args)

    X, y, Xd, yd = _kernel_data(rng)
    monkeypatch.setattr(fused, "block_sums", counted)
    monkeypatch.setattr(fused, "MIN_ENTRIES", 0)
    monkeypatch.delenv(fused.ENV, raising=False)
    monkeypatch.setattr(fused, "_KERNEL", [])
    assert prepare_kernels() == {"local": True}  # no Client: this process
    for kw in KERNEL_FITS:
        calls.clear()
        with dask.config.set(scheduler="threads", num_workers=2):
            a = ds.fit(Xd, yd, **kw)
        assert len(calls) >= 4, kw  # every chunk (4) by the kernels
        with dask.config.set(scheduler="sync"):
            s = ds.fit(Xd, yd, **kw)
        np.testing.assert_array_equal(a.params, s.params)
        monkeypatch.setenv(fused.ENV, "0")
        calls.clear()
        b = ds.fit(Xd, yd, **kw)
        monkeypatch.delenv(fused.ENV)
        assert not calls
        assert (a.stop_reason, a.n_steps) == (b.stop_reason, b.n_steps), kw
        assert _words(a.message) == _words(b.message), kw
        np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a.history.loss, b.history.loss, rtol=1e-10)
    # and the in-memory fit (same route, other blocks) to the same tolerance
    mem = ds.fit(X, y, learning_rate="auto")
    auto = ds.fit(Xd, yd, learning_rate="auto")
    np.testing.assert_allclose(auto.params, mem.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(auto.reference.coef, mem.reference.coef, rtol=1e-9)


def _kernel_calls() -> int:
    """Runs on a worker: how many kinds of array the kernels have run on there (0 before
    the first call: Numba compiles or loads a kernel at its first call)."""
    from descend.problems import fused

    if not fused.enabled():
        return -1
    return len(fused._kernel()[0].signatures)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_prepare_kernels_opts_in_every_worker_and_every_restart(rng, monkeypatch):
    """A worker process starts without the kernels; ``prepare_kernels`` loads them there, the
    fit's chunks run through them on the worker (its kernel has run), the fit is bitwise the
    one made by the kernels in this process, and a restarted worker has them again (the
    plugin)."""
    pytest.importorskip("numba")
    distributed = pytest.importorskip("distributed")
    import dask

    from descend.problems import fused
    from descend.problems.distributed import prepare_kernels

    X, y, Xd, yd = _kernel_data(rng)
    monkeypatch.setattr(fused, "MIN_ENTRIES", 0)  # read on this side, when the graph is made
    monkeypatch.delenv(fused.ENV, raising=False)
    fused.prepare()
    with dask.config.set(scheduler="threads"):
        here = ds.fit(Xd, yd, learning_rate="auto")
    monkeypatch.setenv(fused.ENV, "0")
    with dask.config.set(scheduler="threads"):
        blas = ds.fit(Xd, yd, learning_rate="auto")
    monkeypatch.delenv(fused.ENV)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
            env={fused.ENV: ""},
        ) as lc,
        distributed.Client(lc) as client,
    ):  # fmt: skip
        assert set(client.run(_kernel_calls).values()) == {-1}
        assert set(prepare_kernels().values()) == {True}
        assert set(client.run(_kernel_calls).values()) == {0}
        res = ds.fit(Xd, yd, learning_rate="auto")
        assert min(client.run(_kernel_calls).values()) >= 1
        client.restart()
        assert set(client.run(_kernel_calls).values()) == {0}
    np.testing.assert_array_equal(res.params, here.params)
    np.testing.assert_allclose(res.params, blas.params, rtol=1e-9, atol=1e-12)


@pytest.mark.timeout(60)
def test_statistics_pass_on_the_threaded_scheduler_runs_one_blas_thread(rng, monkeypatch):
    """Each chunk's BLAS calls run on one thread (the pass's rule, see problems/blas.py) also
    in the threaded scheduler's threads, where raw_scatter's own limit can change nothing:
    threadpoolctl lets only the thread that first limited OpenBLAS (here this one) change it.
    Two threaded BLAS calls at once made the pass several times slower under load."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import dask

    from descend.problems import blas
    from descend.problems import distributed as dd

    seen: list[int] = []
    real = dd.raw_scatter

    def recorded(*args, **kw):
        seen.append(blas.blas_threads())
        return real(*args, **kw)

    monkeypatch.setattr(dd, "raw_scatter", recorded)
    X, y = _data(rng, n=8000)
    with threadpoolctl.threadpool_limits(2):
        if blas.blas_threads() < 2:
            pytest.skip("BLAS runs one thread here")
        with dask.config.set(scheduler="threads", num_workers=2):
            dd.moments_dask(da.from_array(X, chunks=(2000, 4)), da.from_array(y, chunks=2000),
                            fingerprint=False)  # fmt: skip
        assert blas.blas_threads() == 2  # restored after the pass
    assert seen and set(seen) == {1}, seen
