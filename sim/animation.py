"""The caravan moving over the map, one frame per step: a GIF (Pillow, which comes with
matplotlib) or an MP4 (matplotlib's FFMpegWriter, where ffmpeg is on PATH). Each frame is the
map of `sim.plots.NetworkMap`: country and department borders, scale bar and north arrow, the
status box and the legend beside it.

Drawing only what changes: the map (`sim.plots.NetworkMap`) is rendered once without the
artists that change, and each frame restores that picture and draws just those artists on it
(blitting); text, most of a full redraw's cost, is redrawn only where it changes. GIF frames go
to Pillow as palette images sharing one palette, so a week of hours stays small in memory and on
disk (matplotlib's PillowWriter would redraw the whole figure for every frame and keep every
frame in full colour until the end). The MP4 writer grabs a second figure that holds nothing but
the frame as an image, so it never redraws the map either. The place labels are moved clear of
the markers in each frame (their placer is one of the artists that change); the country names
are placed once, for the busiest frame, and stay.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.animation import FFMpegWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from sim.errors import CaravanError
from sim.plots import NetworkMap
from sim.results import Results
from sim.scenario import Scenario

SUFFIXES = (".gif", ".mp4")
FRAME_SIZE_IN = (10.0, 6.4)  # the map, and beside it the status box and the legend
DPI = 90  # 900 x 576 pixels: readable labels, and a week of hours stays a few MB


def ffmpeg_available() -> bool:
    """Whether an MP4 can be written: ffmpeg is on PATH."""
    return shutil.which("ffmpeg") is not None


def frame_steps(n_steps: int, every: int) -> list[int]:
    """Steps drawn: every `every`-th from the first, and always the last."""
    steps = list(range(0, n_steps, every))
    if steps[-1] != n_steps - 1:
        steps.append(n_steps - 1)
    return steps


def write_animation(
    results: Results,
    scenario: Scenario,
    path: Path,
    fps: int = 8,
    every: int = 1,
    dpi: int = DPI,
) -> int:
    """Write the animation of `results` to `path` (.gif or .mp4) and return its frame count.

    The file is written under a temporary name and renamed when complete, so `path` is never
    half-written; an existing `path` is replaced (the caller decides whether it may be).
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CaravanError(f"{path}: expected a file name ending in {' or '.join(SUFFIXES)}")
    if suffix == ".mp4" and not ffmpeg_available():
        raise CaravanError(
            f"{path}: an MP4 needs ffmpeg, which is not on PATH; write a .gif instead, or "
            "install ffmpeg"
        )
    steps = frame_steps(results.n_steps, every)
    busiest = int(np.argmax(results.at_places("n_held").sum(axis=1)))
    partial = path.with_name(f".partial-{path.name}")
    try:
        if suffix == ".gif":
            # The busiest frame first, for the palette: it has every colour the map uses.
            _write_gif(_frames(results, scenario, [busiest, *steps], busiest, dpi), partial, fps)
        else:
            _write_mp4(_frames(results, scenario, steps, busiest, dpi), partial, fps, dpi)
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return len(steps)


def _frames(
    results: Results, scenario: Scenario, steps: list[int], layout_step: int, dpi: int
) -> Iterator[npt.NDArray[np.uint8]]:
    """RGBA pixels (rows from the top) of the map at each step, laid out as at `layout_step`."""
    fig = Figure(figsize=FRAME_SIZE_IN, dpi=dpi, layout="constrained")
    drawn = NetworkMap(results, scenario, fig.add_subplot())
    drawn.show(layout_step)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")  # then keep that layout: frames must not shift
    changing = drawn.changing_artists()
    for artist in changing:
        artist.set_animated(True)  # left out of a full draw
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    background = canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call]
    for step in steps:
        drawn.show(step)
        canvas.restore_region(background)  # type: ignore[no-untyped-call]
        for artist in changing:
            fig.draw_artist(artist)
        yield np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]


def _write_gif(frames: Iterator[npt.NDArray[np.uint8]], path: Path, fps: int) -> None:
    """The first frame gives the palette of all (the map's colours are fixed); the rest are the
    animation. Octree, not median cut: median cut merges the few pixels of a small marker (a
    health post's green cross) into the land and sea shades around them."""
    first = Image.fromarray(next(frames)).convert("RGB")
    palette = first.quantize(colors=255, method=Image.Quantize.FASTOCTREE)
    images = [
        Image.fromarray(rgba).convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE)
        for rgba in frames
    ]
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )


def _write_mp4(frames: Iterator[npt.NDArray[np.uint8]], path: Path, fps: int, dpi: int) -> None:
    screen = Figure(figsize=FRAME_SIZE_IN, dpi=dpi)
    shown = None
    writer = FFMpegWriter(fps=fps)
    with writer.saving(screen, str(path), dpi=dpi):
        for rgba in frames:
            if shown is None:
                shown = screen.figimage(rgba, origin="upper")
            else:
                shown.set_data(rgba)
            writer.grab_frame()
