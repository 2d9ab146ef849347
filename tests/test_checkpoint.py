"""Nothing lost: checkpoints resume to bitwise the same iterates, even after SIGTERM/SIGINT."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import descend as ds
from descend.data.tables import DataError
from descend.descent.loop import LoopState

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def data(rng):
    X = rng.normal(size=(60, 3)) * [1.0, 10.0, 0.1]
    return X, X @ [1.0, 2.0, 3.0] + 1 + rng.normal(size=60)


def stop_at(step):
    return lambda k, theta, loss: k == step


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("lr", [0.01, "auto"])
def test_resume_is_bitwise_identical(tmp_path, data, optimizer, batch_size, lr):
    """Stop mid-run, resume from the file: θ, the whole history and n_steps equal a run that
    never stopped, bit for bit (full batch and mini-batch; gd and adam; fixed and auto lr)."""
    X, y = data
    kw = dict(
        optimizer=optimizer,
        learning_rate=lr,
        batch_size=batch_size,
        max_steps=600,
        tol=0,
        patience=10_000,  # run every step: no certificate (tol 0) and no stall verdict
    )
    full = ds.fit(X, y, **kw)
    path = tmp_path / "run.ckpt"
    part = ds.fit(X, y, callback=stop_at(250), checkpoint=path, checkpoint_every=100, **kw)
    assert part.stop_reason == "interrupted" and part.n_steps == 251
    assert ds.load_checkpoint(path).step == 251
    res = ds.resume(path, X, y)
    assert res.n_steps == full.n_steps == 600
    np.testing.assert_array_equal(res.params, full.params)
    for f in ("loss", "grad_norm", "step_size", "lr", "params"):
        np.testing.assert_array_equal(getattr(res.history, f), getattr(full.history, f))
    assert res.warnings == full.warnings and res.settings == full.settings


def test_mae_continuation_resumes_bitwise(tmp_path):
    """The MAE's smoothing continuation (δ, the last stage's end, the Armijo warm start) is in
    the checkpoint: stopped between stages and resumed, it is the uninterrupted run."""
    d = ds.datasets.load("norris")
    X, y = d.X, d.y
    full = ds.fit(X, y, loss="mae", learning_rate="auto")
    path = tmp_path / "mae.ckpt"
    part = ds.fit(X, y, loss="mae", learning_rate="auto", callback=stop_at(full.n_steps // 2),
                  checkpoint=path)  # fmt: skip
    assert part.stop_reason == "interrupted"
    res = ds.resume(path, X, y)
    assert (res.stop_reason, res.n_steps, res.message) == (full.stop_reason, full.n_steps,
                                                           full.message)  # fmt: skip
    np.testing.assert_array_equal(res.params, full.params)
    np.testing.assert_array_equal(res.history.loss, full.history.loss)
    assert res.settings == full.settings


def test_periodic_checkpoint_after_a_crash(tmp_path, data):
    """A run killed hard (here: an exception) leaves its last periodic checkpoint, which
    resumes to the uninterrupted run's iterates."""
    X, y = data
    kw = dict(optimizer="adam", learning_rate=0.05, batch_size=8, max_steps=500, tol=0)
    full = ds.fit(X, y, **kw)

    def crash(k, theta, loss):
        if k == 333:
            raise RuntimeError("power cut")

    path = tmp_path / "crash.ckpt"
    with pytest.raises(RuntimeError):
        ds.fit(X, y, callback=crash, checkpoint=path, checkpoint_every=40, **kw)
    ck = ds.load_checkpoint(path)
    assert ck.step == 320 and ck.status == "running"
    res = ds.resume(path, X, y)
    np.testing.assert_array_equal(res.params, full.params)
    np.testing.assert_array_equal(res.history.loss, full.history.loss)


def test_max_steps_checkpoint_continues_with_more_steps(tmp_path, data):
    """A run that used up max_steps saves its state; resume(max_steps=…) extends it exactly."""
    X, y = data
    full = ds.fit(X, y, learning_rate=0.01, max_steps=400, tol=0)
    path = tmp_path / "m.ckpt"
    first = ds.fit(X, y, learning_rate=0.01, max_steps=150, tol=0, checkpoint=path)
    assert first.stop_reason == "max_steps" and "state saved" in first.message
    res = ds.resume(path, X, y, max_steps=400)
    np.testing.assert_array_equal(res.params, full.params)


def test_resume_refuses_other_data(tmp_path, data):
    """Resuming on different (or reordered) data is refused with the hashes named."""
    X, y = data
    path = tmp_path / "r.ckpt"
    ds.fit(X, y, learning_rate=0.01, max_steps=20, checkpoint=path)
    with pytest.raises(DataError, match="refusing to resume .* other data"):
        ds.resume(path, X[::-1], y[::-1])
    with pytest.raises(DataError, match="SHA-256"):
        ds.resume(path, X, y + 1e-12)
    with pytest.raises(ValueError, match="does not say where its data came from"):
        ds.resume(path)


def test_checkpoint_file_is_json_without_pickle(tmp_path, data):
    """The file is strict JSON; arrays are base64 of float64 bytes; nothing is pickled."""
    X, y = data
    path = tmp_path / "j.ckpt"
    ds.fit(X, y, optimizer="adam", learning_rate=0.01, max_steps=30, batch_size=5, checkpoint=path)
    doc = json.loads(path.read_text(), parse_constant=pytest.fail)
    assert doc["format"] == "descend.descent.checkpoint/2"
    assert set(doc["state"]["theta"]) == {"dtype", "shape", "b64"}
    assert doc["data"]["sha256"] and doc["config"]["optimizer"] == "adam"
    assert b"pickle" not in path.read_bytes() and not path.read_bytes().startswith(b"\x80")


def test_bad_checkpoint_files_are_explained(tmp_path):
    """Not JSON, or JSON of another kind: a ValueError that says so."""
    bad = tmp_path / "bad.ckpt"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a descend checkpoint"):
        ds.load_checkpoint(bad)
    bad.write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a descend checkpoint"):
        ds.load_checkpoint(bad)
    with pytest.raises(ValueError, match="checkpoint_every"):
        ds.fit([[0.0], [1.0], [2.0]], [0, 1, 2.0], checkpoint=tmp_path / "x", checkpoint_every=0)


def test_loop_state_round_trip(data):
    """LoopState.to_dict/from_dict keeps inf/nan counters and the history exactly."""
    X, y = data
    res = ds.fit(X, y, learning_rate=0.01, max_steps=5)
    from descend.descent.history import Recorder

    rec = Recorder(True, res.params)
    rec.add(0, np.inf, np.nan, 1.5, 0.1, res.params)
    st = LoopState(k=1, theta=res.params, opt_state=res.opt_state, recorder=rec,
                   prev_loss=np.nan, best_loss=np.inf, epoch_losses=[1.0, -np.inf])  # fmt: skip
    back = LoopState.from_dict(json.loads(json.dumps(st.to_dict(), allow_nan=False)))
    assert back.to_dict() == st.to_dict()
    assert np.isnan(back.prev_loss) and back.best_loss == np.inf


# ---------------------------------------------------------------------------------------------
# the CLI under a real signal
# ---------------------------------------------------------------------------------------------
def _cli(args, cwd, **popen):
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-m", "descend", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code", "extra"),
    [
        (signal.SIGTERM, 143, []),
        (signal.SIGINT, 130, ["--optimizer", "adam", "--batch-size", "8"]),
    ],
)
def test_cli_signal_writes_checkpoint_and_partial_result(tmp_path, rng, sig, code, extra):
    """`descend fit --checkpoint` killed by SIGTERM/SIGINT saves state and the partial result;
    `descend resume` then reaches bitwise the result of an uninterrupted run."""
    X = rng.uniform(0, 5, (40, 2))
    y = X @ [1.0, -2.0] + 3 + rng.normal(size=40)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "\n".join(f"{r[0]!r},{r[1]!r},{t!r}" for r, t in
                                          zip(X.tolist(), y.tolist(), strict=True)))  # fmt: skip
    args = [str(csv), "--lr", "0.0005", "--tol", "0", "--max-iter", "2500", *extra]
    ckpt = tmp_path / "run.ckpt"
    proc = _cli(["fit", *args, "--checkpoint", str(ckpt), "--checkpoint-every", "100",
                 "--quiet"], tmp_path)  # fmt: skip
    deadline = time.monotonic() + 30
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err.decode()
    assert b"descend resume" in err
    partial = json.loads((tmp_path / "run.ckpt.json").read_text())
    assert partial["stop_reason"] == "interrupted" and sig.name in partial["message"]
    assert ds.load_checkpoint(ckpt).status == "interrupted"

    resumed = _cli(["resume", str(ckpt), "--json", "resumed.json", "--quiet"], tmp_path)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    got = json.loads((tmp_path / "resumed.json").read_text())
    kw = dict(learning_rate=0.0005, tol=0, max_steps=2500)
    if extra:
        kw.update(optimizer="adam", batch_size=8)
    full = ds.fit(X, y, feature_names=["a", "b"], **kw)
    assert got["n_steps"] == full.n_steps
    np.testing.assert_array_equal(np.asarray(got["params"]), full.params)
    got_loss = np.asarray(got["history"]["loss"], dtype=float)
    np.testing.assert_array_equal(got_loss, full.history.loss)


# ---------------------------------------------------------------------------------------------
# the history beside the state: a save costs O(new steps)
# ---------------------------------------------------------------------------------------------
def test_each_save_appends_only_the_new_rows(tmp_path, data, monkeypatch):
    """Saves every 100 steps ask the record for rows [100·i, 100·(i+1)) only — never the whole
    history — and the JSON state does not grow with the steps."""
    from descend.descent.history import Recorder

    asked = []
    real = Recorder.rows_array

    def spy(self, start, stop):
        asked.append((start, stop))
        return real(self, start, stop)

    monkeypatch.setattr(Recorder, "rows_array", spy)
    X, y = data
    path = tmp_path / "run.ckpt"
    sizes = []
    kw = dict(learning_rate=1e-4, tol=0, patience=10_000, checkpoint=path, checkpoint_every=100)

    def size_at(k, theta, loss):
        if k > 100 and (k + 1) % 100 == 50:
            sizes.append(path.stat().st_size)
        return False

    res = ds.fit(X, y, max_steps=1000, callback=size_at, **kw)
    assert res.n_steps == 1000
    assert asked == [(i, i + 100) for i in range(0, 1000, 100)]
    assert max(sizes) - min(sizes) < 100  # the state's size does not depend on the step
    row = Recorder(True, np.zeros(4)).row_dtype().itemsize  # step, 4 columns, θ (p = 4)
    assert (tmp_path / "run.ckpt.history").stat().st_size == 1000 * row == 1000 * 8 * (5 + 4)


def test_resume_appends_after_the_saved_rows(tmp_path, data, monkeypatch):
    """A resumed run reads the history once and then appends after it: its first save asks
    for the rows since the checkpoint only (the prefix is verified, not rewritten)."""
    from descend.descent.history import Recorder

    X, y = data
    path = tmp_path / "run.ckpt"
    kw = dict(learning_rate=1e-3, tol=0, patience=10_000)
    ds.fit(X, y, max_steps=300, checkpoint=path, checkpoint_every=100, **kw)
    asked = []
    real = Recorder.rows_array
    monkeypatch.setattr(
        Recorder, "rows_array", lambda self, a, b: asked.append((a, b)) or real(self, a, b)
    )
    res = ds.resume(path, X, y, max_steps=500, checkpoint_every=100)
    assert asked == [(0, 300), (300, 400), (400, 500)]  # (0, 300): the prefix's hash, once
    full = ds.fit(X, y, max_steps=500, **kw)
    np.testing.assert_array_equal(res.params, full.params)
    np.testing.assert_array_equal(res.history.params, full.history.params)
    assert ds.load_checkpoint(path).step == 500


def test_rows_written_after_the_checkpoint_are_ignored(tmp_path, data):
    """A kill between the history append and the state's replace leaves extra rows (here:
    garbage) after the ones the checkpoint names: reading ignores them, resuming overwrites them
    and reaches bitwise the uninterrupted run."""
    X, y = data
    path = tmp_path / "run.ckpt"
    kw = dict(learning_rate=1e-3, tol=0, patience=10_000, optimizer="adam", batch_size=9)
    ds.fit(X, y, max_steps=200, checkpoint=path, checkpoint_every=100, **kw)
    with open(tmp_path / "run.ckpt.history", "ab") as fh:
        fh.write(os.urandom(1000))
    assert ds.load_checkpoint(path).step == 200
    res = ds.resume(path, X, y, max_steps=400)
    full = ds.fit(X, y, max_steps=400, **kw)
    np.testing.assert_array_equal(res.history.loss, full.history.loss)
    np.testing.assert_array_equal(res.params, full.params)
    assert ds.load_checkpoint(path).step == 400


_KILL_MID_SAVE = """
import os, sys, time
import numpy as np
import descend as ds
real = os.replace
calls = []
def stuck(src, dst):
    calls.append(src)
    if len(calls) == 3:  # the third save: the temporary is written, not yet in place
        open(sys.argv[2], "w").close()
        time.sleep(60)
    real(src, dst)
os.replace = stuck
rng = np.random.default_rng(3)
X = rng.normal(size=(50, 2))
y = X @ [1.0, -1.0] + 0.5
ds.fit(X, y, learning_rate=1e-3, tol=0, patience=10**6, max_steps=10**6, checkpoint=sys.argv[1],
       checkpoint_every=100)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_kill_mid_save_leaves_the_previous_checkpoint_and_its_temporary_is_removed(tmp_path):
    """A process SIGKILLed while writing its third save leaves ``run.ckpt.tmp<PID>`` and rows
    beyond the checkpoint in the history; the checkpoint is the second save's, loading it removes
    the temporary, and resuming reaches bitwise the iterates of a run never killed."""
    path, ready = tmp_path / "run.ckpt", tmp_path / "ready"
    script = tmp_path / "child.py"
    script.write_text(_KILL_MID_SAVE)
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(ready)], env=env)
    try:
        deadline = time.monotonic() + 90
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists(), "the child never reached its third save"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    stray = tmp_path / f"run.ckpt.tmp{proc.pid}"
    assert stray.exists()
    ck = ds.load_checkpoint(path)
    assert ck.step == 200 and not stray.exists()
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 2))
    y = X @ [1.0, -1.0] + 0.5
    res = ds.resume(path, X, y, max_steps=500)
    full = ds.fit(X, y, learning_rate=1e-3, tol=0, patience=10**6, max_steps=500)
    np.testing.assert_array_equal(res.params, full.params)
    np.testing.assert_array_equal(res.history.loss, full.history.loss)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def test_temporaries_of_dead_processes_are_removed_before_the_run(tmp_path, data):
    """Stale ``.tmp<PID>`` files of gone processes are removed when a fit starts saving there;
    a live process's temporary and other files are left; a normal run leaves none."""
    X, y = data
    dead = tmp_path / f"run.ckpt.tmp{_dead_pid()}"
    live = tmp_path / f"run.ckpt.tmp{os.getppid()}"
    other = tmp_path / "run.ckpt.tmpX"
    for f in (dead, live, other):
        f.write_text("{}")
    seen = []
    ds.fit(X, y, max_steps=50, checkpoint=tmp_path / "run.ckpt",
           callback=lambda k, t, l: seen.append(dead.exists()))  # fmt: skip
    assert seen and not any(seen)  # gone before the first step
    assert live.exists() and other.exists()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["run.ckpt", "run.ckpt.history", live.name, other.name])


def test_an_error_while_saving_leaves_no_temporary(tmp_path, data, monkeypatch):
    """The state written, then os.replace fails: the error propagates and the temporary is
    removed."""
    X, y = data

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space"):
        ds.fit(X, y, max_steps=50, checkpoint=tmp_path / "run.ckpt", checkpoint_every=10)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


# ---------------------------------------------------------------------------------------------
# paths refused before the run
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["directory", "no folder", "history is a directory"])
def test_a_bad_checkpoint_path_is_refused_before_the_first_step(tmp_path, data, kind):
    X, y = data
    if kind == "directory":
        path, match = tmp_path, "is a directory, not a file: give a file name, e.g."
    elif kind == "no folder":
        path, match = tmp_path / "missing" / "run.ckpt", "folder .*missing.* does not exist"
    else:
        (tmp_path / "run.ckpt.history").mkdir()
        path, match = tmp_path / "run.ckpt", "history 'run.ckpt.history'|run.ckpt.history"
    before = sorted(tmp_path.rglob("*"))
    steps = []
    with pytest.raises(ValueError, match=match):
        ds.fit(X, y, max_steps=50, checkpoint=path, callback=lambda *a: steps.append(1))
    assert steps == [] and sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["fit", "--checkpoint", "{d}"], "argument --checkpoint: path '{d}' is a directory"),
        (["fit", "--checkpoint", "{d}/no/run.ckpt"], "argument --checkpoint: the folder"),
        (["fit", "--json", "{d}"], "argument --json: path '{d}' is a directory"),
        (["fit", "--report", "{d}"], "argument --report: path '{d}' is a directory"),
        (["fit", "--checkpoint", "{d}/c"], "'{d}/c' also writes '{d}/c.json', which is a dir"),
        (["resume", "{d}/x.ckpt", "--json", "{d}"], "argument --json: path '{d}' is a dir"),
        (["landscape", "goe", "--json", "{d}"], "argument --json: path '{d}' is a directory"),
    ],
)
def test_cli_output_paths_are_checked_while_parsing(tmp_path, capsys, argv, match):
    """A directory (or a missing folder) as an output path: exit 2 with one line, before any
    data are read, and nothing written."""
    from descend.shells.cli import main

    (tmp_path / "c.json").mkdir()
    d = str(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert main([a.replace("{d}", d) for a in argv] + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert match.replace("{d}", d) in err and err.count("\n") == 1
    assert sorted(tmp_path.rglob("*")) == before


# ---------------------------------------------------------------------------------------------
# a checkpoint's contents are validated on reading
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path, data):
    """A mini-batch adam checkpoint at step 120 with its θ path: (path, X, y)."""
    X, y = data
    path = tmp_path / "run.ckpt"
    ds.fit(X, y, optimizer="adam", learning_rate=1e-3, batch_size=7, max_steps=120, tol=0,
           record_params=True, checkpoint=path, checkpoint_every=50)  # fmt: skip
    assert ds.load_checkpoint(path).step == 120
    return path, X, y


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _b64(values, dtype="<f8"):
    import base64

    return base64.b64encode(np.asarray(values, dtype=dtype).tobytes()).decode()


def _set_theta(doc):
    t = doc["state"]["theta"]
    raw = np.frombuffer(__import__("base64").b64decode(t["b64"]), "<f8").copy()
    raw[0] += 1e-9
    t["b64"] = _b64(raw)


def _swap_rows_in_perm(doc):
    perm = doc["state"]["sampler"]["perm"]
    raw = np.frombuffer(__import__("base64").b64decode(perm["b64"]), perm["dtype"]).copy()
    raw[1] = raw[0]  # a row twice, another never
    perm["b64"] = _b64(raw, perm["dtype"])


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (lambda d: d.update(step=d["step"] + 1), "says step 121, its state step 120"),
        (lambda d: d["state"].update(k=119), "says step 120, its state step 119"),
        (lambda d: (d.update(step=119), d["state"].update(k=119)), "history has 120 rows"),
        (_set_theta, "θ does not match its SHA-256"),
        (_swap_rows_in_perm, "not a permutation of the 60 rows"),
        (lambda d: d["state"]["sampler"].update(pos=500), "position 500 is outside"),
        (lambda d: d["state"]["history"].update(rows=130), "holds 120 whole rows, the chec"),
        (lambda d: d["state"]["history"].update(sha256="0" * 64), "does not match the check"),
        (lambda d: d["state"]["history"].update(file="../run.ckpt.history"), "not a plain file"),
    ],
)
def test_tampered_checkpoints_are_refused(saved, tamper, match):
    """Each inconsistency is named; neither load_checkpoint nor resume goes on."""
    path, X, y = saved
    _edit(path, tamper)
    with pytest.raises(ValueError, match="damaged or edited descend checkpoint") as err:
        ds.load_checkpoint(path)
    assert match in str(err.value)
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace("?", r"\?")):
        ds.resume(path, X, y)


def test_an_edited_or_missing_history_file_is_refused(saved):
    path, _, _ = saved
    hist = path.with_name("run.ckpt.history")
    raw = bytearray(hist.read_bytes())
    raw[100] ^= 1
    hist.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="does not match the checkpoint's SHA-256"):
        ds.load_checkpoint(path)
    hist.write_bytes(bytes(raw[:-1000]))
    with pytest.raises(ValueError, match="truncated"):
        ds.load_checkpoint(path)
    hist.unlink()
    with pytest.raises(ValueError, match="history file .* is missing: keep 'run.ckpt.history'"):
        ds.load_checkpoint(path)


def test_a_first_format_checkpoint_still_resumes(tmp_path, data):
    """A checkpoint written before the history moved beside it (format 1: the history in the
    JSON) still loads and resumes bitwise."""
    X, y = data
    kw = dict(learning_rate=1e-3, tol=0, patience=10_000)
    path = tmp_path / "old.ckpt"
    ds.fit(X, y, max_steps=150, checkpoint=path, **kw)
    ck = ds.load_checkpoint(path)

    def to_v1(doc):
        doc["format"] = "descend.descent.checkpoint/1"
        doc.pop("theta_sha256")
        doc["state"] = ck.state.to_dict()

    _edit(path, to_v1)
    path.with_name("old.ckpt.history").unlink()
    res = ds.resume(path, X, y, max_steps=300)
    full = ds.fit(X, y, max_steps=300, **kw)
    np.testing.assert_array_equal(res.history.loss, full.history.loss)
