"""The progress reporter: plain lines (throttled, rate of this session only) and the rich bar."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from sim.progress import ProgressReporter, format_duration, format_rate

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def plain_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=40), out  # narrow: lines must not be wrapped


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_plain_lines_of_a_resumed_sweep() -> None:
    console, out = plain_console()
    clock = FakeClock()
    label = "sweep [grid] :x:"  # printed as it is: no markup, no emoji
    with ProgressReporter(
        label, total=1000, done=600, console=console, plain=True, every_s=10.0, clock=clock
    ) as progress:
        assert lines(out) == [f"{label}: 600/1000 runs already done, 400 to run"]
        for _ in range(25):  # 14 runs a second for 25 s
            clock.now += 1.0
            progress.advance(14)
        assert progress.done == 950
        assert progress.total == 1000
        assert lines(out)[1:] == [
            f"{label}: 740/1000 runs (74%), 14.0 runs/s, elapsed 10s, ETA 19s",
            f"{label}: 880/1000 runs (88%), 14.0 runs/s, elapsed 20s, ETA 9s",
        ]
        clock.now += 5.0
        progress.advance(50)
    assert lines(out)[3:] == [
        f"{label}: finished 1000/1000 runs; 400 in 30s this session, 13.3 runs/s"
    ]


def test_plain_lines_are_throttled() -> None:
    console, out = plain_console()
    clock = FakeClock()
    with ProgressReporter(
        "s", total=10_000, console=console, plain=True, every_s=10.0, clock=clock
    ) as progress:
        for _ in range(1000):  # one run every 0.1 s for 100 s
            clock.now += 0.1
            progress.advance()
        assert len(lines(out)) == 1 + 10
        clock.now += 1.0
    assert lines(out)[0] == "s: 10000 runs to run"
    assert lines(out)[-1] == "s: stopped at 1000/10000 runs in 1m41s, 9.9 runs/s"


def test_plain_with_nothing_done_yet() -> None:
    console, out = plain_console()
    clock = FakeClock()
    with ProgressReporter(
        "s", total=5, console=console, plain=True, every_s=1.0, clock=clock, unit="batches"
    ):
        pass
    assert lines(out) == ["s: 5 batches to run", "s: stopped at 0/5 batches in 0s"]


def test_plain_when_all_was_done_before() -> None:
    console, out = plain_console()
    with ProgressReporter("s", total=3, done=3, console=console, plain=True, clock=FakeClock()):
        pass
    assert lines(out) == [
        "s: all 3 runs already done",
        "s: finished 3/3 runs; 0 in 0s this session",
    ]


def test_rich_bar_ends_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)  # CI=true would choose plain lines
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140)
    clock = FakeClock()
    with ProgressReporter("sweep [x]", total=10, done=4, console=console, clock=clock) as progress:
        assert not progress.plain
        for _ in range(6):
            clock.now += 1.0
            progress.advance()
    text = ANSI.sub("", out.getvalue())
    last = text.strip().splitlines()[-1]
    assert "sweep [x]" in last
    assert "10/10 runs" in last
    assert "1.0 runs/s" in last  # the 4 runs done before do not count
    assert "0:00:06" in last  # elapsed, from the injected clock


@pytest.mark.parametrize(
    ("terminal", "ci", "plain"),
    [(True, None, False), (True, "true", True), (True, "false", False), (True, "0", False),
     (False, None, True), (False, "false", True)],
)  # fmt: skip
def test_plain_by_default_off_a_terminal_or_in_ci(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, ci: str | None, plain: bool
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    console = Console(file=io.StringIO(), force_terminal=terminal)
    assert ProgressReporter("s", total=1, console=console).plain is plain


def test_bad_counts() -> None:
    with pytest.raises(ValueError, match="done <= total"):
        ProgressReporter("s", total=3, done=4)


def test_formats() -> None:
    assert [format_duration(s) for s in (0, 9.4, 59.6, 125, 3600 + 125)] == [
        "0s",
        "9s",
        "1m00s",
        "2m05s",
        "1h02m",
    ]
    assert [format_rate(r) for r in (0, 0.0213, 0.1, 12.34, 1234.0)] == [
        "0.0",
        "0.021",
        "0.1",
        "12.3",
        "1234.0",
    ]
