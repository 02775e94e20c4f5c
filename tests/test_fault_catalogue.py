"""Every case of the fault-injection catalogue (`tests/fault_catalogue.py`) gets a located
answer: exit 2 with `file:line: key: message` naming the mutated file, or exit 0 (with a
located warning where the file is nonsense); never a traceback, never a hang.

Where `caravan check` accepts a plausible file, a sample of them is also run (`caravan run
--out`), which must then succeed.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_catalogue import Case, catalogue, copy_shipped, write_case

from sim.cli import main

CHECK_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 120.0  # a first run may compile the kernels
RUN_ONE_IN = 4  # of the plausible files check accepts, run about one in four


CASES = catalogue()

# `file:line: key: message`, as the CLI prints each problem (after "error: " or indented)
LOCATED = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<key>[^\s:][^:]*): \S")


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def answer(argv: list[str], seconds: float) -> tuple[int, str]:
    """`caravan ARGV` in this process: exit status and everything it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), time_limit(seconds):
        status = main(argv)
    return status, out.getvalue()


def command(case: Case, entry: Path, out: Path) -> list[str]:
    if case.command == "sweep":
        return ["sweep", str(entry), "--out", str(out), "--dry-run"]
    return ["check", str(entry)]


def located(printed: str, user_file: Path) -> list[tuple[int, str, str]]:
    """(line, key, the whole line) of every problem printed that names `user_file`."""
    found = []
    for row in printed.splitlines():
        text = row.strip().removeprefix("error: ").removeprefix("warning: ")
        match = LOCATED.match(text)
        if match and Path(match["file"]).resolve() == user_file.resolve():
            found.append((int(match["line"]), match["key"], row))
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalogue")
    copy_shipped(root)
    return root


def _params() -> list[object]:
    return [pytest.param(case, id=case.id) for case in CASES]


def test_the_catalogue_is_big_and_names_its_cases() -> None:
    assert len(CASES) >= 300
    assert len({case.id for case in CASES}) == len(CASES)


def test_the_catalogue_is_deterministic() -> None:
    again = catalogue()
    assert [(c.id, c.files) for c in again] == [(c.id, c.files) for c in CASES]


@pytest.mark.parametrize("case", _params())
def test_fault(case: Case, tree: Path, tmp_path: Path) -> None:
    write_case(case, tree)
    user_file = tree / case.user_file
    status, printed = answer(command(case, tree / case.entry, tmp_path / "out"), CHECK_TIMEOUT_S)
    problems = located(printed, user_file)
    if status == 2 and case.whole_file:
        assert f"error: {user_file}" in printed, printed
    elif status == 2:
        assert problems, f"exit 2 without {case.user_file}:line: key: in\n{printed}"
        if case.at is not None:
            line, key = case.at
            assert any((p[0], p[1]) == (line, key) for p in problems), printed
    else:
        assert status == 0, printed
        warned = [p for p in problems if "warning" in p[2]]
        assert case.expect != "error" or warned, f"nonsense accepted:\n{printed}"
    if case.twin is not None:
        write_case(Case(**{**vars(case), "files": case.twin}), tree)
        twin = tree / case.twin_entry
        twin_status, twin_printed = answer(command(case, twin, tmp_path / "twin"), CHECK_TIMEOUT_S)
        assert twin_status == status, f"means something else than\n{twin_printed}\n{printed}"
    if status == 0 and case.command == "check" and case.run and _sampled(case):
        run_status, run_printed = answer(
            [
                "run",
                str(tree / case.entry),
                "--out",
                str(tmp_path / "run"),
                "--quiet",
                "--set",
                "output.plots=false",
                "--set",
                "output.time_series=false",
            ],
            RUN_TIMEOUT_S,
        )
        assert run_status == 0, f"check accepted it, run did not:\n{run_printed}"


def _sampled(case: Case) -> bool:
    return zlib.crc32(case.id.encode()) % RUN_ONE_IN == 0
