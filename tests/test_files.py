"""Tables from .npy, .npz, Parquet and Feather files (read directly, without --dask)."""

import sys

import numpy as np
import pytest

from descend.data.files import read_table
from descend.data.names import MissingExtraError
from descend.data.tables import DataError
from descend.descent.serialize import load_result
from descend.shells.cli import main


@pytest.fixture
def table(rng):
    a = rng.normal(size=(40, 3))
    a[:, 2] = 2 * a[:, 0] - a[:, 1] + 1
    return a


def test_npy_and_npz_read_back_what_was_written(tmp_path, table):
    """A 2-D .npy is x1…, y (last column); an .npz with X and y uses them as they are."""
    np.save(tmp_path / "d.npy", table)
    np.savez(tmp_path / "d.npz", X=table[:, :2], y=table[:, 2])
    for name in ("d.npy", "d.npz"):
        X, y, names, target = read_table(tmp_path / name)
        np.testing.assert_array_equal(X, table[:, :2])
        np.testing.assert_array_equal(y, table[:, 2])
        assert names == ["x1", "x2"] and target == "y"


@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_arrow_files_by_column_name(tmp_path, table, suffix):
    """Parquet and Feather files are read by their column names; text columns can be left out."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    df = pd.DataFrame(table, columns=["p", "q", "r"])
    df["label"] = "text"
    path = tmp_path / f"d{suffix}"
    df.to_parquet(path) if suffix == ".parquet" else df.to_feather(path)
    X, y, names, target = read_table(path, x=["p", "q"], y="r")
    np.testing.assert_array_equal(X, table[:, :2])
    np.testing.assert_array_equal(y, table[:, 2])
    with pytest.raises(DataError, match="column 'label' is not numeric"):
        read_table(path)


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    """No pyarrow: one line with the install command (not 'is not UTF-8 text')."""
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtraError, match=r'pip install "descend\[parquet\]"'):
        read_table(tmp_path / "d.parquet")


def test_descend_fit_reads_npy(tmp_path, table, capsys):
    """`descend fit d.npy --lr auto` fits y = 2·x1 − x2 + 1 exactly (the data's own law)."""
    np.save(tmp_path / "d.npy", table)
    out = str(tmp_path / "r.json")
    assert main(["fit", str(tmp_path / "d.npy"), "--lr", "auto", "--json", out]) == 0
    res = load_result(out)
    np.testing.assert_allclose(res.intercept, 1, atol=1e-8)
    np.testing.assert_allclose(res.coef, [2, -1], atol=1e-8)
    capsys.readouterr()
