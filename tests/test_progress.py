"""Progress on stderr: a tqdm bar on a terminal (a real pty), one final line in a pipe."""

from __future__ import annotations

import fcntl
import io
import os
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from descend.shells.cli import main
from descend.shells.cli.progress import Progress, default_delay

SRC = str(Path(__file__).resolve().parents[1] / "src")
FINAL = re.compile(r"^descend [a-z -]+: [\d,]+ \w+ in \d+\.\d s")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _env(delay: str = "0") -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": SRC, "DESCEND_PROGRESS_DELAY": delay}
    env.pop("COLUMNS", None)
    return env


def _run_in_pty(args: list[str], delay: str = "0") -> tuple[int, str, str]:
    """Run ``python -m descend ARGS`` with stderr on a pseudo-terminal (80×24), stdout a pipe."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "descend", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=_env(delay),
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read().decode() if proc.stdout else ""
    rc = proc.wait(timeout=120)
    os.close(master)
    return rc, out, b"".join(chunks).decode(errors="replace")


def _run_in_pipe(args: list[str], delay: str = "0") -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "descend", *args],
        capture_output=True,
        text=True,
        env=_env(delay),
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


LONG_COMMANDS = [
    ["fit", "--dataset", "longley", "--max-iter", "3000", "--tol", "0"],
    ["compare", "--max-iter", "300", "--optimizers", "gd,adam"],
    ["landscape", "goe", "--sizes", "1,2,3", "--samples", "2000"],
    ["sweep-lr", "--lrs", "0.01,0.1", "--max-iter", "200"],
]


@pytest.mark.slow
@pytest.mark.parametrize("args", LONG_COMMANDS, ids=lambda a: a[0] + "-" + a[1])
def test_a_terminal_gets_a_bar_then_one_final_line(args: list[str]) -> None:
    rc, out, err = _run_in_pty(args)
    assert rc == 0, err
    assert "\r" in err and "|" in err, err  # tqdm frames redraw the line in place
    assert re.search(r"\d+%\|", err), err  # a tqdm bar with its percentage
    last = err.replace("\r\n", "\n").split("\n")
    finals = [seg.split("\r")[-1] for seg in last if seg.split("\r")[-1]]
    assert FINAL.match(finals[-1]), finals  # the bar is erased and the summary line stays
    assert out  # the results still go to stdout


@pytest.mark.slow
@pytest.mark.parametrize("args", LONG_COMMANDS, ids=lambda a: a[0] + "-" + a[1])
def test_a_pipe_gets_only_the_final_line(args: list[str]) -> None:
    rc, out, err = _run_in_pipe(args)
    assert rc == 0, err
    assert "\r" not in err and "%|" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("descend ")]
    assert len(lines) == 1 and FINAL.match(lines[0]), err
    assert out


@pytest.mark.slow
def test_quiet_silences_progress_on_a_terminal() -> None:
    args = ["landscape", "goe", "--sizes", "1,2", "--samples", "500", "--quiet"]
    rc, out, err = _run_in_pty(args)
    assert rc == 0
    assert err == ""
    assert out


def test_short_work_prints_nothing() -> None:
    stream = Terminal()
    with Progress(10, "fit", stream=stream, delay=60.0) as p:
        for k in range(10):
            p(k, None, 1.0)
    assert stream.getvalue() == ""


def test_the_bar_reports_steps_and_loss_on_a_terminal() -> None:
    stream = Terminal()
    with Progress(100, "fit", stream=stream, delay=0.0) as p:
        for k in range(100):
            p(k, None, 0.5)
            if k == 50:
                time.sleep(0.12)  # past the 0.1 s redraw interval
    text = stream.getvalue()
    assert "loss 0.5" in text and "/100" in text
    assert text.splitlines()[-1].startswith("descend fit: 100 steps in")


def test_a_pipe_gets_no_frames() -> None:
    stream = io.StringIO()
    with Progress(100, "compare", "run", stream=stream, delay=0.0) as p:
        for k in range(1, 4):
            p.advance(k, 3)
    assert stream.getvalue().count("\n") == 1 and "\r" not in stream.getvalue()
    assert FINAL.match(stream.getvalue()) and "3 runs" in stream.getvalue()


def test_without_tqdm_a_terminal_gets_the_final_line_only(monkeypatch) -> None:
    import descend.shells.cli.progress as progress

    monkeypatch.setattr(progress, "tqdm_available", lambda: False)
    stream = Terminal()
    with progress.Progress(10, "fit", stream=stream, delay=0.0) as p:
        p(9, None, 2.0)
    assert stream.getvalue() == "descend fit: 10 steps in 0.0 s (loss 2)\n"


def test_quiet_prints_nothing() -> None:
    stream = Terminal()
    with Progress(10, "fit", stream=stream, delay=0.0, quiet=True) as p:
        p(9, None, 2.0)
    assert stream.getvalue() == "" and p.bar is None


def test_interrupted_work_erases_its_bar() -> None:
    stream = Terminal()
    with pytest.raises(KeyboardInterrupt), Progress(10, "fit", stream=stream, delay=0.0) as p:
        p.advance(3)
        raise KeyboardInterrupt
    assert p.bar is not None and p.bar.disable  # closed: tqdm keeps no reference to it
    assert stream.getvalue().endswith("\n")


def test_bad_delay_is_one_clear_error(monkeypatch, capsys) -> None:
    monkeypatch.setenv("DESCEND_PROGRESS_DELAY", "soon")
    with pytest.raises(ValueError, match="DESCEND_PROGRESS_DELAY"):
        default_delay()
    assert main(["landscape", "goe", "--sizes", "1", "--samples", "10"]) == 2
    assert "DESCEND_PROGRESS_DELAY must be a number" in capsys.readouterr().err


# -- Dask fits: the chunks read, then the steps, on one display (issue 20, item 5) -----------
def test_the_bar_counts_chunks_then_steps() -> None:
    """A Dask fit's statistics pass reports chunks (`chunks(done, total)`), then the loop's
    callback reports steps: the same bar switches from chunks to steps, and the final line
    says both."""
    stream = Terminal()
    with Progress(50, "fit", stream=stream, delay=0.0) as p:
        for done in range(0, 7):
            p.chunks(done, 6)
        assert p.bar is not None and p.bar.unit == "chunk" and p.bar.total == 6
        frames = stream.getvalue()
        assert "fit: reading" in frames and "6/6" in frames and "chunk" in frames
        for k in range(50):
            p(k, None, 0.25)
        assert p.bar.unit == "step" and p.bar.total == 50 and p.done == 50
        assert re.search(r"fit:.*\| 1/50 \[", stream.getvalue()[len(frames) :])
    final = stream.getvalue().splitlines()[-1]
    assert FINAL.match(final) and "50 steps" in final and "6 chunks read in" in final


def test_a_pipe_gets_the_chunks_in_the_final_line() -> None:
    stream = io.StringIO()
    with Progress(10, "resume", stream=stream, delay=0.0) as p:
        p.chunks(0, 3)
        p.chunks(3, 3)
        p(0, None, 1.0)
    text = stream.getvalue()
    assert text.count("\n") == 1 and "\r" not in text
    assert re.match(r"descend resume: 1 step in \d+\.\d s \(loss 1\), 3 chunks read in", text)


@pytest.mark.slow
def test_dask_fit_on_a_terminal_shows_chunks_then_steps(tmp_path) -> None:
    """`descend fit FOLDER --dask` in a pty: frames counting the 4 chunks (no Dask bars), then
    frames counting steps, then one final line with the step count and the chunks read."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("dask")
    rng = np.random.default_rng(5)
    (tmp_path / "d").mkdir()
    for i in range(4):
        X = rng.standard_normal((500, 3))
        np.save(tmp_path / "d" / f"c{i}.npy", np.column_stack([X, X @ [1.0, 2.0, 3.0] + 1]))
    rc, out, err = _run_in_pty(["fit", str(tmp_path / "d"), "--dask", "--lr", "0.01",
                                "--max-iter", "400", "--tol", "0"])  # fmt: skip
    assert rc == 0, err
    assert re.search(r"fit: reading:.*\| 4/4 \[", err), err  # the chunks, as they finish
    assert re.search(r"fit:.*\| \d+/400 \[", err), err  # then the steps
    assert err.index("4/4") < err.rindex("/400")
    finals = [seg.split("\r")[-1] for seg in err.replace("\r\n", "\n").split("\n")]
    last = [f for f in finals if f.strip()][-1]
    assert FINAL.match(last) and "400 steps" in last and "4 chunks read" in last, last
    assert "data: " in out  # the summary on stdout, no bars there
    assert "Completed" not in err + out  # no Dask progress bars ("[####] | 100% Completed")
