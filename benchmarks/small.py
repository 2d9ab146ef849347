"""Small problems: the per-step cost of ``ds.fit`` against a hand-written NumPy loop.

On small data (scikit-learn's diabetes, 442×10; NIST Norris, 36×1) a step's arithmetic takes
microseconds, so what a user feels is the loop's Python bookkeeping. Each case times one
``ds.fit`` call (history recorded, as always; build, reference and verdicts included) and the
same descent written by hand — the standardised design with an intercept column, the MSE
gradient, the rule's update, the loss and ‖g‖ stored in preallocated arrays, and for
mini-batches a fresh permutation per epoch cut into slices — for as many steps as the fit made.

Timings are interleaved (descend, hand loop, descend, …) in one process and repeated; the
report gives the ratio of the fastest times and the median of the per-repeat ratios, at one
BLAS thread and at the library default, with the load average before and after. Beside them,
the same ``ds.fit`` through the step-by-step loop that ``Descent.run`` replaced
(:func:`benchmarks.loop_reference.reference_run`, one ``step()`` per iteration; the same
objective), interleaved too: what the chunked loop gained, measured in the same conditions.
And, for full batches where Numba is installed, the same ``ds.fit`` with the opt-in compiled
kernels on (:func:`descend.problems.fused.switched`: the compiled full-batch pass of
:mod:`descend.problems.fused_steps`), interleaved as well; every other timing runs inside
``switched(False)``, the default route, whatever the process opted into.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from typing import Any

import numpy as np

#: update rules timed, with the constant learning rate each uses
RULES = {"gd": 0.01, "momentum": 0.01, "adam": 0.01}
#: mini-batch size per data set
BATCH = {"diabetes": 32, "norris": 8}


def datasets() -> dict[str, tuple[Any, Any]]:
    """diabetes (442×10, scikit-learn) and Norris (36×1, NIST StRD)."""
    from sklearn.datasets import load_diabetes

    import descend as ds

    Xd, yd = load_diabetes(return_X_y=True)
    norris = ds.datasets.load("norris")
    return {"diabetes": (Xd, yd), "norris": (norris.X, norris.y)}


def hand_loop(
    X: Any, y: Any, rule: str, lr: float, steps: int, batch: int | None, seed: int = 0
) -> Any:
    """The descent written by hand: θ after ``steps`` updates (loss and ‖g‖ recorded).

    Full batch: g = (2/n)·Aᵀ(Aθ − y) on A = [Z, 1] with Z the standardised X. Mini-batch: the
    same on the rows of a slice of a fresh permutation per epoch. Rules as torch.optim: gd
    θ ← θ − ηg; momentum v ← 0.9v + g, θ ← θ − ηv; Adam (β = 0.9, 0.999, ε = 1e-8).
    """
    Z = (X - X.mean(0)) / X.std(0)
    A = np.hstack([Z, np.ones((Z.shape[0], 1))])
    n, p = A.shape
    theta = np.zeros(p)
    losses, gnorms = np.empty(steps), np.empty(steps)
    v, m, s = np.zeros(p), np.zeros(p), np.zeros(p)
    rng = np.random.default_rng(seed)
    perm = np.arange(n)
    per_epoch = 1 if batch is None else math.ceil(n / batch)
    for k in range(steps):
        if batch is None:
            Ab, yb = A, y
        else:
            j = k % per_epoch
            if j == 0:
                perm = rng.permutation(n)
            rows = perm[j * batch : (j + 1) * batch]
            Ab, yb = A[rows], y[rows]
        r = Ab @ theta - yb
        g = (2.0 / r.shape[0]) * (Ab.T @ r)
        losses[k] = (r @ r) / r.shape[0]
        gnorms[k] = math.sqrt(g @ g)
        if rule == "gd":
            theta -= lr * g
        elif rule == "momentum":
            v = 0.9 * v + g
            theta -= lr * v
        else:
            t = k + 1
            m = 0.9 * m + 0.1 * g
            s = 0.999 * s + 0.001 * (g * g)
            theta -= lr * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
    return theta


def _case(X: Any, y: Any, rule: str, batch: int | None, steps: int, repeat: int) -> dict[str, Any]:
    from unittest import mock

    import descend as ds
    from benchmarks.loop_reference import reference_run
    from descend.descent.loop import Descent
    from descend.problems import fused

    lr = RULES[rule]

    def fit() -> Any:
        return ds.fit(X, y, optimizer=rule, learning_rate=lr, max_steps=steps, tol=0.0,
                      batch_size=batch)  # fmt: skip

    # the compiled full-batch pass (opt-in): full batch only, where Numba is installed
    compiled = batch is None and fused.available()
    with fused.switched(False):  # the default route, whatever this process opted into
        made = len(fit().history)
    if compiled:
        with fused.switched(True):
            fit()  # the kernel loaded (or compiled) before timing
    t_fit, t_hand, t_step, t_comp = [], [], [], []
    for _ in range(repeat):  # interleaved: all see the same machine
        with fused.switched(False):
            t0 = time.perf_counter()
            fit()
            t_fit.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        hand_loop(X, y, rule, lr, made, batch)
        t_hand.append(time.perf_counter() - t0)
        with mock.patch.object(Descent, "run", reference_run), fused.switched(False):
            t0 = time.perf_counter()
            fit()
            t_step.append(time.perf_counter() - t0)
        if compiled:
            with fused.switched(True):
                t0 = time.perf_counter()
                fit()
                t_comp.append(time.perf_counter() - t0)
    ratios = [a / b for a, b in zip(t_fit, t_hand, strict=True)]
    step_ratios = [a / b for a, b in zip(t_step, t_hand, strict=True)]
    comp_ratios = [a / b for a, b in zip(t_comp, t_hand, strict=False)]
    return {
        "rule": rule,
        "batch": batch,
        "steps": made,
        "descend_us_per_step": 1e6 * min(t_fit) / made,
        "hand_us_per_step": 1e6 * min(t_hand) / made,
        "ratio_min": min(t_fit) / min(t_hand),
        "ratio_median": statistics.median(ratios),
        "step_loop_ratio_median": statistics.median(step_ratios),
        # the same fit with the compiled kernels on (None: mini-batch, or no Numba)
        "compiled_us_per_step": 1e6 * min(t_comp) / made if t_comp else None,
        "compiled_ratio_median": statistics.median(comp_ratios) if t_comp else None,
    }


def playground_rate(seconds: float = 1.0) -> dict[str, Any]:
    """Steps per second a playground run makes at the page's top speed.

    The server ticks ``messages_per_second`` times a second; each tick asks for
    ``max_steps_per_second / messages_per_second`` steps within 0.8 of the tick's interval and
    builds the update message. This replays those ticks on their schedule for ``seconds`` on
    the page's default data with a small learning rate (1e-4, so that the run never converges
    and every tick steps as far as it can; a converged run makes only ``patience`` steps per
    tick by design) and counts the steps made.
    """
    from descend.shells.web.runs import RunManager

    manager = RunManager()
    lim = manager.limits
    per_tick = int(lim.max_steps_per_second / lim.messages_per_second)
    interval = 1.0 / lim.messages_per_second
    run = manager.create({"max_steps": lim.max_steps_per_request * 10, "learning_rate": 1e-4})
    made, t0 = 0, time.perf_counter()
    next_tick = t0
    while time.perf_counter() - t0 < seconds:
        payload = run.step(per_tick, 0.8 * interval)
        made += payload["n_steps"]
        if not payload["n_steps"]:
            break
        next_tick += interval
        time.sleep(max(0.0, next_tick - time.perf_counter()))
    elapsed = time.perf_counter() - t0
    return {
        "top_speed": lim.max_steps_per_second,
        "steps_per_second": made / elapsed,
        "stop_reason": run.session.stop_reason,
    }


def small_problems(
    quick: bool, threads_settings: tuple[int, ...] = (1, 0), busy_settings: tuple[int, ...] = (0, 2)
) -> dict[str, Any]:
    """Every (data set, rule, full/mini-batch) case at each thread setting (0: the default),
    quiet and beside ``busy`` spinning background processes the benchmark starts and stops."""
    from threadpoolctl import threadpool_limits

    from benchmarks.stats_pass import background

    steps, repeat = (100, 2) if quick else (1000, 11)
    data = datasets()
    out: dict[str, Any] = {"load_start": os.getloadavg(), "cases": []}
    for threads in threads_settings:
        # 0: the library default, one thread per core (the suite may have set 1 around us)
        for busy in busy_settings:
            with threadpool_limits(limits=threads or os.cpu_count()), background(busy):
                for name, (X, y) in data.items():
                    for rule in RULES:
                        for batch in (None, BATCH[name]):
                            load = os.getloadavg()[0]
                            row = _case(X, y, rule, batch, steps, repeat)
                            row.update(data=name, threads=threads or "default", busy=busy,
                                       load=load)  # fmt: skip
                            out["cases"].append(row)
                if threads == 0 and busy == 0:
                    out["playground"] = playground_rate(0.3 if quick else 2.0)
    out["load_end"] = os.getloadavg()
    return out


#: the issue's bound on fit's per-step cost over the hand-written loop
TARGET_RATIO = 1.5


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """One target row per case: fit's per-step cost ≤ 1.5× the hand-written loop."""
    return [
        {
            "target": f"small problems: fit per step ≤ {TARGET_RATIO}× a hand-written NumPy loop",
            "problem": f"{c['data']} {c['rule']} "
            + ("full batch" if c["batch"] is None else f"batch {c['batch']}")
            + f", threads {c['threads']}, {c['busy']} busy processes",
            "measured": c["ratio_median"],
            "met": c["ratio_median"] <= TARGET_RATIO,
            "note": f"ratio of the fastest times {c['ratio_min']:.2f}",
        }
        for c in s["cases"]
    ]


def to_markdown(s: dict[str, Any]) -> list[str]:
    """The section of the report: one row per case, then the playground's rate."""
    la, lb = s["load_start"], s["load_end"]
    lines = [
        "",
        "## Small problems: per-step cost of ds.fit against a hand-written NumPy loop",
        "",
        "One `ds.fit` call (history recorded, setup included) over the steps it made, and the "
        "same descent by hand for as many steps, timed interleaved; median = the median of the "
        "per-repeat ratios fit ÷ hand loop (the headline: robust to a busy machine), fastest = "
        "fastest fit ÷ fastest hand loop; step loop = the same median for the same fit through "
        "the step-by-step loop the chunked `Descent.run` replaced (one `step()` per iteration, "
        "the same objective, interleaved); compiled = the same fit with the opt-in compiled "
        "kernels on (`fused.switched(True)`; full batch only: the compiled full-batch pass), its "
        "fastest µs per step and its median ratio to the hand loop; busy = spinning background "
        "processes the benchmark started, load = the 1-minute load average when the case began. "
        f"Load average {la[0]:.2f} before, {lb[0]:.2f} after.",
        "",
        "| data | rule | batch | threads | busy | load | steps | fit µs/step | hand µs/step "
        "| median | fastest | step loop | compiled µs/step | compiled median |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in s["cases"]:
        us, ratio = c.get("compiled_us_per_step"), c.get("compiled_ratio_median")
        comp = "— | —" if us is None or ratio is None else f"{us:.1f} | {ratio:.2f}×"
        lines.append(
            f"| {c['data']} | {c['rule']} | {c['batch'] or 'full'} | {c['threads']} | "
            f"{c['busy']} | {c['load']:.1f} | {c['steps']} | "
            f"{c['descend_us_per_step']:.1f} | {c['hand_us_per_step']:.1f} | "
            f"**{c['ratio_median']:.2f}×** | {c['ratio_min']:.2f}× | "
            f"{c['step_loop_ratio_median']:.2f}× | {comp} |"
        )
    pg = s.get("playground")
    if pg is not None:
        lines += [
            "",
            f"Playground at its top speed ({pg['top_speed']:,} steps/s asked): "
            f"**{pg['steps_per_second']:,.0f} steps/s** made (the server's ticks replayed on "
            "their schedule, each with its 0.8-interval time budget and its update message, on "
            "the page's default data at lr 1e-4 so that the run never stops).",
        ]
    return lines
