"""BLAS threads for the one-pass statistics: one thread per call, our own threads over blocks.

The least-squares pass (:mod:`descend.problems.stats`) makes many small BLAS calls, one or two
per row block of about a megabyte. A threaded BLAS (OpenBLAS's default) splits each of them
across its threads and waits for all of them at the end of every call; on a machine where
other processes hold the cores, one descheduled thread stalls every call, and the pass took
20–60× one ``X.T @ X`` on a shared 2-core machine (issue 19; one large call degrades 2×).

So the pass runs its BLAS calls on **one** thread each and parallelises over row blocks
itself, with as many Python threads as BLAS was allowed (NumPy releases the GIL inside BLAS):
a descheduled thread then delays only its own block, and an idle worker takes the next one.
The workers only make each block's products; the calling thread adds them in block order,
exactly as the serial loop did, so the statistics are bitwise the same for any number of
threads and as before this module existed (:func:`descend.problems.stats.in_order`).

Limiting BLAS needs ``threadpoolctl`` (the ``fast`` extra; scikit-learn installs it too).
Without it nothing is limited and the pass runs serially, as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["available", "blas_threads", "one_blas_thread"]

_CONTROLLER: list[Any] = []

#: the process-wide state of :func:`one_blas_thread`: passes inside it now (any thread), and
#: the limiter that restores the caller's limits when the last of them leaves
_HELD: list[Any] = [0, None]
_HELD_LOCK = threading.Lock()


def _reset_after_fork() -> None:
    """In a forked child: no pass is running there (the BLAS limits it inherited stay)."""
    global _HELD_LOCK
    _HELD_LOCK = threading.Lock()
    _HELD[:] = [0, None]


if sys.platform != "win32":  # (no os.fork on Windows)
    os.register_at_fork(after_in_child=_reset_after_fork)


def _controller() -> Any | None:
    """A cached ``threadpoolctl.ThreadpoolController`` (building one scans the loaded
    libraries, about 20 ms), or None without threadpoolctl."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def available() -> bool:
    """Whether BLAS threads can be limited here (threadpoolctl is installed)."""
    return _controller() is not None


def blas_threads() -> int:
    """Threads the BLAS libraries may use now (the most any of them may; 1 when unknown).

    Follows ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` and any ``threadpool_limits`` the
    caller has set, so ``with threadpool_limits(1): ds.fit(...)`` makes the pass serial.
    """
    ctl = _controller()
    if ctl is None:
        return 1
    counts = [int(lib.num_threads) for lib in ctl.select(user_api="blas").lib_controllers]
    return max(counts, default=1)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with every BLAS library limited to one thread (restored afterwards;
    nothing is changed without threadpoolctl).

    The limit is process-wide (BLAS has one thread count per library), so the bodies running
    at a time share it: the first to enter, in any thread, sets it, and the last to leave
    restores the limits that held before the first entered. Two passes running at once in
    two threads therefore both run on one BLAS thread per call from start to end (with a
    plain per-body limit, the first to finish restored the threads under the other one, and
    changed its sums' rounding); a nested use costs nothing.

    Also, threadpoolctl lets only one thread change OpenBLAS's
    (pthreads) thread count: the first that limited it, while it lives. Called from any other
    thread this changes nothing, so code whose BLAS calls run in several threads (a Dask pass
    on the threaded scheduler) limits BLAS once in the thread that starts them
    (:func:`descend.problems.distributed.moments_dask` does).
    """
    ctl = _controller()
    if ctl is None:
        yield
        return
    with _HELD_LOCK:
        if _HELD[0] == 0:
            _HELD[1] = ctl.limit(limits=1, user_api="blas")
        _HELD[0] += 1
    try:
        yield
    finally:
        with _HELD_LOCK:
            _HELD[0] -= 1
            if _HELD[0] == 0:
                limiter, _HELD[1] = _HELD[1], None
                limiter.restore_original_limits()
