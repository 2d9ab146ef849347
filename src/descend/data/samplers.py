"""Mini-batch samplers: which rows each step of descent sees.

One sampler per way of drawing rows, all here:

- ``"reshuffle"`` (default): :class:`BatchSampler` — a fresh permutation each epoch cut into
  consecutive batches; its position and random state can be saved, so checkpointed runs resume
  bitwise. :func:`batches` is the same sequence as a plain iterator.
- ``"slices"``: :func:`slice_batches` — shuffle once, visit the slices in a new order each epoch.
- ``"contiguous"``: :func:`contiguous_batches` — views X[i:i+b] of rows already in random order.

:func:`sampler` picks one by name for the loop.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.encoding import decode_array, encode_array
from descend.data.tables import DataError

__all__ = [
    "SAMPLINGS",
    "BatchSampler",
    "ChunkSampler",
    "batches",
    "check_state",
    "contiguous_batches",
    "sampler",
    "slice_batches",
]


def _is_permutation(a: NDArray[Any], n: int) -> bool:
    """Whether ``a`` (shape (n,)) holds each of 0 … n−1 exactly once."""
    return a.shape == (n,) and bool(np.array_equal(np.sort(a), np.arange(n)))


def check_state(d: Any) -> str | None:
    """What is wrong with a saved sampler state (:meth:`BatchSampler.state_dict` or
    :meth:`ChunkSampler.state_dict`), in words; None when it is consistent.

    Checked: the permutations are permutations (each row, or chunk, exactly once), the position
    lies within the permutation, the sizes are whole numbers ≥ 1.
    """
    try:
        b = int(d["batch_size"])
        if b < 1:
            return f"batch size {b} < 1"
        if "sizes" in d:
            sizes = [int(s) for s in d["sizes"]]
            if not sizes or min(sizes) < 1:
                return f"chunk sizes {sizes} are not all ≥ 1"
            n = None
            if d["order"] is not None:
                order = decode_array(d["order"]).astype(np.int64)
                if not _is_permutation(order, len(sizes)):
                    return f"the chunk order is not a permutation of the {len(sizes)} chunks"
                at = int(d["at"])
                if not 0 <= at < len(sizes):
                    return f"the chunk position {at} is outside 0 … {len(sizes) - 1}"
                n = sizes[int(order[at])]
        else:
            n = int(d["n"])
            if n < 1:
                return f"{n} rows"
        pos = int(d["pos"])
        if d["perm"] is not None:
            if n is None:
                return "a row permutation without a chunk order"
            perm = decode_array(d["perm"]).astype(np.int64)
            if not _is_permutation(perm, n):
                return f"the row permutation is not a permutation of the {n} rows"
            if not 0 <= pos < n + b:
                return f"the position {pos} is outside the permutation of {n} rows"
        elif pos != 0:
            return f"position {pos} without a permutation"
    except (KeyError, TypeError, ValueError) as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"
    return None


class ChunkSampler:
    """Mini-batches of ``(chunk, rows)`` from data stored in chunks, resumable like
    :class:`BatchSampler`.

    Each epoch visits the chunks in the order of ``rng.permutation(len(sizes))``; within a
    chunk it draws ``rng.permutation(sizes[c])`` and hands out consecutive slices of
    ``batch_size`` rows (the last one of a chunk may be shorter), so one chunk is read per visit.

    Parameters
    ----------
    sizes : sequence of int
        Rows per chunk.
    batch_size : int
    rng : numpy.random.Generator
    """

    def __init__(self, sizes: Any, batch_size: int, rng: np.random.Generator) -> None:
        self.sizes = [int(s) for s in sizes]
        self.batch_size = int(batch_size)
        self.rng = rng
        self.order: NDArray[np.int64] | None = None
        self.at = 0  # index into order of the chunk being visited
        self.perm: NDArray[np.int64] | None = None
        self.pos = 0

    def __iter__(self) -> ChunkSampler:
        return self

    def __next__(self) -> tuple[int, NDArray[np.int64]]:
        while self.perm is None or self.pos >= self.perm.shape[0]:
            if self.order is None or self.at + 1 >= len(self.order):
                self.order, self.at = self.rng.permutation(len(self.sizes)), 0
            elif self.perm is not None:
                self.at += 1
            self.perm = self.rng.permutation(self.sizes[int(self.order[self.at])])
            self.pos = 0
        assert self.order is not None
        start = self.pos
        self.pos = start + self.batch_size
        return int(self.order[self.at]), self.perm[start : self.pos]

    def state_dict(self) -> dict[str, Any]:
        """The generator's state, the epoch's chunk order, the chunk's permutation, positions."""
        return {
            "sizes": self.sizes,
            "batch_size": self.batch_size,
            "bit_generator": self.rng.bit_generator.state,
            "order": None if self.order is None else encode_array(self.order),
            "at": self.at,
            "perm": None if self.perm is None else encode_array(self.perm),
            "pos": self.pos,
        }

    def load_state(self, d: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the same chunk sizes and batch size required)."""
        if "sizes" not in d:
            raise ValueError("the checkpoint's mini-batches were drawn from rows in memory, "
                             "not from chunks: resume it on the same in-memory data")  # fmt: skip
        if list(d["sizes"]) != self.sizes or int(d["batch_size"]) != self.batch_size:
            raise ValueError(
                f"the checkpoint's sampler drew batches of {d['batch_size']} from "
                f"{len(d['sizes'])} chunks, this run {self.batch_size} from {len(self.sizes)} "
                "chunks (of other sizes): resume on the same files"
            )
        if (problem := check_state(d)) is not None:
            raise ValueError(f"the checkpoint's sampler state is inconsistent: {problem}")
        self.rng.bit_generator.state = d["bit_generator"]
        dec = decode_array
        self.order = None if d["order"] is None else dec(d["order"]).astype(np.int64)
        self.at = int(d["at"])
        self.perm = None if d["perm"] is None else dec(d["perm"]).astype(np.int64)
        self.pos = int(d["pos"])


def _permute_into(box: list[NDArray[np.int64]], rng: np.random.Generator, n: int) -> None:
    """``box.append(rng.permutation(n))`` (a prefetch thread's work); a failure leaves the box
    empty, and the sampler then draws the permutation in the calling thread, which raises."""
    try:
        box.append(rng.permutation(n))
    except Exception:  # noqa: BLE001 - redrawn (and raised) where the permutation is needed
        return


#: the mini-batch samplers by name
SAMPLINGS = ("reshuffle", "slices", "contiguous")


class BatchSampler:
    """Mini-batch row indices whose position and random state can be saved and restored.

    Each epoch draws one ``rng.permutation(n)`` and hands out consecutive slices of
    ``batch_size`` rows (the last one may be shorter) — the same sequence as
    :func:`descend.data.tables.batches` for the same generator.

    **Prefetch.** For ``n >= prefetch_rows`` the next epoch's permutation is drawn in a
    background thread while the current epoch runs (NumPy's shuffle releases the GIL). It is
    the same call on the same generator in the same order — ``rng.permutation(n)`` right after
    the current one — so the batches are identical to drawing it when the epoch begins; only
    *when* it is computed changes (a permutation of 10⁷ rows is ~10⁷ cache misses, about one
    second, the largest single cost of an epoch at that size). The generator is private to the
    sampler; :meth:`state_dict` reports its state as it was before the prefetch (what a run
    without prefetch would save), and :meth:`load_state` discards a prefetched permutation. At
    most one permutation is computed ahead (the run may end before it is used).

    Parameters
    ----------
    n : int
        Number of rows.
    batch_size : int
        Rows per batch, ``1 <= batch_size < n``.
    rng : numpy.random.Generator
        Source of the permutations.

    Attributes
    ----------
    prefetch_rows : int
        Rows from which the next permutation is prefetched (class default 2¹⁸: below that a
        permutation costs less than a thread's start).
    """

    prefetch_rows: int = 1 << 18

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator) -> None:
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.rng = rng
        self.perm: NDArray[np.int64] | None = None
        self.pos = 0
        # the prefetch: the thread, its result, and the generator's state before it ran
        self._ahead: threading.Thread | None = None
        self._ahead_perm: list[NDArray[np.int64]] = []
        self._state_before: Mapping[str, Any] | None = None

    def __iter__(self) -> BatchSampler:
        return self

    def __next__(self) -> NDArray[np.int64]:
        if self.perm is None or self.pos >= self.n:
            self.perm = self._next_permutation()
            self.pos = 0
        start = self.pos
        self.pos = start + self.batch_size
        return self.perm[start : self.pos]

    def _next_permutation(self) -> NDArray[np.int64]:
        """This epoch's ``rng.permutation(n)`` (prefetched, or drawn now), and start the
        next epoch's in the background when n is large."""
        if self._ahead is not None:
            self._ahead.join()
            if self._ahead_perm:
                perm = self._ahead_perm.pop()
            else:  # the thread failed (e.g. out of memory): draw it here, to raise here
                assert self._state_before is not None
                self.rng.bit_generator.state = self._state_before
                perm = self.rng.permutation(self.n)
            self._ahead, self._state_before = None, None
        else:
            perm = self.rng.permutation(self.n)
        if self.n >= self.prefetch_rows:
            self._state_before = self.rng.bit_generator.state
            self._ahead = threading.Thread(
                target=_permute_into, args=(self._ahead_perm, self.rng, self.n),
                name="descend-permutation", daemon=True,
            )  # fmt: skip
            self._ahead.start()
        return perm

    def _drop_prefetch(self) -> None:
        """Wait for a prefetch in flight and forget it (the caller then sets the state)."""
        if self._ahead is not None:
            self._ahead.join()
            self._ahead_perm.clear()
            self._ahead, self._state_before = None, None

    def state_dict(self) -> dict[str, Any]:
        """The generator's bit-generator state, the current permutation and the position."""
        state = self._state_before if self._ahead is not None else None
        return {
            "n": self.n,
            "batch_size": self.batch_size,
            "bit_generator": state if state is not None else self.rng.bit_generator.state,
            "perm": None if self.perm is None else encode_array(self.perm),
            "pos": self.pos,
        }

    def load_state(self, d: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (same n and batch size required)."""
        if "n" not in d:
            raise ValueError("the checkpoint's mini-batches were drawn from chunks (Dask): "
                             "resume it on the same chunked data")  # fmt: skip
        if int(d["n"]) != self.n or int(d["batch_size"]) != self.batch_size:
            raise ValueError(
                f"the checkpoint's sampler drew batches of {d['batch_size']} from {d['n']} rows, "
                f"this run {self.batch_size} from {self.n}"
            )
        if (problem := check_state(d)) is not None:
            raise ValueError(f"the checkpoint's sampler state is inconsistent: {problem}")
        self._drop_prefetch()
        self.rng.bit_generator.state = d["bit_generator"]
        self.perm = None if d["perm"] is None else decode_array(d["perm"]).astype(np.int64)
        self.pos = int(d["pos"])


def batches(n: int, batch_size: int | None, rng: np.random.Generator) -> Iterator[NDArray[np.intp]]:
    """Row indices for each step of descent, forever.

    Parameters
    ----------
    n : int
        Number of rows, at least 1.
    batch_size : int or None
        None or ``>= n``: full batch, always ``np.arange(n)`` in order, the rng is not used.
        Otherwise each epoch draws one ``rng.permutation(n)`` and yields consecutive slices of
        ``batch_size`` indices; the last slice of an epoch may be shorter.
    rng : numpy.random.Generator
        Source of the permutations; the sequence is deterministic given its state.

    Yields
    ------
    ndarray of intp, shape (batch_size,) or shorter
        The row indices of one batch (full batch: a read-only ``arange(n)``).

    Raises
    ------
    DataError
        When ``n < 1``, ``batch_size < 1`` or ``batch_size`` is not an integer. Raised by the
        call itself, not at the first ``next()``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise DataError(f"n must be a positive integer number of rows, got {n!r}.")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
    ):
        raise DataError(
            f"batch_size must be a positive integer or None (full batch), got {batch_size!r}."
        )
    if batch_size is not None and batch_size < 1:
        raise DataError(
            f"batch_size must be at least 1 (or None for full batch), got {batch_size!r}."
        )
    n = int(n)
    if batch_size is None or batch_size >= n:
        return _full_batches(n)
    return BatchSampler(n, int(batch_size), rng)


def _full_batches(n: int) -> Iterator[NDArray[np.intp]]:
    idx = np.arange(n)
    idx.setflags(write=False)
    while True:
        yield idx


def slice_batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[NDArray[np.intp]]:
    """Mini-batches as contiguous slices of one shuffled index ("shuffle once"), forever.

    One permutation π of the rows is drawn at the start and cut into contiguous slices
    π[0:b], π[b:2b], … (the last may be shorter); every epoch visits all the slices, in a
    fresh random order. Each slice's indices are sorted once, so that gathering its rows reads
    memory in ascending order (the batch's mean gradient is a sum: the order of its rows
    changes only rounding).

    Compared with :func:`batches` (a fresh permutation per epoch, "random reshuffling"):

    - the same per-step law: each batch is a uniformly random set of b rows (over the draw
      of π), every epoch uses every row exactly once, and the batch gradient is unbiased;
    - but the partition into batches is drawn once and kept, so the batch sets repeat from
      epoch to epoch (only their order changes) and the noise of successive epochs is
      correlated. For convex problems "shuffle once" has the same convergence rates as random
      reshuffling (Mishchenko, Khaled & Richtárik, 2020); it is not the same *sequence*, so a
      seeded run differs from the default sampler's.

    What it saves: the O(n) permutation per epoch, and random-order gathers.

    Parameters
    ----------
    n : int
        Number of rows, at least 1.
    batch_size : int
        Rows per batch, ≥ 1 (≥ n gives full batches, as :func:`batches`).
    rng : numpy.random.Generator

    Yields
    ------
    ndarray of intp, shape (batch_size,) or shorter
        Sorted row indices (a read-only view).
    """
    it = batches(n, batch_size, rng)  # the same validation (raised here, not at next())
    if batch_size >= n:
        return it
    return _slices_once(int(n), int(batch_size), rng)


def _slices_once(n: int, b: int, rng: np.random.Generator) -> Iterator[NDArray[np.intp]]:
    perm = rng.permutation(n)
    full = (n // b) * b
    perm[:full].reshape(-1, b).sort(axis=1)
    perm[full:].sort()
    perm.setflags(write=False)
    starts = np.arange(0, n, b)
    while True:
        for start in rng.permutation(starts).tolist():
            yield perm[start : start + b]


def contiguous_batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[slice]:
    """Mini-batches as contiguous row ranges of the data as stored, forever.

    :func:`slice_batches` with the identity for the once-shuffled index: the slices
    ``slice(0, b)``, ``slice(b, 2b)``, … are visited in a fresh random order every epoch, and a
    batch is a *view* of the rows (no gather at all).

    This is equivalent to :func:`slice_batches` — the same law for every batch — only when the
    stored row order is already random, i.e. independent of the values (rows shuffled once
    on disk, or drawn i.i.d. in order). On data sorted by time, by a feature or by the target
    the batches are not random samples: their gradients are biased within an epoch (the
    epoch as a whole still uses every row once). Use it for pre-shuffled data only.

    Parameters
    ----------
    n : int
        Number of rows, at least 1.
    batch_size : int
        Rows per batch, ≥ 1.
    rng : numpy.random.Generator

    Yields
    ------
    slice
        ``slice(start, stop)`` of at most ``batch_size`` rows.
    """
    batches(n, batch_size, rng)  # the same validation (raised here, not at next())
    return _contiguous(int(n), int(batch_size), rng)


def _contiguous(n: int, b: int, rng: np.random.Generator) -> Iterator[slice]:
    starts = list(range(0, n, b))
    while True:
        for k in rng.permutation(len(starts)).tolist():
            yield slice(starts[k], min(starts[k] + b, n))


def sampler(sampling: str, n: int, batch_size: int, rng: np.random.Generator) -> Iterator[Any]:
    """The mini-batch sampler named ``sampling`` for n rows (see :data:`SAMPLINGS`)."""
    if sampling == "reshuffle":
        return BatchSampler(n, batch_size, rng)
    if sampling == "slices":
        return slice_batches(n, batch_size, rng)
    if sampling == "contiguous":
        return contiguous_batches(n, batch_size, rng)
    raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
