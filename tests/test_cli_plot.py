"""`caravan plot` and `caravan animate` as a user calls them, and the standard figure sets they
draw for a run and a sweep directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image, ImageColor

import sim
from sim import animation, figures, plots
from sim.cli import main
from sim.errors import CaravanError
from sim.plots.style import outcome_words
from sim.results import MAIN_OUTCOMES, Results
from sim.rundir import write_run
from sim.scenario import Scenario, derive

Run = tuple[Scenario, list[Results]]
EXIT_INPUT_ERROR = 2
PNG = b"\x89PNG\r\n\x1a\n"
RUN_FIGURES = ["timeseries.png", "map.png", "maps-by-day.png", "outcomes.png"]


def caravan(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out.replace("\n", ""), err.replace("\n", " ").strip()


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def half_day_dir(small_january: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 hours of the small January run, two replicates: 12 frames to animate."""
    scenario, _ = small_january
    short = derive(scenario, {"time.duration_h": 12})
    runs = [sim.run(short, seed=s, threads=False) for s in (0, 1)]
    out = tmp_path_factory.mktemp("half-day") / "run"
    write_run(out, short, runs)
    return out


# --------------------------------------------------------------------------------------------
# The standard figures
# --------------------------------------------------------------------------------------------


def test_the_figures_of_a_run(small_january: Run) -> None:
    scenario, runs = small_january
    drawn = figures.run_figures(scenario, runs)
    assert list(drawn) == RUN_FIGURES
    panels = drawn["timeseries.png"].axes
    assert [ax.get_title() for ax in panels] == [
        "Where the people who left are",
        "How many have done each, so far",
        "COVID-19 tests, so far",
    ]
    assert [ax.get_xlabel() for ax in panels] == ["", "", "Local time (UTC-06:00)"]
    # 13 January starts at 18:00, 20 January ends at 24:00: noon of 14 to 20 January
    maps = [ax for ax in drawn["maps-by-day.png"].axes if ax.get_visible()]
    weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    expected = [f"{day} {n} Jan 12:00" for day, n in zip(weekdays, range(14, 21), strict=True)]
    assert [ax.get_title() for ax in maps] == expected
    assert len(drawn["outcomes.png"].axes) == 2
    busiest = int(runs[0].places[:, :, 1].sum(axis=1).argmax())  # the hour most were held
    title = drawn["map.png"].axes[0].get_title()
    assert title == f"january-2021: {runs[0].times[busiest]:%a %d %b %Y %H:%M}"


def test_the_figures_of_a_grid_sweep(grid_sweep_dir: Path) -> None:
    runs = sim.load_sweep(grid_sweep_dir)
    drawn = figures.sweep_figures(runs)
    assert list(drawn) == [
        "heatmaps.png",
        "line-slip_chance_per_h.png",
        "line-blockade_duration_h.png",
    ]
    varying = [o for o in MAIN_OUTCOMES if runs[o].nunique() > 1]
    heatmaps = [ax for ax in drawn["heatmaps.png"].axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in heatmaps] == [outcome_words(o) for o in varying]
    figure = drawn["line-slip_chance_per_h.png"]
    lines = figure.axes
    assert [len(ax.lines) for ax in lines] == [2] * len(varying)  # one per blockade duration
    # each panel is titled by its outcome alone; what they share is said once, above
    assert [ax.get_title() for ax in lines] == [outcome_words(o) for o in varying]
    assert figure.get_suptitle() == (
        f"Sweep '{runs.attrs['manifest']['name']}': outcomes by slip chance (per hour); "
        "median and 90% band over runs"
    )
    assert [ax.get_legend() for ax in lines] == [None] * len(varying)
    (legend,) = figure.legends  # one legend, below the panels
    assert [t.get_text() for t in legend.get_texts()] == ["12", "72"]
    assert legend.get_title().get_text() == "Blockade duration (h)"


def test_the_figures_of_a_sobol_sweep(sobol_sweep_dir: Path) -> None:
    drawn = figures.directory_figures(sobol_sweep_dir)
    assert list(drawn.figures) == [
        "heatmaps.png",
        "line-walking_speed_kmh.png",
        "line-intercept_chance.png",
        "sobol.png",
    ]
    assert drawn.notes == []
    bars = [ax for ax in drawn.figures["sobol.png"].axes if ax.get_visible()]
    assert all(len(ax.patches) == 4 for ax in bars)


def test_what_kind_of_directory(small_run_dir: Path, grid_sweep_dir: Path, tmp_path: Path) -> None:
    assert figures.directory_kind(small_run_dir) == "run"
    assert figures.directory_kind(grid_sweep_dir) == "caravan-sweep"
    with pytest.raises(CaravanError) as caught:
        figures.directory_kind(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: not a directory caravan writes (no summary.json of a run, no "
        "validation.json of a validation, no manifest.json of a sweep or calibration)"
    )
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "caravan-other"}))
    with pytest.raises(CaravanError) as caught:
        figures.directory_kind(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'manifest.json'}: kind 'caravan-other' is not one caravan plot draws; "
        "it draws run, caravan-sweep, caravan-calibration, caravan-validation"
    )


def test_a_new_kind_of_directory_plugs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "caravan-other"}))

    def draw(path: Path) -> figures.FigureSet:
        fig = Figure()
        fig.add_subplot().set_title(path.name)
        return figures.FigureSet({"other.png": fig}, ["drawn by the plug-in"])

    monkeypatch.setitem(figures.FIGURE_SETS, "caravan-other", draw)
    code, out, _ = caravan(capsys, "plot", tmp_path)
    assert code == 0
    assert "note: drawn by the plug-in" in out
    assert (tmp_path / "plots" / "other.png").read_bytes()[:8] == PNG


# --------------------------------------------------------------------------------------------
# caravan plot
# --------------------------------------------------------------------------------------------


def test_plot_a_run_then_refuse_to_overwrite(
    half_day_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(half_day_dir, run_dir)
    code, out, _ = caravan(capsys, "plot", run_dir)
    assert code == 0
    plots_dir = run_dir / "plots"
    assert sorted(p.name for p in plots_dir.iterdir()) == sorted(RUN_FIGURES)
    for name in RUN_FIGURES:
        assert (plots_dir / name).read_bytes()[:8] == PNG
    assert out == "wrote " + ", ".join(str(plots_dir / n) for n in RUN_FIGURES)
    before = snapshot(plots_dir)

    code, _, err = caravan(capsys, "plot", run_dir)
    assert code == EXIT_INPUT_ERROR
    assert err == (
        f"error: {plots_dir}: already holds results; choose another --out, or pass "
        "--overwrite to replace them"
    )
    assert snapshot(plots_dir) == before

    (plots_dir / "mine.txt").write_text("kept")
    code, _, _ = caravan(capsys, "plot", run_dir, "--overwrite")
    assert code == 0
    after = snapshot(plots_dir)
    assert sorted(after) == sorted([*RUN_FIGURES, "mine.txt"])  # others' files stay
    assert all(after[n][0] > before[n][0] for n in RUN_FIGURES)


def test_plot_a_sweep_elsewhere(
    grid_sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = caravan(capsys, "plot", grid_sweep_dir, "--out", tmp_path / "figs")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "heatmaps.png",
        "line-blockade_duration_h.png",
        "line-slip_chance_per_h.png",
    ]
    assert not (grid_sweep_dir / "plots").exists()


def test_plot_bad_directory_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim", "plot", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_INPUT_ERROR
    assert done.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such directory"


# --------------------------------------------------------------------------------------------
# caravan animate
# --------------------------------------------------------------------------------------------


def test_frames_are_every_nth_step_and_the_last() -> None:
    assert animation.frame_steps(12, 1) == list(range(12))
    assert animation.frame_steps(12, 5) == [0, 5, 10, 11]
    assert animation.frame_steps(12, 4) == [0, 4, 8, 11]
    assert animation.frame_steps(1, 3) == [0]


def test_animate_writes_a_gif_hour_by_hour(
    half_day_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = half_day_dir
    gif = tmp_path / "caravan.gif"
    code, out, _ = caravan(capsys, "animate", run_dir, "--out", gif, "--fps", "4")
    assert code == 0
    assert out == f"wrote {gif} (12 frames at 4 per second)"
    with Image.open(gif) as image:
        assert image.n_frames == 12
        assert image.size == (900, 576)
        assert image.info["duration"] == 250
        image.seek(0)
        first = image.convert("RGB").tobytes()
        pixels = np.asarray(image.convert("RGB"), dtype=int)
        image.seek(11)
        last = image.convert("RGB").tobytes()
    assert first != last  # the caravan has moved
    assert [p.name for p in tmp_path.iterdir()] == ["caravan.gif"]  # no partial file left
    # The borders are drawn: the sea (between the coasts) fills a good part of the frame.
    sea = np.array(ImageColor.getrgb(plots.SEA_COLOR))
    assert np.mean(np.all(np.abs(pixels - sea) <= 6, axis=2)) > 0.05

    code, _, err = caravan(capsys, "animate", run_dir, "--out", gif, "--every", "5")
    assert code == EXIT_INPUT_ERROR
    assert err == (
        f"error: {gif}: already exists; choose another --out, or pass --overwrite to replace them"
    )
    code, out, _ = caravan(
        capsys, "animate", run_dir, "--out", gif, "--every", "5", "--replicate", "1", "--overwrite"
    )
    assert code == 0
    with Image.open(gif) as image:
        assert image.n_frames == 4  # steps 0, 5, 10 and the last, 11


def test_animate_by_default_writes_into_the_run(
    half_day_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(half_day_dir, run_dir)
    code, out, _ = caravan(capsys, "animate", run_dir, "--every", "6")
    assert code == 0
    assert (run_dir / "caravan.gif").is_file()
    assert (run_dir / "caravan.mp4").is_file() == animation.ffmpeg_available()
    if not animation.ffmpeg_available():
        assert out.startswith("note: ffmpeg is not on PATH, so no MP4; writing the GIF only")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.avi"], "--out x.avi: expected a file name ending in .gif or .mp4"),
        (["--replicate", "2"], "--replicate 2: {dir} holds 2 replicate(s), 0 to 1"),
    ],
)
def test_animate_bad_options_exit_2(
    half_day_dir: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    run_dir = half_day_dir
    code, _, err = caravan(capsys, "animate", run_dir, *args)
    assert code == EXIT_INPUT_ERROR
    assert err == "error: " + message.format(dir=run_dir)


def test_animate_needs_a_run_directory(
    grid_sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = caravan(capsys, "animate", grid_sweep_dir)
    assert code == EXIT_INPUT_ERROR
    assert err == (
        f"error: {grid_sweep_dir}: a caravan-sweep directory; caravan animate needs a run "
        "directory (caravan run --out DIR)"
    )
    code, _, err = caravan(capsys, "animate", tmp_path / "nowhere")
    assert code == EXIT_INPUT_ERROR
    assert err == f"error: {tmp_path / 'nowhere'}: no such directory"


@pytest.mark.skipif(animation.ffmpeg_available(), reason="ffmpeg is installed here")
def test_an_mp4_without_ffmpeg_is_refused(
    half_day_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mp4 = tmp_path / "c.mp4"
    code, _, err = caravan(capsys, "animate", half_day_dir, "--out", mp4)
    assert code == EXIT_INPUT_ERROR
    assert err == (
        f"error: {mp4}: an MP4 needs ffmpeg, which is not on PATH; write a .gif instead, or "
        "install ffmpeg"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not animation.ffmpeg_available(), reason="ffmpeg is not on PATH")
def test_an_mp4_with_ffmpeg(half_day_dir: Path, tmp_path: Path) -> None:
    saved = sim.load_run(half_day_dir)
    mp4 = tmp_path / "c.mp4"
    frames = animation.write_animation(saved.replicates[0], saved.scenario, mp4, every=3)
    assert frames == 5
    assert mp4.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["c.mp4"]


def test_a_failed_animation_leaves_nothing(half_day_dir: Path, tmp_path: Path) -> None:
    # The frames are written, then putting them in place fails: a directory stands there.
    (tmp_path / "c.gif").mkdir()
    saved = sim.load_run(half_day_dir)
    with pytest.raises(IsADirectoryError):
        animation.write_animation(saved.replicates[0], saved.scenario, tmp_path / "c.gif")
    assert [p.name for p in tmp_path.iterdir()] == ["c.gif"]  # no partial file left
    assert not any((tmp_path / "c.gif").iterdir())
