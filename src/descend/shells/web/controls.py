"""The playground's run settings, as one table: a new page control is one entry in ``CONTROLS``.

Each :class:`Control` is at once

* a field of the API's ``RunIn`` body (``app.py`` builds it from the table with pydantic: the
  type from ``kind``, the default, the bounds, ``extra="forbid"``);
* an input in the page's *Descent* fieldset (``GET /api/options`` serves the table under
  ``"controls"``; ``static/app.js`` renders one input per entry, in order, and ``spec()``
  sends each value under its ``name``);
* a keyword argument passed on by name (``RunManager._build``): to
  :class:`descend.descent.session.Session` (``"session"`` in ``to``) and/or
  :func:`descend.problems.build.build_problem` (``"problem"``).

So ``name`` must be the keyword those functions take. For example, exposing the stopping rule's
patience is one line::

    Control("patience", "Patience (steps)", "integer", 10, minimum=1, maximum=1000,
            help="steps without progress before the run counts as stalled")

The learning rate keeps its hand-written widget (``custom=True``: the number input ``#lr``, the
log slider ``#lr-slider`` and the ``#lr-auto`` button, which change the rate of a running session
without a reset); its default, bounds and validation still come from this table.

This module needs no web framework: ``runs.py`` reads it without pydantic or FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from descend.shells.web.limits import LimitError, Limits

__all__ = ["CONTROLS", "Control", "KINDS", "check_caps", "get", "passed_to", "values"]

Kind = Literal["number", "integer", "choice", "boolean"]
#: what an entry's ``kind`` may be: the value's type and the page's input
KINDS: tuple[str, ...] = ("number", "integer", "choice", "boolean")
#: who receives a setting: build_problem ("problem") and/or Session ("session")
TARGETS: tuple[str, ...] = ("problem", "session")


@dataclass(frozen=True)
class Control:
    """One run setting of the page: its field, input and destination.

    Attributes
    ----------
    name : str
        The ``RunIn`` field, the key the page sends and the keyword passed on.
    label : str
        The input's label on the page.
    kind : {"number", "integer", "choice", "boolean"}
        A float (``<input type=number step=any>``), a whole number (``step=1``), one of
        ``options`` (``<select>``), or a checkbox.
    default : Any
        The API's default and the page's initial value; None makes the setting optional (a
        blank input sends null: "full batch", "constant").
    help : str
        A sentence shown as the input's tooltip.
    minimum, maximum : float, optional
        Bounds (inclusive; ``exclusive_minimum`` makes the lower one strict), checked by the API
        and set as the input's ``min``/``max``.
    cap : str, optional
        A :class:`~descend.shells.web.limits.Limits` field that caps the value further (the
        page's ``max`` shows the tighter of the two); beyond it the run is refused with
        ``cap_message``.
    auto : bool
        The string ``"auto"`` is accepted too (the learning rate).
    options : callable, optional
        For a choice: returns the options as ``{"value", "label"}`` dicts (read when the page
        asks, so a registry's new entry shows up by itself).
    blank : str, optional
        For an optional choice: the label of the blank option, which sends null.
    placeholder : str
        Shown in an empty input.
    to : tuple of str
        Where the value goes: ``"session"`` (Session) and/or ``"problem"`` (build_problem); empty
        for a setting the page only shows.
    element_id : str, optional
        The input's id on the page (default: ``name`` with ``-`` for ``_``).
    custom : bool
        The page has a hand-written widget for it (an element with ``data-custom="<name>"``
        holding the input ``#<id>``); the table still gives its default, bounds and validation.
    """

    name: str
    label: str
    kind: Kind
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    cap: str | None = None
    cap_message: str = "{label} is limited to {limit:,} (got {value:,})"
    auto: bool = False
    options: Callable[[], list[dict[str, str]]] | None = None
    blank: str | None = None
    placeholder: str = ""
    to: tuple[str, ...] = ("session",)
    element_id: str | None = None
    custom: bool = False

    def __post_init__(self) -> None:
        where = f"control {self.name!r}"
        if not self.name.isidentifier():
            raise ValueError(f"{where}: the name must be a Python identifier (it is a keyword)")
        if self.kind not in KINDS:
            raise ValueError(f"{where}: unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if (self.kind == "choice") != (self.options is not None):
            raise ValueError(f"{where}: a choice needs options, and only a choice has them")
        if self.auto and self.kind != "number":
            raise ValueError(f"{where}: only a number may also be 'auto'")
        if self.cap is not None and self.cap not in Limits.__dataclass_fields__:
            raise ValueError(f"{where}: cap {self.cap!r} is not a field of Limits")
        if unknown := set(self.to) - set(TARGETS):
            raise ValueError(f"{where}: unknown target(s) {sorted(unknown)}; use {TARGETS}")

    @property
    def id(self) -> str:
        """The page's element id."""
        return self.element_id or self.name.replace("_", "-")

    @property
    def optional(self) -> bool:
        """None is allowed (and the default)."""
        return self.default is None

    def limit(self, limits: Limits) -> float | None:
        """The largest value allowed under ``limits``: the tighter of ``maximum`` and the cap."""
        caps = [self.maximum, None if self.cap is None else getattr(limits, self.cap)]
        known = [c for c in caps if c is not None]
        return min(known) if known else None

    def to_dict(self, limits: Limits) -> dict[str, Any]:
        """What the page receives (``GET /api/options`` → ``"controls"``)."""
        return {
            "name": self.name,
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "default": self.default,
            "optional": self.optional,
            "help": self.help,
            "min": self.minimum,
            "max": self.limit(limits),
            "exclusive_min": self.exclusive_minimum,
            "step": "1" if self.kind == "integer" else "any",
            "auto": self.auto,
            "options": None if self.options is None else self.options(),
            "blank": self.blank,
            "placeholder": self.placeholder,
            "custom": self.custom,
        }


def _schedules() -> list[dict[str, str]]:
    from descend.descent import schedules

    return [
        {"value": s["name"], "label": f"{s['name']}: {s['summary']}"}
        for s in schedules.describe()
        if s["name"] != "constant"  # the blank option
    ]


def _penalties() -> list[dict[str, str]]:
    from descend.problems.penalty import PENALTIES

    what = {
        "l2": "l2: α·½‖w‖₂² (ridge)",
        "l1": "l1: α·‖w‖₁ (lasso; proximal steps, exact zeros)",
        "elasticnet": "elasticnet: α·(r‖w‖₁ + ½(1 − r)‖w‖₂²), r = l1_ratio",
    }
    return [{"value": name, "label": what.get(name, name)} for name in PENALTIES]


#: the run settings of the page's *Descent* fieldset, in the order shown
CONTROLS: tuple[Control, ...] = (
    Control(
        "learning_rate",
        "Learning rate",
        "number",
        0.01,  # the lesson's rate, as descend.fit and the CLI start
        help="the (peak) step size η; 'auto' resolves it (and β) from the curvature as "
        "descend.fit does; a change while running keeps θ and the optimizer state",
        minimum=0,
        exclusive_minimum=True,
        maximum=1e6,
        auto=True,
        element_id="lr",
        custom=True,
    ),
    Control(
        "schedule",
        "Schedule",
        "choice",
        None,
        help="how the learning rate changes over the run, shaped for Max steps",
        options=_schedules,
        blank="constant",
    ),
    Control(
        "batch_size",
        "Batch size",
        "integer",
        None,
        help="blank for full batch, k for mini-batches (reshuffled every epoch), 1 for "
        "stochastic descent",
        minimum=1,
        placeholder="full batch",
    ),
    Control(
        "seed",
        "Seed (θ₀, shuffling)",
        "integer",
        0,
        help="seeds the random start θ₀ and the mini-batch shuffling",
        minimum=0,
        maximum=2**32 - 1,
        to=("problem", "session"),
    ),
    Control(
        "max_steps",
        "Max steps",
        "integer",
        10_000,
        help="the run stops after this many updates",
        minimum=1,
        cap="max_steps",
        cap_message="at most {limit:,} steps per run (asked for {value:,})",
    ),
    Control(
        "tol",
        "Tolerance",
        "number",
        1e-9,
        help="converged (certified, least squares) when the bounds on L − L* and ‖θ − θ*‖ are "
        "within tol of L and ‖θ‖ (0: descend to the rounding floor)",
        minimum=0,
        maximum=1,
    ),
    Control(
        "penalty",
        "Penalty",
        "choice",
        None,
        help="adds α·(l1_ratio·‖w‖₁ + ½(1 − l1_ratio)·‖w‖₂²) on the coefficients w in your "
        "units (never the intercept), as ds.fit(penalty=…); models linear in θ only",
        options=_penalties,
        blank="none",
        to=("problem",),
    ),
    Control(
        "alpha",
        "Penalty strength α",
        "number",
        1e-4,  # scikit-learn's SGDRegressor default, as ds.fit
        help="the penalty's weight α ≥ 0 (used when a penalty is chosen)",
        minimum=0,
        maximum=1e6,
        to=("problem",),
    ),
    Control(
        "l1_ratio",
        "l1_ratio",
        "number",
        0.15,
        help="the L1 share r of the elastic net, in [0, 1] (0: ridge, 1: lasso)",
        minimum=0,
        maximum=1,
        to=("problem",),
    ),
    Control(
        "validation_fraction",
        "Validation fraction",
        "number",
        None,
        help="hold out this share of the rows (seeded by Seed): the model trains on the rest, "
        "and the held-out loss is drawn beside the training loss; blank for none",
        minimum=0,
        exclusive_minimum=True,
        maximum=0.9,
        placeholder="none",
        to=("problem",),
    ),
)


def get(name: str, table: Iterable[Control] | None = None) -> Control:
    """The entry called ``name`` (KeyError when there is none)."""
    for c in CONTROLS if table is None else table:
        if c.name == name:
            return c
    raise KeyError(name)


def values(spec: Mapping[str, Any], table: Iterable[Control] | None = None) -> dict[str, Any]:
    """Every control's value from the page's settings: the default where one is missing; a
    blank choice is None."""
    out: dict[str, Any] = {}
    for c in CONTROLS if table is None else table:
        v = spec.get(c.name, c.default)
        if c.kind == "choice" and v == "":
            v = None
        out[c.name] = v
    return out


def check_caps(
    settings: Mapping[str, Any], limits: Limits, table: Iterable[Control] | None = None
) -> None:
    """Refuse a value beyond its control's :class:`Limits` cap (LimitError, HTTP 422)."""
    for c in CONTROLS if table is None else table:
        v = settings.get(c.name)
        if c.cap is None or not isinstance(v, int | float) or isinstance(v, bool):
            continue
        limit = getattr(limits, c.cap)
        if v > limit:
            raise LimitError(c.cap_message.format(label=c.label, limit=limit, value=v))


def passed_to(
    target: str, settings: Mapping[str, Any], table: Iterable[Control] | None = None
) -> dict[str, Any]:
    """The keyword arguments for ``target`` ("problem" or "session"), by control name."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; use one of {TARGETS}")
    return {
        c.name: settings[c.name] for c in (CONTROLS if table is None else table) if target in c.to
    }
