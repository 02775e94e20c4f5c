"""`caravan run --figures background`: the data is written before the command returns, the
figures by a process of their own, each file whole; a failure is kept in figures.log."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from sim.background_figures import FIGURES_LOG, RUN_FIGURES, draw_in_background

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
