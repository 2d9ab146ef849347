"""Reference datasets shipped with descend: the 11 NIST StRD linear least-squares problems.

Each dataset comes with NIST's certified least-squares estimates (to 15 significant digits), so a
fit can be checked against a known answer::

    >>> from descend.data import datasets
    >>> ds = datasets.load("norris")
    >>> ds.X.shape, ds.y.shape, ds.model
    ((36, 1), (36,), 'linear')
    >>> float(ds.certified[1])
    1.00211681802045

The files are NIST's original text (CRLF line endings), stored under ``datasets/nist``; see the
README there for the citation. Source: NIST/ITL Statistical Reference Datasets, Linear Least
Squares Regression, https://www.itl.nist.gov/div898/strd/lls/lls.shtml (public domain).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["Dataset", "names", "load", "DEFAULT"]

DEFAULT = "norris"

#: NIST's file stems in their conventional order (lower / average / higher difficulty).
_TITLES = (
    "Norris",
    "Pontius",
    "NoInt1",
    "NoInt2",
    "Filip",
    "Longley",
    "Wampler1",
    "Wampler2",
    "Wampler3",
    "Wampler4",
    "Wampler5",
)
_BY_NAME = {t.lower(): t for t in _TITLES}


@dataclass(frozen=True, eq=False)
class Dataset:
    """One NIST StRD linear regression problem with its certified results.

    Attributes
    ----------
    name : str
        Lower-case key for :func:`load`, e.g. ``"norris"``.
    title : str
        NIST's name, e.g. ``"Norris"``.
    X : ndarray of float64, shape (n, d)
        The raw predictor columns as in the file (one ``x`` column for the polynomial problems,
        the six columns ``x1 .. x6`` for Longley). No powers, no intercept column.
    y : ndarray of float64, shape (n,)
        The response.
    feature_names : list of str, length d
        ``["x"]`` or ``["x1", ..., "x6"]``, as in the file's data header.
    target_name : str
        ``"y"``.
    model : str
        The descend model spec that matches NIST's model: ``"linear"``, ``"poly:k"`` or
        ``"linear-nointercept"``.
    certified : ndarray of float64, shape (p,)
        NIST's certified estimates B0, B1, ... in NIST's order (NoInt1/2: only B1).
    certified_sd : ndarray of float64, shape (p,)
        Their certified standard deviations.
    residual_sd : float
        Certified residual standard deviation (exactly 0 for Wampler1 and Wampler2).
    r_squared : float
        Certified R² as NIST gives it (uncentred, 1 − SSE/Σy², for NoInt1 and NoInt2).
    difficulty : str
        NIST's level: ``"lower"``, ``"average"`` or ``"higher"``.
    kind : str
        ``"observed"`` or ``"generated"`` data.
    intercept : bool
        Whether the model has an intercept B0 (False for NoInt1 and NoInt2).
    description : str
        One line: the topic from the reference (if any), the kind of data and NIST's model.
    reference : str
        The citation from the file header, on one line.
    """

    name: str
    title: str
    X: Array = field(repr=False)
    y: Array = field(repr=False)
    feature_names: list[str]
    target_name: str
    model: str
    certified: Array = field(repr=False)
    certified_sd: Array = field(repr=False)
    residual_sd: float
    r_squared: float
    difficulty: str
    kind: str
    intercept: bool
    description: str = field(repr=False)
    reference: str = field(repr=False)

    @property
    def n_params(self) -> int:
        """Number of certified parameters, ``len(certified)``."""
        return int(self.certified.shape[0])

    def _repr_html_(self) -> str:
        """Notebook display: what the data are, the first rows, NIST's certified answers."""
        from descend.data.html import esc, kv_table, num, section, table

        n = self.X.shape[0]
        head = [[*(num(v, 8) for v in self.X[i]), num(self.y[i], 8)] for i in range(min(n, 5))]
        if n > 5:
            head.append(["…"] * (len(self.feature_names) + 1))
        first = 0 if self.intercept else 1
        cert = [
            [f"B{first + k}", num(v, 15), num(sd, 6)]
            for k, (v, sd) in enumerate(zip(self.certified, self.certified_sd, strict=True))
        ]
        return section(
            f"NIST StRD {self.title} ({self.difficulty} difficulty, {self.kind} data)",
            kv_table([
                ("load", f"ds.datasets.load({self.name!r})"),
                ("rows × columns", f"{n} × {len(self.feature_names)}"),
                ("model", self.model),
                ("about", self.description),
                ("certified residual SD, R²", f"{num(self.residual_sd, 10)}, "
                                              f"{num(self.r_squared, 10)}"),
            ]),
            table([*self.feature_names, self.target_name], head,
                  numeric=[True] * (len(self.feature_names) + 1)),
            table(["parameter", "certified value", "certified SD"], cert,
                  numeric=[False, True, True]),
            f'<div style="font-size:80%;color:#555">{esc(self.reference)}</div>',
        )  # fmt: skip


def names() -> list[str]:
    """The dataset names in NIST's conventional order.

    Returns
    -------
    list of str
        ``["norris", "pontius", "noint1", "noint2", "filip", "longley", "wampler1", ...,
        "wampler5"]``.
    """
    return [t.lower() for t in _TITLES]


def load(name: str) -> Dataset:
    """Load one NIST StRD dataset by name (case-insensitive).

    Parameters
    ----------
    name : str
        One of :func:`names`, e.g. ``"Norris"`` or ``"longley"``.

    Returns
    -------
    Dataset
        Parsed once and cached; every call returns fresh copies of the arrays and of
        ``feature_names``, so changing them cannot affect later calls.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the available names.
    """
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in _BY_NAME:
        raise ValueError(
            f"unknown dataset {name!r}; available: {', '.join(names())} (case-insensitive)."
        )
    cached = _parse(_BY_NAME[key])
    return dataclasses.replace(
        cached,
        X=cached.X.copy(),
        y=cached.y.copy(),
        feature_names=list(cached.feature_names),
        certified=cached.certified.copy(),
        certified_sd=cached.certified_sd.copy(),
    )


# ----------------------------------------------------------------------------------------------
# parsing NIST's header
# ----------------------------------------------------------------------------------------------

_RANGE = r"\(lines\s+(\d+)\s+to\s+(\d+)\)"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][-+]?\d+)?"


def _float(text: str) -> float:
    """A Fortran-style number (E or D exponent) as a float."""
    return float(text.replace("D", "E").replace("d", "e"))


def _search(pattern: str, text: str, what: str, title: str) -> re.Match[str]:
    m = re.search(pattern, text, flags=re.MULTILINE)
    if m is None:  # pragma: no cover - the shipped files are fixed
        raise RuntimeError(f"{title}.dat: cannot find {what} in the header")
    return m


def _block_after(lines: list[str], label: str) -> list[str]:
    """The text of a header field such as 'Reference:' and its continuation lines."""
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith(label):
            out.append(line[len(label) :].strip())
            for cont in lines[i + 1 :]:
                if not cont.strip() or re.match(r"^\S", cont):
                    break
                out.append(cont.strip())
            break
    return [s for s in out if s]


@functools.cache
def _parse(title: str) -> Dataset:
    raw = resources.files(__name__).joinpath("nist", f"{title}.dat").read_bytes()
    text = raw.decode("ascii")
    lines = text.splitlines()  # handles the CRLF endings
    header = "\n".join(lines[:60])

    cert_m = _search(r"Certified Values\s+" + _RANGE, header, "the certified-values range", title)
    data_m = _search(r"Data\s+" + _RANGE, header, "the data range", title)
    c_first, c_last = int(cert_m.group(1)), int(cert_m.group(2))
    d_first, d_last = int(data_m.group(1)), int(data_m.group(2))

    n_obs = int(_search(r"(\d+)\s+Observations", header, "the number of observations", title)[1])
    n_pred = int(_search(r"(\d+)\s+Predictor Variable", header, "the predictors", title)[1])
    difficulty = _search(r"(Lower|Average|Higher)\s+Level of Difficulty", header, "level", title)[1]
    kind = _search(r"(Observed|Generated)\s+Data", header, "the kind of data", title)[1]
    equation = _search(r"^\s*(y\s*=.*?)\s*$", header, "the model equation", title)[1]

    cert_lines = lines[c_first - 1 : c_last]
    params: list[tuple[int, float, float]] = []
    residual_sd = r_squared = None
    for line in cert_lines:
        m = re.match(rf"^\s*B(\d+)\s+({_NUMBER})\s+({_NUMBER})\s*$", line)
        if m:
            params.append((int(m[1]), _float(m[2]), _float(m[3])))
            continue
        m = re.match(rf"^\s*Standard Deviation\s+({_NUMBER})\s*$", line)
        if m:
            residual_sd = _float(m[1])
            continue
        m = re.match(rf"^\s*R-Squared\s+({_NUMBER})\s*$", line)
        if m:
            r_squared = _float(m[1])
    if not params or residual_sd is None or r_squared is None:  # pragma: no cover
        raise RuntimeError(f"{title}.dat: incomplete certified block (lines {c_first}-{c_last})")
    indices = [p[0] for p in params]
    if indices != list(range(indices[0], indices[0] + len(indices))):  # pragma: no cover
        raise RuntimeError(f"{title}.dat: parameters out of order: {indices}")

    # The line just above the data block names the columns: "Data:   y   x1   x2 ..."
    columns = lines[d_first - 2].split(":", 1)[1].split()
    rows = [[_float(v) for v in line.split()] for line in lines[d_first - 1 : d_last]]
    data = np.array(rows, dtype=np.float64)
    if data.shape != (n_obs, 1 + n_pred) or len(columns) != 1 + n_pred:  # pragma: no cover
        raise RuntimeError(f"{title}.dat: data block has shape {data.shape}")

    intercept = indices[0] == 0
    if not intercept:
        model = "linear-nointercept"
    elif n_pred > 1 or indices[-1] == 1:
        model = "linear"
    else:
        model = f"poly:{indices[-1]}"

    ref_lines = _block_after(lines[:60], "Reference:")
    reference = " ".join(ref_lines)
    topic = " ".join(ref_lines[1:]).split(". ")[0].rstrip(". ")  # the cited work's title
    lead = f"{title}: {topic}; " if topic else f"{title}: "
    description = f"{lead}{kind.lower()} data, {n_obs} observations, {equation}"

    X = np.ascontiguousarray(data[:, 1:])
    y = data[:, 0].copy()
    certified = np.array([p[1] for p in params])
    certified_sd = np.array([p[2] for p in params])
    for arr in (X, y, certified, certified_sd):
        arr.setflags(write=False)
    return Dataset(
        name=title.lower(),
        title=title,
        X=X,
        y=y,
        feature_names=columns[1:],
        target_name=columns[0],
        model=model,
        certified=certified,
        certified_sd=certified_sd,
        residual_sd=float(residual_sd),
        r_squared=float(r_squared),
        difficulty=difficulty.lower(),
        kind=kind.lower(),
        intercept=intercept,
        description=description,
        reference=reference,
    )
