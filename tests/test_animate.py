"""Animations: a valid GIF with one frame per chosen step; MP4 only where ffmpeg exists."""

import numpy as np
import pytest

from _ci import skip_or_fail

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
Image = pytest.importorskip("PIL.Image")

import descend as ds  # noqa: E402
from descend.pictures.animate import animate, can_write_mp4, frame_steps  # noqa: E402
from descend.problems.objective import Objective  # noqa: E402
from descend.shells.cli import main  # noqa: E402


class Bowl(Objective):
    """f(θ) = θ₀² + 4·θ₁², minimised directly (no data)."""

    n_params = 2

    def value_and_grad(self, theta):
        return float(theta[0] ** 2 + 4 * theta[1] ** 2), np.array([2 * theta[0], 8 * theta[1]])


@pytest.fixture(scope="module")
def norris():
    d = ds.datasets.load("norris")
    return d, ds.fit(d.X, d.y, learning_rate=0.05, max_steps=40)


def gif_frames(path):
    data = path.read_bytes()
    assert data[:6] == b"GIF89a"
    with Image.open(path) as im:
        return im.n_frames


@pytest.mark.parametrize(("steps", "frames"), [(0, 5), (3, 60), (10, 4), (758, 60), (59, 60)])
def test_frame_steps_are_evenly_spread(steps, frames):
    """min(frames, K + 1) strictly increasing indices from 0 to K."""
    ks = frame_steps(steps, frames)
    assert len(ks) == min(frames, steps + 1)
    assert ks[0] == 0 and ks[-1] == steps
    assert np.all(np.diff(ks) > 0)


def test_gif_has_the_expected_frames(norris, tmp_path):
    """A GIF89a file whose frame count is min(frames, steps + 1)."""
    d, res = norris
    out = animate(res, d.X, d.y, tmp_path / "run.gif", frames=6, fps=10)
    assert out == tmp_path / "run.gif"
    assert gif_frames(out) == 6
    with Image.open(out) as im:
        assert im.info.get("duration") == 100


def test_short_run_gives_one_frame_per_iterate(norris, tmp_path):
    """Fewer iterates than frames: every θ_k is a frame."""
    d, _ = norris
    res = ds.fit(d.X, d.y, max_steps=3)
    assert gif_frames(animate(res, d.X, d.y, tmp_path / "short.gif", frames=60)) == 4


def test_plain_objective_animates_the_contour_only(tmp_path):
    """A run without a model still animates its path on the contours."""
    res = ds.minimize(Bowl(), [1.5, 1.0], learning_rate=0.1, max_steps=12)
    assert gif_frames(animate(res, None, None, tmp_path / "bowl.gif", frames=5)) == 5


def test_bad_outputs_are_refused(norris, tmp_path):
    """Unknown file types, and MP4 without ffmpeg, raise ValueError with the fix."""
    d, res = norris
    with pytest.raises(ValueError, match=".gif or .mp4"):
        animate(res, d.X, d.y, tmp_path / "run.avi")
    if not can_write_mp4():
        with pytest.raises(ValueError, match="ffmpeg"):
            animate(res, d.X, d.y, tmp_path / "run.mp4")


def test_mp4_when_ffmpeg_exists(norris, tmp_path):  # pragma: no cover - needs ffmpeg
    """With ffmpeg an MP4 is written (without it: skipped, but a failure under CI=true)."""
    if not can_write_mp4():
        skip_or_fail("ffmpeg is not installed")
    d, res = norris
    out = animate(res, d.X, d.y, tmp_path / "run.mp4", frames=4)
    assert out.stat().st_size > 0


def test_cli_animate(tmp_path, capsys):
    """`descend animate --out x.gif` fits and writes a GIF with the requested frames."""
    out = tmp_path / "cli.gif"
    assert (
        main(
            [
                "animate",
                "--lr",
                "0.1",
                "--max-iter",
                "30",
                "--out",
                str(out),
                "--frames",
                "5",
                "--fps",
                "5",
            ]
        )
        == 0
    )
    assert gif_frames(out) == 5
    assert "5 frames" in capsys.readouterr().out


def test_cli_animate_bad_suffix_is_one_line(tmp_path, capsys):
    """A wrong extension is a one-line error with exit status 2."""
    assert main(["animate", "--out", str(tmp_path / "x.txt")]) == 2
    assert "descend: error:" in capsys.readouterr().err
