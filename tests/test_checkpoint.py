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
    assert doc["format"] == "descend.descent.checkpoint/1"
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
