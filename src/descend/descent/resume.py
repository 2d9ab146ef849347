"""Continue a fit from its checkpoint: :func:`resume`."""

from __future__ import annotations

import os
from typing import Any

from descend.data import datasets
from descend.data.files import read_table
from descend.data.tables import DataError, as_arrays
from descend.descent import schedules
from descend.descent.checkpoint import data_hash, load_checkpoint
from descend.descent.fit import fit
from descend.problems.distributed import is_dask
from descend.problems.models import get_model

__all__ = ["load_source", "resume"]


def load_source(source: dict[str, Any] | None, path: str) -> tuple[Any, Any]:
    """Load the data a checkpoint names (a CSV file and columns, or an embedded dataset)."""
    if not source:
        raise ValueError(
            f"the checkpoint {path!r} does not say where its data came from: pass X and y "
            "again, e.g. ds.resume(path, X, y)"
        )
    if "dataset" in source:
        d = datasets.load(source["dataset"])
        return d.X, d.y
    if "dask" in source:
        from descend.problems.distributed import load

        X, y, _ = load(source["dask"], y=source.get("y"))
        return X, y
    if "csv" in source:
        X, y, _, _ = read_table(source["csv"], x=source.get("x"), y=source.get("y"))
        return X, y
    raise ValueError(f"unknown data source in the checkpoint {path!r}: {source!r}")


def resume(
    path: str | os.PathLike[str],
    X: Any = None,
    y: Any = None,
    *,
    max_steps: int | None = None,
    checkpoint: Any = "same",
    callback: Any = None,
    optimizer: Any = None,
    learning_rate: Any = None,
    **options: Any,
) -> Any:
    """Continue a fit from its checkpoint, to the same iterates as an uninterrupted run.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint written by ``ds.fit(..., checkpoint=path)``.
    X, y : array-like, optional
        The data the fit ran on. Omit them when the checkpoint names its source (a CSV file or
        an embedded dataset, as the CLI records). Their SHA-256 must match the checkpoint's
        (Dask arrays: the fingerprint of per-chunk SHA-256 sums, checked by the fit's
        statistics pass on the workers).
    max_steps : int, optional
        A new step limit (e.g. to continue a run that stopped at ``max_steps``).
    checkpoint : "same", path or None
        Keep saving to the same file (default), to another, or not at all.
    callback : callable, optional
        As in :func:`descend.minimize` (callbacks are not saved).
    optimizer, learning_rate : optional
        Needed only when the run used a ready-made Optimizer or a custom schedule object,
        which a checkpoint cannot store: pass the same ones again.
    **options
        Options that could not be saved (listed in the error message if missing).

    Returns
    -------
    FitResult
        The whole run: history from step 0, ``n_steps`` counting every update.

    Raises
    ------
    ValueError
        Not a fit checkpoint, data that differ from the checkpoint's, or settings that cannot
        be rebuilt.
    """
    ck = load_checkpoint(path)
    fname = os.fspath(path)
    if ck.config is None or ck.data is None:
        raise ValueError(
            f"{fname!r} was written by ds.minimize, which does not know the data: continue it "
            "with ds.minimize(objective, theta0, ..., resume_from=ds.load_checkpoint(path).state)"
        )
    cfg = ck.config
    if X is None and y is None:
        X, y = load_source(ck.data.get("source"), fname)
    elif X is None or y is None:
        raise ValueError(
            "give both X and y, or neither (to use the data source the checkpoint names)"
        )
    check: dict[str, Any] = {}
    if is_dask(X):  # fingerprinted by the statistics pass of the fit, on the workers
        Xa, ya, digest = X, y, ck.data["sha256"]
        check = {"resume_sha256": digest}
    else:
        Xa, ya, _ = as_arrays(X, y)
        assert ya is not None
        digest = data_hash(Xa, ya)
    if digest != ck.data["sha256"]:
        raise DataError(
            f"refusing to resume {fname!r} on other data: the checkpoint was made on "
            f"{ck.data['n_samples']} rows × {ck.data['n_features']} features with SHA-256 "
            f"{ck.data['sha256'][:12]}…, these {Xa.shape[0]} × {Xa.shape[1]} have "
            f"{digest[:12]}…. Pass the same X and y (same rows, same order)."
        )
    missing = [k for k in cfg.get("unsaved_options", []) if k not in options]
    if missing:
        raise ValueError(
            f"the run used options that a checkpoint cannot store ({', '.join(missing)}): "
            "pass them to resume again"
        )
    opt_cfg = cfg["optimizer"]
    if optimizer is None:
        if isinstance(opt_cfg, dict):
            raise ValueError(
                f"the run used a ready-made Optimizer ({opt_cfg['custom']}): pass it again, "
                "resume(path, X, y, optimizer=opt)"
            )
        optimizer = opt_cfg
    lr_cfg = cfg["learning_rate"]
    if learning_rate is None:
        if isinstance(lr_cfg, dict) and "schedule" in lr_cfg:
            learning_rate = schedules.from_dict(lr_cfg["schedule"])
        elif isinstance(lr_cfg, dict):
            raise ValueError(
                f"the run used a custom learning-rate object ({lr_cfg['custom']}): pass it "
                "again, resume(path, X, y, learning_rate=...)"
            )
        else:
            learning_rate = lr_cfg
    model = get_model(cfg["model"])
    if cfg.get("model_scale") is not None:
        model.scale = bool(cfg["model_scale"])
    pre = cfg.get("preconditioner")  # the one actually used (a float rate never auto-picks)
    kwargs = {**cfg["options"], **options}
    kwargs.setdefault("refine", cfg.get("refine", "auto"))
    res = fit(
        Xa,
        ya,
        model=model,
        loss=cfg["loss"],
        optimizer=optimizer,
        learning_rate=learning_rate,
        batch_size=cfg["batch_size"],
        max_steps=int(cfg["max_steps"] if max_steps is None else max_steps),
        tol=float(cfg["tol"]),
        seed=cfg["seed"],
        preconditioner=None if pre in (None, "none") else pre,
        warn=False,
        feature_names=ck.data.get("feature_names") or None,
        checkpoint=fname if checkpoint == "same" else checkpoint,
        checkpoint_data=ck.data.get("source"),
        checkpoint_notes=ck.notes,
        callback=callback,
        resume_from=ck.state,
        **check,
        **kwargs,
    )
    # the run's own notes (refinement) first, then the original fit's (as fit orders them)
    own = [w for w in res.warnings if w not in ck.notes and not w.startswith("preconditioner:")]
    res.warnings[:] = own + list(ck.notes)
    if cfg.get("preconditioner_reason") is not None:
        res.settings["preconditioner_reason"] = cfg["preconditioner_reason"]
    return res
