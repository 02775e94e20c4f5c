"""Helpers shared by the benchmark scripts: paths, machine description, statistics, tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
JANUARY_2021 = REPO / "scenarios" / "january-2021.yaml"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    """The checked-out commit (read-only `git rev-parse`); 'unknown' outside a repository."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def machine_info() -> dict[str, Any]:
    # Imported here so that importing this module does not load numba (bench_scenario times
    # `import sim` in a fresh process).
    import numba  # noqa: PLC0415
    import numpy  # noqa: PLC0415

    try:
        import mesa  # noqa: PLC0415

        mesa_version = mesa.__version__
    except ImportError:
        mesa_version = "n/a"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numpy": numpy.__version__,
        "mesa": mesa_version,
        "numba_threads_max": numba.config.NUMBA_NUM_THREADS,
        "commit": git_commit(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['date']}; nproc {info['nproc']}; CPU {info['cpu']}; Python {info['python']}; "
        f"numba {info['numba']}; numpy {info['numpy']}; mesa {info['mesa']}; "
        f"commit {info['commit']}; load average (1 min) at start {info['loadavg_1min']}"
    )


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements (medians: other processes may be running)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def fmt_s(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.1 else f"{seconds * 1e3:.1f} ms"


def fmt_summary_s(s: dict[str, float]) -> str:
    if s["n"] == 1:
        return fmt_s(s["median"])
    return f"{fmt_s(s['median'])} ({fmt_s(s['min'])} - {fmt_s(s['max'])})"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def python() -> str:
    return sys.executable


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_bytes() -> int:
    """Resident memory of this process now (Linux)."""
    return _proc_status_kib("VmRSS") * 1024


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (Linux VmHWM). Not getrusage's ru_maxrss: that one
    survives exec, so a child started from a large parent would report the parent's size."""
    return _proc_status_kib("VmHWM") * 1024
