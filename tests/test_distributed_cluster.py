"""A real cluster, started the way a user starts one (issue 20, item 7).

``dask scheduler`` and two ``dask worker`` processes (one thread each, a memory limit below
the size of the data) run as subprocesses of this module; ``descend fit --dask --scheduler``
and ``descend resume`` run as subprocesses too, and ``ds.fit(..., scheduler=...)`` in this
process. Answers are checked against exact least squares (NumPy's QR, chunk by chunk) and
against fits that ran without the cluster.

Every wait is bounded (a pytest timeout per test, a timeout on every subprocess and on every
poll), the scheduler's and the workers' logs go to files (never to pipes that nobody reads,
which fill and block the writer) and are printed when a test fails, and every process group
started here is killed in a ``finally``. Workers get this checkout's ``src`` on PYTHONPATH:
a worker that cannot import descend cannot unpickle a task, closes, and a client would wait
for workers that never come — :func:`descend.problems.distributed.connect` now refuses that
at once (tested below with a worker that lacks it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import descend as ds

distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SRC = str(Path(__file__).resolve().parents[1] / "src")
#: every worker's memory limit; the .npy folder below is larger than this
WORKER_MEMORY = 350_000_000
D = 8  # features


# ---------------------------------------------------------------------------------------------
# the cluster: processes, logs, teardown
# ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(pythonpath: bool = True, shadow: Path | None = None) -> dict[str, str]:
    """The environment of a cluster process: this checkout's ``src`` first on PYTHONPATH, or —
    for a worker that must not find descend — a folder whose ``descend`` fails to import (an
    installed copy, e.g. CI's editable install, would otherwise be found in site-packages)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = SRC
    elif shadow is not None:
        env["PYTHONPATH"] = str(shadow)
    env["DESCEND_PROGRESS_DELAY"] = "0"
    return env


@dataclass
class Cluster:
    root: Path
    address: str = ""
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, args: list[str], *, pythonpath: bool = True) -> None:
        shadow = None
        if not pythonpath:
            shadow = self.root / "without-descend"
            (shadow / "descend").mkdir(parents=True, exist_ok=True)
            (shadow / "descend" / "__init__.py").write_text(
                "raise ImportError(\"No module named 'descend' (hidden from this worker)\")\n"
            )
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, env=_env(pythonpath, shadow), start_new_session=True,
        )  # fmt: skip
        log.close()  # the child holds its own descriptor

    def worker(self, name: str, *, pythonpath: bool = True) -> None:
        self.start(
            name,
            ["worker", self.address, "--nthreads", "1", "--memory-limit", str(WORKER_MEMORY),
             "--no-dashboard", "--name", name, "--death-timeout", "60",
             "--local-directory", str(self.root / name)],
            pythonpath=pythonpath,
        )  # fmt: skip

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process group of ``name`` (the nanny and its worker) and reap it."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def logs(self) -> str:
        out = []
        for f in sorted(self.root.glob("*.log")):
            text = f.read_text(errors="replace").splitlines()
            out.append(f"==== {f.name} (last 60 lines) ====\n" + "\n".join(text[-60:]))
        return "\n".join(out)

    @contextlib.contextmanager
    def explained(self):
        """On any failure inside the block, print the cluster's logs (pytest shows them)."""
        try:
            yield
        except BaseException:
            print(self.logs())
            raise


def _wait_for(what: str, ready, cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for name, p in cluster.procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited ({p.returncode}) waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes; all killed at the end."""
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        with c.explained():
            port, info = _free_port(), c.root / "scheduler.json"
            c.start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard", "--scheduler-file", str(info),
                                  "--idle-timeout", "600"])  # fmt: skip
            _wait_for("scheduler file", info.exists, c, 90)
            c.address = f"tcp://127.0.0.1:{port}"
            for name in ("w0", "w1"):
                c.worker(name)
            with distributed.Client(c.address, timeout=30) as client:
                client.wait_for_workers(2, timeout=120)
        yield c
    finally:
        c.stop()


def _cli(cluster: Cluster, *args: str, timeout: float = 180) -> tuple[int, str, str, int]:
    """Run ``python -m descend ARGS``: (exit status, stdout, stderr, peak RSS in bytes).

    Output goes to files; the process is reaped with ``os.wait4`` for its own peak memory."""
    out, err = cluster.root / "cli.out", cluster.root / "cli.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "descend", *args], stdin=subprocess.DEVNULL, stdout=fo,
            stderr=fe, env=_env(), start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            os.waitpid(proc.pid, 0)
            raise TimeoutError(f"descend {' '.join(args)} ran over {timeout} s:\n"
                               f"{err.read_text(errors='replace')}")  # fmt: skip
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out.read_text(), err.read_text(), usage.ru_maxrss * 1024


# ---------------------------------------------------------------------------------------------
# data and the exact reference
# ---------------------------------------------------------------------------------------------
W = np.linspace(-2.0, 3.0, D)


def _rows(rng: np.random.Generator, n: int) -> np.ndarray:
    X = rng.standard_normal((n, D)) * np.arange(1, D + 1) + np.arange(D)
    return np.column_stack([X, X @ W + 1.5 + 0.3 * rng.standard_normal(n)])


@pytest.fixture(scope="module")
def npy_folder(tmp_path_factory):
    """A folder of .npy chunks larger than one worker's memory limit (48 × 8.1 MB)."""
    path = tmp_path_factory.mktemp("npy")
    rng = np.random.default_rng(20)
    for i in range(48):
        np.save(path / f"part{i:02d}.npy", _rows(rng, 112_500))
    return path


@pytest.fixture(scope="module")
def pq_folder(tmp_path_factory):
    """Four Parquet files of four row groups each."""
    path = tmp_path_factory.mktemp("pq")
    rng = np.random.default_rng(21)
    names = [f"x{j}" for j in range(D)] + ["target"]
    for i in range(4):
        frame = pd.DataFrame(_rows(rng, 20_000), columns=names)
        frame.to_parquet(path / f"p{i}.parquet", row_group_size=5000)
    return path


def _chunks(path: Path):
    if sorted(path.glob("*.npy")):
        for f in sorted(path.glob("*.npy")):
            yield np.load(f)
    else:
        for f in sorted(path.glob("*.parquet")):
            yield pd.read_parquet(f).to_numpy()


def _exact(path: Path) -> np.ndarray:
    """Least squares [b, w] by QR, one chunk at a time: R of [1, X, y] stacked and re-reduced
    (never the normal equations, which descend's statistics use)."""
    R = np.zeros((0, D + 2))
    for block in _chunks(path):
        A = np.column_stack([np.ones(len(block)), block])
        R = np.linalg.qr(np.vstack([R, A]), mode="r")
    return np.linalg.solve(R[: D + 1, : D + 1], R[: D + 1, D + 1])


def _coefs(result_json: Path) -> np.ndarray:
    r = json.loads(result_json.read_text())["original_units"]
    return np.array([r["intercept"], *r["coef"]])


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------
def test_cli_and_api_fit_parquet_and_npy_folders(cluster, pq_folder, npy_folder):
    """`descend fit FOLDER --dask --scheduler ADDR` on a four-file Parquet folder and on a
    .npy folder larger than a worker's memory limit, and ds.fit(scheduler=...): exact least
    squares each time; the client's peak memory does not grow with the data (every chunk is
    read by a worker)."""
    from descend.problems.distributed import load

    size = sum(f.stat().st_size for f in npy_folder.glob("*.npy"))
    assert size > 1.1 * WORKER_MEMORY
    fit = ["--dask", "--scheduler", cluster.address, "--lr", "auto", "--tol", "1e-12"]
    a, b = cluster.root / "pq.json", cluster.root / "npy.json"
    with cluster.explained():
        code, _, err, small = _cli(cluster, "fit", str(pq_folder), *fit, "--quiet",
                                   "--json", str(a))  # fmt: skip
        assert code == 0, err
        assert err == ""  # --quiet: nothing on stderr, no Dask progress bars
        np.testing.assert_allclose(_coefs(a), _exact(pq_folder), rtol=1e-9, atol=1e-12)

        code, stdout, err, big = _cli(cluster, "fit", str(npy_folder), *fit, "--json", str(b))
        assert code == 0, err
        np.testing.assert_allclose(_coefs(b), _exact(npy_folder), rtol=1e-9, atol=1e-12)
        assert "48 chunks" in stdout and "converged" in stdout
        assert "Dask dashboard: http://127.0.0.1" in err
        assert "48 chunks read in" in err  # stderr is a file: the progress's final line only
        assert big - small < 0.2 * size, f"client: {small / 1e6:.0f} MB, then {big / 1e6:.0f} MB"

        X, y, names = load(pq_folder)
        res = ds.fit(X, y, learning_rate="auto", tol=1e-12, feature_names=names,
                     scheduler=cluster.address, connect_timeout=30)  # fmt: skip
        np.testing.assert_allclose([res.intercept, *res.coef], _exact(pq_folder), rtol=1e-9,
                                   atol=1e-12)  # fmt: skip


def test_cli_resume_of_a_checkpointed_fit_on_the_cluster(cluster, pq_folder):
    """`fit --checkpoint --max-iter 10` then `resume --max-iter 20` on the cluster: bitwise the
    iterates of an uninterrupted 20-step fit (made here without the cluster: the chunk sums
    are added in a fixed order wherever they are computed)."""
    from descend.problems.distributed import load

    common = ["--dask", "--scheduler", cluster.address, "--loss", "huber", "--lr", "0.1",
              "--tol", "0", "--quiet"]  # fmt: skip
    part, ck = cluster.root / "part.json", cluster.root / "run.ckpt"
    with cluster.explained():
        code, _, err, _ = _cli(cluster, "fit", str(pq_folder), *common, "--max-iter", "10",
                               "--checkpoint", str(ck))  # fmt: skip
        assert code == 0, err
        code, _, err, _ = _cli(cluster, "resume", str(ck), "--scheduler", cluster.address,
                               "--max-iter", "20", "--quiet", "--json", str(part))  # fmt: skip
        assert code == 0, err
        X, y, _ = load(pq_folder)
        whole = ds.fit(X, y, loss="huber", learning_rate=0.1, tol=0, max_steps=20)
        b = json.loads(part.read_text())
        assert b["n_steps"] == 20
        np.testing.assert_array_equal(np.array(b["params"]), whole.params)


def test_worker_without_descend_is_refused_at_connect(cluster, pq_folder):
    """A worker that cannot import descend: one line and exit 2, not a fit that waits forever
    for workers (they close on the first task they cannot unpickle)."""
    with cluster.explained():
        cluster.worker("w-bare", pythonpath=False)
        with distributed.Client(cluster.address, timeout=30) as client:
            client.wait_for_workers(3, timeout=120)
        try:
            code, _, err, _ = _cli(cluster, "fit", str(pq_folder), "--dask", "--scheduler",
                                   cluster.address, timeout=60)  # fmt: skip
        finally:
            cluster.kill("w-bare")
        assert code == 2 and err.count("\n") == 1, err
        assert "cannot import descend" in err and "w-bare" in err


def test_nan_read_by_a_worker_is_one_line(cluster, tmp_path):
    """A NaN found by the worker that reads the chunk: exit 2 and one line naming the file,
    the row and the column (no traceback from the cluster)."""
    rng = np.random.default_rng(22)
    names = [f"x{j}" for j in range(D)] + ["target"]
    for i in range(2):
        frame = pd.DataFrame(_rows(rng, 3000), columns=names)
        if i == 1:
            frame.loc[1234, "x3"] = np.nan
        frame.to_parquet(tmp_path / f"p{i}.parquet", row_group_size=1000)
    with cluster.explained():
        code, _, err, _ = _cli(cluster, "fit", str(tmp_path), "--dask", "--scheduler",
                               cluster.address, "--quiet", timeout=120)  # fmt: skip
        assert code == 2 and err.count("\n") == 1, err
        assert "p1.parquet, row 1234: column 'x3' is nan" in err


def test_worker_killed_mid_fit(cluster, pq_folder):
    """SIGKILL one worker (nanny and all) while a Huber fit runs: the fit finishes on the
    other, bitwise the answer of the same fit without a cluster (the chunk sums are added in
    a fixed order, wherever they are computed). Runs last: it leaves one worker."""
    from descend.problems.distributed import load

    ck, out = cluster.root / "kill.ckpt", cluster.root / "kill.json"
    args = [
        sys.executable,
        "-m",
        "descend",
        "fit",
        str(pq_folder),
        "--dask",
        "--scheduler",
        cluster.address,
        "--loss",
        "huber",
        "--lr",
        "0.1",
        "--tol",
        "0",
        "--max-iter",
        "40",
        "--checkpoint",
        str(ck),
        "--checkpoint-every",
        "2",
        "--quiet",
        "--json",
        str(out),
    ]
    with cluster.explained(), open(cluster.root / "kill.err", "wb") as fe:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=fe, env=_env(), start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not ck.exists():  # the fit is under way: step 5 is saved
                assert proc.poll() is None, (cluster.root / "kill.err").read_text()
                assert time.monotonic() < deadline, "no checkpoint within 120 s"
                time.sleep(0.05)
            cluster.kill("w1")
            assert proc.poll() is None, "the fit ended before the worker was killed"
            code = proc.wait(timeout=180)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        assert code == 0, (cluster.root / "kill.err").read_text()
        sched = (cluster.root / "scheduler.log").read_text()
        assert "Remove worker" in sched and "name: w1" in sched
        X, y, _ = load(pq_folder)
        local = ds.fit(X, y, loss="huber", learning_rate=0.1, tol=0, max_steps=40)
        r = json.loads(out.read_text())
        assert r["n_steps"] == 40
        np.testing.assert_array_equal(np.array(r["params"]), local.params)
