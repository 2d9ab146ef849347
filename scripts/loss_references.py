"""descend's Huber, log-loss and MAE fits against outside solvers, as a Markdown table.

Every fit is ``ds.fit(X, y, loss=…, learning_rate="auto")`` with the default stopping rules.
Each is compared, by the *same* loss function evaluated on the raw data, with

- **Huber, log loss**: ``scipy.optimize.minimize(method="L-BFGS-B")`` on the identical
  objective (``ds.objective(X, y, loss=…)``: descend's loss, the same standardised design),
  with the analytic gradient and tight tolerances;
- **log loss**: also scikit-learn's ``LogisticRegression(penalty=None)``;
- **MAE**: scikit-learn's ``QuantileRegressor(quantile=0.5, alpha=0, solver="highs")``, a
  linear program solved exactly (HiGHS).

The relative excess is (L_descend − L_ref)/|L_ref|; negative means descend went lower.

    PYTHONPATH=src python scripts/loss_references.py            # the table in docs/losses.md
    PYTHONPATH=src python scripts/loss_references.py --quick    # the cases the tests check

``tests/test_losses.py`` imports this file and checks the quick cases against the targets.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import descend as ds
from descend.problems.losses import get_loss

#: the relative excess each loss must reach (the MAE's smoothing continuation: 1e-8)
TARGETS = {"huber": 1e-10, "logloss": 1e-10, "mae": 1e-8}


def _sk() -> Any:
    from sklearn import datasets

    return datasets


def _nist(name: str) -> Callable[[], tuple[Any, Any]]:
    def load() -> tuple[Any, Any]:
        d = ds.datasets.load(name)
        return d.X, d.y

    return load


def _diabetes() -> tuple[Any, Any]:
    return _sk().load_diabetes(return_X_y=True)


def _linnerud() -> tuple[Any, Any]:
    X, Y = _sk().load_linnerud(return_X_y=True)
    return X, Y[:, 0]  # the three exercises → body weight


def _breast_cancer(columns: int | None = None) -> Callable[[], tuple[Any, Any]]:
    def load() -> tuple[Any, Any]:
        X, y = _sk().load_breast_cancer(return_X_y=True)
        return (X if columns is None else X[:, :columns]), y.astype(float)

    return load


def _wine(columns: int | None = None) -> Callable[[], tuple[Any, Any]]:
    def load() -> tuple[Any, Any]:
        X, y = _sk().load_wine(return_X_y=True)
        return (X if columns is None else X[:, :columns]), (y == 0).astype(float)

    return load


def _iris(cls: int) -> Callable[[], tuple[Any, Any]]:
    def load() -> tuple[Any, Any]:
        X, y = _sk().load_iris(return_X_y=True)
        return X, (y == cls).astype(float)

    return load


@dataclass(frozen=True)
class Case:
    """One loss on one data set; ``quick`` cases are the ones the tests run."""

    loss: str
    name: str
    load: Callable[[], tuple[Any, Any]]
    quick: bool = False
    note: str = ""


SEPARABLE = "separable: no minimiser, the infimum 0 is approached, not attained"

CASES = [
    Case("huber", "diabetes", _diabetes),
    Case("huber", "linnerud (weight)", _linnerud, quick=True),
    Case("huber", "NIST Norris", _nist("norris"), quick=True),
    Case("huber", "NIST Longley", _nist("longley")),
    Case("logloss", "breast cancer (30 features)", _breast_cancer(), note=SEPARABLE),
    Case("logloss", "breast cancer (10 mean features)", _breast_cancer(10)),
    Case("logloss", "wine class 0 (13 features)", _wine(), note=SEPARABLE),
    Case("logloss", "wine class 0 (alcohol, malic acid)", _wine(2), quick=True),
    Case("logloss", "iris versicolor", _iris(1), quick=True),
    Case("logloss", "iris virginica", _iris(2), quick=True),
    Case("mae", "diabetes", _diabetes),
    Case("mae", "linnerud (weight)", _linnerud, quick=True),
    Case("mae", "NIST Norris", _nist("norris"), quick=True),
    Case("mae", "NIST Longley", _nist("longley")),
]


def lbfgs_loss(X: Any, y: Any, loss: str) -> float:
    """The minimum L-BFGS-B finds for ``ds.objective(X, y, loss=loss)`` (analytic gradient)."""
    from scipy.optimize import minimize

    obj = ds.objective(X, y, loss=loss)
    res = minimize(
        obj.value_and_grad,
        np.zeros(obj.n_params),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 100_000, "maxfun": 200_000, "ftol": 1e-15, "gtol": 1e-13, "maxcor": 30},
    )
    return float(obj.value(res.x))


def sklearn_logistic_loss(X: Any, y: Any) -> float:
    """LogisticRegression(penalty=None)'s fit, scored by descend's log loss on the raw data."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    Z = StandardScaler().fit_transform(X)  # the same problem, better conditioned for lbfgs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separable data: lbfgs stops at max_iter
        clf = LogisticRegression(penalty=None, tol=1e-12, max_iter=100_000).fit(Z, y)
    return get_loss("logloss").value(np.asarray(y, float), clf.decision_function(Z))


def quantile_loss(X: Any, y: Any) -> float:
    """QuantileRegressor(quantile=0.5, alpha=0, solver="highs")'s fit: the exact MAE minimum
    of the linear program, scored by descend's MAE on the raw data."""
    from sklearn.linear_model import QuantileRegressor

    q = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, y)
    return get_loss("mae").value(np.asarray(y, float), q.predict(X))


def references(case: Case, X: Any, y: Any) -> dict[str, float]:
    """The outside solvers' losses for ``case``, by name."""
    if case.loss == "mae":
        return {"QuantileRegressor (HiGHS)": quantile_loss(X, y)}
    out = {"L-BFGS-B": lbfgs_loss(X, y, case.loss)}
    if case.loss == "logloss":
        out["LogisticRegression"] = sklearn_logistic_loss(X, y)
    return out


@dataclass
class Row:
    """A measured case: descend's loss, the references, the relative excesses."""

    case: Case
    n: int
    d: int
    loss: float
    refs: dict[str, float]
    stop_reason: str
    steps: int
    seconds: float

    def excess(self, ref: float) -> float:
        return (self.loss - ref) / max(abs(ref), np.finfo(np.float64).tiny)

    @property
    def worst(self) -> float:
        """The largest relative excess over the references."""
        return max(self.excess(r) for r in self.refs.values())

    @property
    def met(self) -> bool:
        return self.worst <= TARGETS[self.case.loss]


def measure(case: Case) -> Row:
    """Fit ``case`` with learning_rate="auto" and default stopping; solve the references."""
    X, y = case.load()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ds.DataWarning)
        res = ds.fit(X, y, loss=case.loss, learning_rate="auto")
    seconds = time.perf_counter() - t0
    loss = get_loss(case.loss).value(y, res.predict(X))
    return Row(case, X.shape[0], X.shape[1], loss, references(case, X, y), res.stop_reason,
               res.n_steps, seconds)  # fmt: skip


def table(rows: list[Row]) -> str:
    """The Markdown table."""
    lines = [
        "| loss | data set | n × d | reference | L_ref | L_descend | relative excess | "
        "descend's verdict (steps) | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for i, (name, ref) in enumerate(r.refs.items()):
            first = i == 0
            target = TARGETS[r.case.loss]
            if r.case.note:
                verdict = r.case.note
            elif r.excess(ref) <= target:
                verdict = f"≤ {target:g} ✓"
            else:
                verdict = f"**not met** (> {target:g})"
            lines.append(
                f"| {r.case.loss if first else ''} | {r.case.name if first else ''} | "
                f"{f'{r.n} × {r.d}' if first else ''} | {name} | {ref:.12g} | "
                f"{r.loss:.12g} | {r.excess(ref):.2g} | "
                f"{f'{r.stop_reason} ({r.steps})' if first else ''} | {verdict} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the cases the tests check")
    args = parser.parse_args(argv)
    rows = [measure(c) for c in CASES if c.quick or not args.quick]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
