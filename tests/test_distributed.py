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
    zarr = pytest.importorskip("zarr")
    store = zarr.open_group(str(tmp_path / "d.zarr"), mode="w")
    store.create_array("X", data=X, chunks=(500, 4))
    store.create_array("y", data=y, chunks=(500,))
    Xz, yz, _ = load(tmp_path / "d.zarr")
    np.testing.assert_allclose(yz.compute(), y)
