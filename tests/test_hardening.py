"""Bad input at every entry point: a clear error, or it works (never silently wrong numbers).

Rows are the bad inputs; entry points are ds.fit, ds.objective, FitResult.predict, the
GDRegressor estimator (fit and predict) and the CLI (``descend fit`` on a CSV file). Each
(entry point, row) pair is one parametrized test. docs/reliability.md has the table.
"""

import warnings

import numpy as np
import pytest

import descend as ds
from descend.data.tables import DataError, DataWarning
from descend.shells.cli import main

sparse = pytest.importorskip("scipy.sparse")
pytest.importorskip("sklearn")

from sklearn.exceptions import DataConversionWarning  # noqa: E402

from descend.estimators import GDRegressor  # noqa: E402

N = 30


def _X():
    rng = np.random.default_rng(5)
    return rng.uniform(-2, 2, (N, 2))


def _y(X):
    return X @ [1.5, -0.5] + 2.0


def _with(value, where="X"):
    X = _X()
    y = _y(X)
    if where == "X":
        X[3, 1] = value
    else:
        y[4] = value
    return X, y


def _obj_text():
    X = _X().astype(object)
    X[2, 0] = "abc"
    return X, _y(_X())


def _ro():
    X = _X()
    y = _y(X)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


#: row -> (X, y) for fitting
FIT_INPUTS = {
    "nan_X": lambda: _with(np.nan),
    "inf_X": lambda: _with(np.inf),
    "nan_y": lambda: _with(np.nan, "y"),
    "empty": lambda: (np.zeros((0, 2)), np.zeros(0)),
    "zero_features": lambda: (np.zeros((N, 0)), np.zeros(N)),
    "one_sample": lambda: (_X()[:1], _y(_X())[:1]),
    "object_text": _obj_text,
    "complex": lambda: (_X() + 1j, _y(_X())),
    "string": lambda: (_X().astype(str), _y(_X())),
    "wrong_y_length": lambda: (_X(), _y(_X())[:-1]),
    "y_2d_columns": lambda: (_X(), np.c_[_y(_X()), _y(_X())]),
    "y_column_vector": lambda: (_X(), _y(_X()).reshape(-1, 1)),
    "sparse_small": lambda: (sparse.csr_matrix(_X()), _y(_X())),
    "sparse_huge": lambda: (sparse.csr_matrix((2_000_000, 100)), np.zeros(2_000_000)),
    "read_only": _ro,
    "fortran": lambda: (np.asfortranarray(_X()), _y(_X())),
    "huge_1e200_X": lambda: _with(1e200),
    "huge_1e200_y": lambda: _with(1e200, "y"),
    "tiny_1e-200": lambda: (_X() * 1e-200, _y(_X())),
}

#: row -> X for predicting with a model fitted on _X()
PREDICT_INPUTS = {
    "nan_X": lambda: _with(np.nan)[0],
    "inf_X": lambda: _with(np.inf)[0],
    "empty": lambda: np.zeros((0, 2)),
    "zero_features": lambda: np.zeros((N, 0)),
    "object_text": lambda: _obj_text()[0],
    "complex": lambda: _X() + 1j,
    "string": lambda: _X().astype(str),
    "wrong_feature_count": lambda: np.c_[_X(), _X()[:, 0]],
    "sparse_small": lambda: sparse.csr_matrix(_X()),
    "read_only": lambda: _ro()[0],
    "fortran": lambda: np.asfortranarray(_X()),
    "huge_1e200_X": lambda: _with(1e200)[0],
}

WORKS = ("works", None, None)


def works(warning):
    return ("works", warning, None)


def raises(exc, pattern):
    return ("raises", exc, pattern)


LIBRARY = {  # ds.fit and ds.objective
    "nan_X": raises(DataError, r"X has 1 missing or non-finite cell .*column 'x2'.*row 4"),
    "inf_X": raises(DataError, r"1 infinite.*row 4"),
    "nan_y": raises(DataError, r"y has 1 missing .*row 5"),
    "empty": raises(DataError, r"X is empty: 0 rows"),
    "zero_features": raises(DataError, r"X is empty: 30 rows and 0 columns"),
    "one_sample": raises(DataError, r"only 1 sample"),
    "object_text": raises(DataError, r"column 'x1' holds text.*row 3 has 'abc'"),
    "complex": raises(DataError, r"complex.*real numbers only"),
    "string": raises(DataError, r"numbers stored as text"),
    "wrong_y_length": raises(DataError, r"X has 30 rows but y has 29 values"),
    "y_2d_columns": raises(DataError, r"y has shape \(30, 2\): 2 columns"),
    "y_column_vector": WORKS,
    "sparse_small": works(DataWarning),
    "sparse_huge": raises(DataError, r"sparse.*GiB dense"),
    "read_only": WORKS,
    "fortran": WORKS,
    "huge_1e200_X": raises(DataError, r"column 'x2' of X holds values as large as 1e\+200.*overfl"),
    "huge_1e200_y": raises(DataError, r"y holds values as large as 1e\+200.*Rescale"),
    "tiny_1e-200": raises(DataError, r"underflow"),
}
OBJECTIVE = {**LIBRARY, "one_sample": WORKS}  # a function of θ is defined on one row

PREDICT = {
    "nan_X": raises(DataError, r"NaN"),
    "inf_X": raises(DataError, r"infinite"),
    "empty": raises(DataError, r"X is empty"),
    "zero_features": raises(DataError, r"X is empty"),
    "object_text": raises(DataError, r"holds text"),
    "complex": raises(DataError, r"complex"),
    "string": raises(DataError, r"numbers stored as text"),
    "wrong_feature_count": raises(ValueError, r"X has 3 feature column\(s\) but the model was"),
    "sparse_small": works(DataWarning),
    "read_only": WORKS,
    "fortran": WORKS,
    "huge_1e200_X": WORKS,  # predictions are finite and exact: ŷ = b + w·x needs no squares
}

ESTIMATOR = {
    "nan_X": raises(ValueError, r"Input X contains NaN"),
    "inf_X": raises(ValueError, r"Input X contains infinity"),
    "nan_y": raises(ValueError, r"Input y contains NaN"),
    "empty": raises(ValueError, r"0 sample\(s\)"),
    "zero_features": raises(ValueError, r"0 feature\(s\)"),
    "one_sample": raises(ValueError, r"only 1 sample"),
    "object_text": raises(ValueError, r"could not convert string to float: 'abc'"),
    "complex": raises(ValueError, r"Complex data not supported"),
    "string": WORKS,  # scikit-learn converts numeric strings, as all its estimators do
    "wrong_y_length": raises(ValueError, r"inconsistent numbers of samples: \[30, 29\]"),
    "y_2d_columns": raises(ValueError, r"y should be a 1d array"),
    "y_column_vector": works(DataConversionWarning),
    "sparse_small": works(DataWarning),
    "sparse_huge": raises(DataError, r"sparse.*GiB dense"),
    "read_only": WORKS,
    "fortran": WORKS,
    "huge_1e200_X": raises(DataError, r"overflow"),
    "huge_1e200_y": raises(DataError, r"overflow"),
    "tiny_1e-200": raises(DataError, r"underflow"),
}
ESTIMATOR_PREDICT = {
    **{k: v for k, v in ESTIMATOR.items() if k in PREDICT_INPUTS},
    "wrong_feature_count": raises(ValueError, r"X has 3 features, but GDRegressor is expecting 2"),
    "huge_1e200_X": WORKS,
}


def check(outcome, call):
    kind, exc, pattern = outcome
    if kind == "raises":
        with pytest.raises(exc, match=pattern):
            call()
        return None
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call()
    if exc is not None:
        assert any(issubclass(w.category, exc) for w in seen), [str(w.message) for w in seen]
    return out


@pytest.mark.parametrize("row", sorted(LIBRARY))
def test_fit(row):
    """ds.fit: each bad input raises a DataError naming the problem, or fits correctly."""
    X, y = FIT_INPUTS[row]()
    res = check(LIBRARY[row], lambda: ds.fit(X, y, learning_rate="auto"))
    if res is not None:
        np.testing.assert_allclose(res.coef, [1.5, -0.5], rtol=1e-6)


@pytest.mark.parametrize("row", sorted(OBJECTIVE))
def test_objective(row):
    """ds.objective: the same checks as fit (one row is a valid function of θ)."""
    X, y = FIT_INPUTS[row]()
    obj = check(OBJECTIVE[row], lambda: ds.objective(X, y))
    if obj is not None:
        assert np.isfinite(obj.value(np.zeros(obj.n_params)))


@pytest.fixture(scope="module")
def fitted():
    X = _X()
    return ds.fit(X, _y(X), learning_rate="auto"), GDRegressor().fit(X, _y(X))


@pytest.mark.parametrize("row", sorted(PREDICT))
def test_predict(row, fitted):
    """FitResult.predict: bad X raises; read-only, Fortran, sparse and huge X predict right."""
    X = PREDICT_INPUTS[row]()
    pred = check(PREDICT[row], lambda: fitted[0].predict(X))
    if pred is not None:
        dense = X.toarray() if sparse.issparse(X) else np.asarray(X)
        np.testing.assert_allclose(pred, _y(dense), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("row", sorted(ESTIMATOR))
def test_estimator_fit(row):
    """GDRegressor.fit: scikit-learn's messages for what it validates, descend's for the rest."""
    X, y = FIT_INPUTS[row]()
    est = check(ESTIMATOR[row], lambda: GDRegressor().fit(X, y))
    if est is not None:
        np.testing.assert_allclose(est.coef_, [1.5, -0.5], rtol=1e-6)


@pytest.mark.parametrize("row", sorted(ESTIMATOR_PREDICT))
def test_estimator_predict(row, fitted):
    """GDRegressor.predict: wrong feature count and non-finite input raise; the rest predict."""
    X = PREDICT_INPUTS[row]()
    pred = check(ESTIMATOR_PREDICT[row], lambda: fitted[1].predict(X))
    if pred is not None:
        dense = X.toarray() if sparse.issparse(X) else np.asarray(X, dtype=float)
        np.testing.assert_allclose(pred, _y(dense), rtol=1e-6, atol=1e-8)


CSV = {  # row -> (file text, needle in the one-line error), or None text for "works"
    "nan_X": ("a,b,y\n1,2,3\n2,nan,4\n3,1,5\n", "NaN or infinite"),
    "inf_X": ("a,b,y\n1,2,3\n2,inf,4\n3,1,5\n", "NaN or infinite"),
    "nan_y": ("a,b,y\n1,2,3\n2,1,NaN\n3,1,5\n", "column 'y'"),
    "empty": ("", "is empty"),
    "header_only": ("a,b,y\n", "no data rows"),
    "zero_features": ("y\n1\n2\n3\n", "a feature column is needed"),
    "one_sample": ("a,b,y\n1,2,3\n", "only 1 sample"),
    "object_text": ("a,b,y\n1,2,3\n2,abc,4\n3,1,5\n", "'abc', which is not a number"),
    "complex": ("a,b,y\n1,2,3\n2,1+2j,4\n3,1,5\n", "'1+2j', which is not a number"),
    "wrong_y_length": ("a,b,y\n1,2,3\n2,1\n3,1,5\n", "line 3 has 2 cells"),
    "missing_cell": ("a,b,y\n1,2,3\n2,,4\n3,1,5\n", "missing value in column 'b'"),
    "huge_1e200_X": ("a,b,y\n1,2,3\n2,1e200,4\n3,1,5\n", "overflow"),
    "tiny_1e-200": ("a,y\n1e-200,3\n2e-200,4\n3e-200,5\n", "underflow"),
    "not_utf8": (b"a,y\n\xff,1\n", "not UTF-8"),
}


@pytest.mark.parametrize("row", sorted(CSV))
def test_cli(row, tmp_path, capsys):
    """descend fit FILE.csv: exit status 2 and one 'descend: error:' line naming the problem."""
    text, needle = CSV[row]
    path = tmp_path / "d.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    assert main(["fit", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("descend: error:") and needle in err[0], err


@pytest.mark.parametrize("optimizer", [object(), 3, None], ids=["object", "int", "none"])
def test_fit_rejects_a_non_optimizer(optimizer):
    """ds.fit(optimizer=<not a name or optimizer>) raises a TypeError naming the fix."""
    X = np.linspace(0.0, 1.0, 20)[:, None]
    with pytest.raises(TypeError, match="optimizer must be a name such as 'adam'"):
        ds.fit(X, 2.0 * X[:, 0] + 1.0, optimizer=optimizer)


@pytest.mark.parametrize("seed", ["x", 1.5, True])
def test_fit_names_a_bad_seed(seed):
    """A seed that is not a whole number is refused with a message naming it."""
    import descend as ds

    with pytest.raises(TypeError, match="seed must be a whole number"):
        ds.fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0], seed=seed)
