"""Tests for descend.data.datasets: the embedded NIST StRD linear regression files."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest

from descend.data import datasets

#: md5 of each file as listed in /work/shared/data/nist-strd/README.md (NIST's CRLF bytes).
MD5 = {
    "Norris": "c0abd1d90c409e1823aee83005e5822d",
    "Pontius": "53042e4af05a3f93dfdf3db1f7cfef0d",
    "NoInt1": "cd44dc43b2ef0c7b958cd1fec57bb6e2",
    "NoInt2": "d05b7d7dd846f96644cd9f09c9b4d927",
    "Filip": "7bfcad7c8559c0baa134373f36c1cfef",
    "Longley": "2061b8f8819c5aae0f43dc87fcf658cf",
    "Wampler1": "1d3b4a90e8decb1c643a6591b86485ff",
    "Wampler2": "71def59855ed4a8a82b952f7b1b46366",
    "Wampler3": "c8448fa46078abb67688ad293b4bcf50",
    "Wampler4": "17def0c990fc2540f318546cef1ac2e4",
    "Wampler5": "370298953d65ddc3c06727da23fc8177",
}

#: name -> (n, d, number of certified parameters, model, difficulty, kind)
TABLE = {
    "norris": (36, 1, 2, "linear", "lower", "observed"),
    "pontius": (40, 1, 3, "poly:2", "lower", "observed"),
    "noint1": (11, 1, 1, "linear-nointercept", "average", "generated"),
    "noint2": (3, 1, 1, "linear-nointercept", "average", "generated"),
    "filip": (82, 1, 11, "poly:10", "higher", "observed"),
    "longley": (16, 6, 7, "linear", "higher", "observed"),
    "wampler1": (21, 1, 6, "poly:5", "higher", "generated"),
    "wampler2": (21, 1, 6, "poly:5", "higher", "generated"),
    "wampler3": (21, 1, 6, "poly:5", "higher", "generated"),
    "wampler4": (21, 1, 6, "poly:5", "higher", "generated"),
    "wampler5": (21, 1, 6, "poly:5", "higher", "generated"),
}


def test_names_in_nist_order() -> None:
    """names() lists the 11 datasets in NIST's conventional order; DEFAULT is one of them."""
    assert datasets.names() == list(TABLE)
    assert datasets.DEFAULT == "norris"


@pytest.mark.parametrize("name", list(TABLE))
def test_load_shapes_and_metadata(name: str) -> None:
    """Every dataset loads with the shapes, model and labels of the NIST table."""
    n, d, p, model, difficulty, kind = TABLE[name]
    ds = datasets.load(name)
    assert ds.name == name and ds.title.lower() == name
    assert ds.X.shape == (n, d) and ds.X.dtype == np.float64
    assert ds.y.shape == (n,) and ds.y.dtype == np.float64
    assert ds.certified.shape == (p,) and ds.certified_sd.shape == (p,)
    assert ds.model == model and ds.difficulty == difficulty and ds.kind == kind
    assert ds.intercept is (not name.startswith("noint"))
    assert ds.feature_names == (["x"] if d == 1 else [f"x{j}" for j in range(1, 7)])
    assert ds.target_name == "y"
    assert ds.reference and "\n" not in ds.description and ds.description.startswith(ds.title)


@pytest.mark.parametrize("name", list(TABLE))
def test_files_are_nist_bytes(name: str) -> None:
    """The embedded files' md5 equal those in the shared README: copied byte for byte (CRLF)."""
    title = datasets.load(name).title
    raw = resources.files("descend.data.datasets").joinpath("nist", f"{title}.dat").read_bytes()
    assert hashlib.md5(raw).hexdigest() == MD5[title]
    assert b"\r\n" in raw


def test_certified_values_norris() -> None:
    """Norris's certified block, copied from the file."""
    ds = datasets.load("Norris")
    assert ds.certified[0] == -0.262323073774029
    assert ds.certified[1] == 1.00211681802045
    assert ds.certified_sd[1] == 0.429796848199937e-03
    assert ds.residual_sd == 0.884796396144373
    assert ds.r_squared == 0.999993745883712
    assert ds.X[0, 0] == 0.2 and ds.y[0] == 0.1


def test_certified_values_others() -> None:
    """A few more literal values: Fortran exponents, Longley's B6, Wampler's zeros, NoInt."""
    pontius = datasets.load("pontius")
    assert pontius.certified[2] == -0.316081871345029e-14
    assert pontius.residual_sd == 0.205177424076185e-03
    longley = datasets.load("LONGLEY")
    assert longley.certified[0] == -3482258.63459582
    assert longley.certified[6] == 1829.15146461355
    assert longley.X[0].tolist() == [83.0, 234289, 2356, 1590, 107608, 1947]
    filip = datasets.load("filip")
    assert filip.certified[10] == -0.402962525080404e-04
    w1 = datasets.load("wampler1")
    assert w1.residual_sd == 0.0 and np.all(w1.certified_sd == 0.0) and w1.r_squared == 1.0
    w2 = datasets.load("wampler2")
    np.testing.assert_array_equal(w2.certified, [1.0, 0.1, 0.01, 0.001, 0.0001, 0.00001])
    noint1 = datasets.load("noint1")
    assert noint1.certified.tolist() == [2.07438016528926]
    assert noint1.r_squared == 0.999365492298663


@pytest.mark.parametrize("name", ["norris", "longley"])
def test_lstsq_agrees_with_certified(name: str) -> None:
    """Independent check: lstsq on the raw design matches the certified estimates to 1e-6."""
    ds = datasets.load(name)
    A = np.column_stack([np.ones(len(ds.y)), ds.X])
    beta = np.linalg.lstsq(A, ds.y, rcond=None)[0]
    np.testing.assert_allclose(beta, ds.certified, rtol=1e-6)


def test_noint_r_squared_is_uncentred() -> None:
    """NoInt1's R² is NIST's uncentred 1 - SSE/Σy²."""
    ds = datasets.load("noint1")
    x, y = ds.X[:, 0], ds.y
    sse = np.sum((y - ds.certified[0] * x) ** 2)
    assert abs(1 - sse / np.sum(y**2) - ds.r_squared) < 1e-12


def test_load_unknown_lists_names() -> None:
    """An unknown name raises ValueError listing the available names."""
    with pytest.raises(ValueError, match=r"unknown dataset 'iris'.*norris.*wampler5"):
        datasets.load("iris")


def test_load_returns_copies_cache_not_corrupted() -> None:
    """Changing a loaded dataset's arrays does not affect the next load."""
    a = datasets.load("norris")
    a.X[:] = 0.0
    a.y[:] = 0.0
    a.certified[:] = 0.0
    a.feature_names.append("junk")
    b = datasets.load("norris")
    assert b.X[0, 0] == 0.2 and b.y[0] == 0.1
    assert b.certified[1] == 1.00211681802045
    assert b.feature_names == ["x"]
