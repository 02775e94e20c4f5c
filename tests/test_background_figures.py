"""`caravan run --figures background`: the data is written before the command returns, the
figures by a process of their own, each file whole; a failure is kept in figures.log."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from sim.background_figures import FIGURES_LOG, RUN_FIGURES, draw_in_background, wait_for_drawing

REPO = Path(__file__).resolve().parent.parent
SCENARIO = "scenarios/january-2021.yaml"
SMALL = ["--set", "population.size=1500", "--set", "time.duration_h=30"]
PNG = b"\x89PNG\r\n\x1a\n"
WAIT_S = 300  # the drawing process on a loaded two-core machine


def _caravan_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", "run", SCENARIO, *SMALL, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def _wait_for_figures(out: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while (out / FIGURES_LOG).exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_background_writes_the_data_first_and_the_figures_later(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _caravan_run("--out", str(out), "--quiet", "--figures", "background")
    assert done.returncode == 0, done.stderr
    assert f"into {out} in the background" in done.stdout
    # the data is complete when the command returns
    assert (out / "summary.json").is_file() and (out / "events.parquet").is_file()
    _wait_for_figures(out)
    assert not (out / FIGURES_LOG).exists()
    for name in RUN_FIGURES:
        assert (out / name).read_bytes()[:8] == PNG
    assert not list(out.glob(".partial-*"))  # each figure was written whole


def test_auto_draws_in_the_background_at_a_terminal(tmp_path: Path) -> None:
    out = tmp_path / "run"
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", SCENARIO, *SMALL, "--out", str(out), "--quiet"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    printed = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        printed += chunk
    os.close(leader)
    assert process.wait(timeout=WAIT_S) == 0, printed
    assert b"in the background" in printed
    _wait_for_figures(out)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(RUN_FIGURES)


def test_now_draws_before_returning_and_says_nothing_of_a_background(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _caravan_run("--out", str(out), "--quiet", "--figures", "now")
    assert done.returncode == 0, done.stderr
    assert "background" not in done.stdout
    assert sorted(p.name for p in out.glob("*.png")) == sorted(RUN_FIGURES)
    assert not (out / FIGURES_LOG).exists()


def test_without_plots_nothing_is_drawn_nor_started(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _caravan_run(
        "--out", str(out), "--quiet", "--figures", "background", "--set", "output.plots=false"
    )
    assert done.returncode == 0, done.stderr
    assert "background" not in done.stdout
    assert not list(out.glob("*.png")) and not (out / FIGURES_LOG).exists()


def test_a_failed_drawing_is_kept_in_the_log(tmp_path: Path) -> None:
    process = draw_in_background(tmp_path)  # an empty directory: no run to draw
    assert process.wait(timeout=WAIT_S) != 0
    log = (tmp_path / FIGURES_LOG).read_text(encoding="utf-8")
    assert f"{tmp_path}: not a run directory (it has no summary.json" in log
    assert not list(tmp_path.glob("*.png"))


def test_a_drawing_holds_its_log_locked_and_an_overwrite_waits_for_it(tmp_path: Path) -> None:
    """`caravan run --overwrite` of a directory whose figures are still being drawn waits for
    the drawing (`wait_for_drawing`), so that no old figure lands in the new run."""
    out = tmp_path / "run"
    done = _caravan_run("--out", str(out), "--quiet", "--set", "output.plots=false")
    assert done.returncode == 0, done.stderr
    process = draw_in_background(out)
    with (out / FIGURES_LOG).open("rb") as log:
        try:
            fcntl.flock(log.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = False
        except BlockingIOError:
            locked = True
    assert locked  # taken before the process started: no moment without it
    waited: list[bool] = []
    assert wait_for_drawing(out, on_wait=lambda: waited.append(True)) is True
    assert waited == [True]
    # it returned only once the drawing was done: every figure written, the log removed (the
    # process may still be a moment from being reaped: its files close before it exits)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(RUN_FIGURES)
    assert not (out / FIGURES_LOG).exists()
    assert process.wait(timeout=WAIT_S) == 0
    assert wait_for_drawing(out) is False  # done: its log is gone


def test_a_failed_drawing_keeps_its_log_and_holds_nobody_up(tmp_path: Path) -> None:
    (tmp_path / FIGURES_LOG).write_text("Traceback (most recent call last): ...\n")
    waited: list[bool] = []
    assert wait_for_drawing(tmp_path, on_wait=lambda: waited.append(True)) is False
    assert waited == []
