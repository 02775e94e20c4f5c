"""Progress of a long job (a sweep's runs): a live bar on a terminal, plain lines elsewhere.

On a terminal: a rich progress bar with the count, the rate and the time left. In CI and in log
files (stdout or stderr not a terminal, or `CI` set) a live bar would be noise, so it prints a
line at the start, at most one line every `every_s` seconds while work gets done, and one at the
end.

A resumed job starts with some work already done: the rate and the time left count only the
work done since this reporter started, not the earlier sessions'.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["ProgressReporter", "format_duration", "format_rate", "in_ci"]


def in_ci() -> bool:
    """Whether the environment says we run in CI (`CI` set, and not to "false" or "0")."""
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0")


def format_duration(seconds: float) -> str:
    """Short and stable: "9s", "2m05s", "1h02m"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_rate(per_s: float) -> str:
    """One decimal ("12.3"); two significant digits below 0.1 ("0.021"), so slow is not zero."""
    if per_s >= 0.1 or per_s == 0:
        return f"{per_s:.1f}"
    return f"{per_s:.2g}"


class _CountColumn(ProgressColumn):
    """ "740/1000 runs"."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else f"{task.total:.0f}"
        return Text(f"{task.completed:.0f}/{total} {self.unit}", style="progress.download")


class _RateColumn(ProgressColumn):
    """ "12.3 runs/s", from the work done in this session only (rich's speed counts advances)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        rate = "--" if speed is None else format_rate(speed)
        return Text(f"{rate} {self.unit}/s", style="progress.data.speed")


class ProgressReporter:
    """Progress of N units of work: a rich bar with rate and ETA on a terminal; plain lines in
    CI and logs.

    `done` units were finished before (a resumed sweep). `plain` None: plain lines when the
    console is not a terminal or `CI` is set. `clock` is injectable for tests. Use as a context
    manager, and call `advance(n)` as work finishes.
    """

    def __init__(
        self,
        label: str,
        total: int,
        done: int = 0,
        unit: str = "runs",
        console: Console | None = None,
        plain: bool | None = None,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total < 0 or not 0 <= done <= total:
            raise ValueError(f"progress needs 0 <= done <= total, not {done}/{total}")
        self.label = label
        self.unit = unit
        self.every_s = every_s
        self.console = console if console is not None else Console(stderr=True)
        self.plain = (not self.console.is_terminal or in_ci()) if plain is None else plain
        self._clock = clock
        self._total = total
        self._done = done
        self._done_at_start = done
        self._start = 0.0
        self._last_line = 0.0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    @property
    def done(self) -> int:
        return self._done

    @property
    def total(self) -> int:
        return self._total

    def __enter__(self) -> ProgressReporter:
        self._start = self._last_line = self._clock()
        if self.plain:
            left = self._total - self._done
            if self._done:
                self._say(
                    f"{self._done}/{self._total} {self.unit} already done, {left} to run"
                    if left
                    else f"all {self._total} {self.unit} already done"
                )
            else:
                self._say(f"{self._total} {self.unit} to run")
        else:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                _CountColumn(self.unit),
                _RateColumn(self.unit),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                get_time=self._clock,
            )
            self._task = self._progress.add_task(
                self.label, total=self._total, completed=self._done
            )
            self._progress.start()
        return self

    def advance(self, n: int = 1) -> None:
        """`n` more units are done."""
        self._done += n
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)
        elif self.plain:
            now = self._clock()
            # when all is done the final line follows at once, from __exit__
            if now - self._last_line >= self.every_s and self._done < self._total:
                self._last_line = now
                self._say(self._status(now))

    def note(self, message: str) -> None:
        """A line of news (a stage finished), printed above the bar or as a plain line."""
        if self._progress is not None:
            self._progress.console.print(Text(f"{self.label}: {message}"), soft_wrap=True)
        else:
            self._say(message)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif self.plain:
            self._say(self._summary(self._clock()))

    # --- plain lines ---

    def _rate(self, now: float) -> float | None:
        """Units per second over this session, None before any time has passed."""
        elapsed = now - self._start
        return (self._done - self._done_at_start) / elapsed if elapsed > 0 else None

    def _status(self, now: float) -> str:
        percent = math.floor(100 * self._done / self._total) if self._total else 100
        rate = self._rate(now)
        left = self._total - self._done
        eta = format_duration(left / rate) if rate else "?"
        speed = "?" if rate is None else format_rate(rate)
        return (
            f"{self._done}/{self._total} {self.unit} ({percent}%), {speed} {self.unit}/s,"
            f" elapsed {format_duration(now - self._start)}, ETA {eta}"
        )

    def _summary(self, now: float) -> str:
        head = "finished" if self._done >= self._total else "stopped at"
        elapsed = format_duration(now - self._start)
        rate = self._rate(now)
        speed = f", {format_rate(rate)} {self.unit}/s" if rate is not None else ""
        session = self._done - self._done_at_start
        if self._done_at_start:
            return (
                f"{head} {self._done}/{self._total} {self.unit};"
                f" {session} in {elapsed} this session{speed}"
            )
        return f"{head} {self._done}/{self._total} {self.unit} in {elapsed}{speed}"

    def _say(self, message: str) -> None:
        # Text, not a str: a label with [brackets] or :colons: is printed as it is; soft_wrap:
        # a log line is never broken at the console's width
        self.console.print(Text(f"{self.label}: {message}"), soft_wrap=True)
