"""A run's figures drawn in a process of their own, once the run's data is written, so that
`caravan run` returns without waiting for matplotlib (`caravan run --figures background`, and
the default at a terminal).

`python -m sim.background_figures RUN_DIR [FORMAT DPI]` draws RUN_DIR's figures (RUN_FIGURES,
as FORMAT files at DPI dots per inch: `caravan run --format --dpi`) into it from what it
holds, each file written whole (`sim.figures.save`). What the process prints, a
traceback if drawing fails, goes to RUN_DIR/figures.log, which it removes once every figure is
written. This module imports neither matplotlib nor the model: starting the process costs the
run nothing.

While the process draws, it holds a lock on that log (taken before it starts, on the file it
inherits as its output; released when it exits, however it exits), so that `caravan run
--overwrite` of the same directory waits for it (`wait_for_drawing`) instead of having an old
drawing write its figures into the new run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

if sys.platform != "win32":  # Windows has no advisory locks: there an overwrite does not wait
    import fcntl

RUN_FIGURES = ("timeseries.png", "map.png", "maps-by-day.png", "outcomes.png")
"""The file names of the figures `sim.figures.run_figures` draws (named here too, since this
module may not import that one; tests/test_background_figures.py holds them equal)."""

FIGURES_LOG = "figures.log"
_MODULE = "sim.background_figures"  # what the process runs (`__name__` is __main__ there)

_STARTED: list[subprocess.Popen[bytes]] = []  # held, so that none is reaped (and warned of) early


DEFAULT_FORMAT = "png"
DEFAULT_DPI = 120  # sim.figures.DPI (named here too: this module may not import that one)


def figure_names(file_format: str = DEFAULT_FORMAT) -> list[str]:
    """RUN_FIGURES' file names in `file_format` (the suffix replaced)."""
    return [f"{Path(name).stem}.{file_format}" for name in RUN_FIGURES]


def draw_in_background(
    run_dir: Path, file_format: str = DEFAULT_FORMAT, dpi: int = DEFAULT_DPI
) -> subprocess.Popen[bytes]:
    """Start the process that draws `run_dir`'s figures into it, as `file_format` files at
    `dpi`, and return at once. It has a session of its own, so it outlives this process and a
    Ctrl-C at the terminal."""
    with (run_dir / FIGURES_LOG).open("wb") as log:
        if sys.platform != "win32":
            fcntl.flock(log.fileno(), fcntl.LOCK_EX)  # held by the process through its stdout
        process = subprocess.Popen(
            [sys.executable, "-m", _MODULE, str(run_dir), file_format, str(dpi)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _STARTED.append(process)
    return process


def wait_for_drawing(run_dir: Path, on_wait: Callable[[], None] | None = None) -> bool:
    """Wait until no process draws figures into `run_dir` (see the module's docstring), calling
    `on_wait` first if one does; True if one was drawing."""
    if sys.platform == "win32":
        return False
    try:
        log = (run_dir / FIGURES_LOG).open("rb")
    except FileNotFoundError:  # no drawing was started, or it finished and removed its log
        return False
    with log:
        try:
            fcntl.flock(log.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(log.fileno(), fcntl.LOCK_SH)  # until the drawing process exits
            return True
        return False


def draw_into(
    run_dir: Path, file_format: str = DEFAULT_FORMAT, dpi: int = DEFAULT_DPI
) -> list[Path]:
    """Draw `run_dir`'s figures into it (in this process), as `file_format` files at `dpi`,
    then remove its FIGURES_LOG."""
    from sim import figures  # noqa: PLC0415 - matplotlib only in the process that draws

    drawn = figures.FIGURE_SETS[figures.RUN_KIND](run_dir)  # a run: no need to ask its kind
    written = figures.save(drawn.figures, run_dir, dpi=dpi, file_format=file_format)
    (run_dir / FIGURES_LOG).unlink(missing_ok=True)
    return written


if __name__ == "__main__":
    if len(sys.argv) not in (2, 4):
        sys.exit(f"usage: python -m {_MODULE} RUN_DIR [FORMAT DPI]")
    if len(sys.argv) == 2:
        draw_into(Path(sys.argv[1]))
    else:
        draw_into(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
