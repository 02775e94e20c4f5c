"""`--out` is checked before any work: a file where a directory is expected, a directory that
cannot be created under a file, or a place this process cannot write gives one located error
(`--out PATH: ...`) and exit 2 before anything is simulated; and a write that fails leaves no
`*.partial-<pid>` directory behind.

That the check comes first is shown by giving each command an input it would refuse later (a
missing scenario): the error is the `--out` one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import CaravanError
from sim.rundir import check_out_location, write_run
from sim.scenario import Scenario

EXIT_INPUT_ERROR = 2


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "results.txt"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot create anything in."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield locked
        locked.chmod(stat.S_IRWXU)
        return
    # root ignores permission bits; sysfs refuses new files even to root
    if not Path("/sys/kernel").is_dir():
        pytest.skip("running as root without /sys: no directory root cannot write")
    yield Path("/sys")


def error_of(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert status == EXIT_INPUT_ERROR, captured.out + captured.err
    assert captured.out == ""  # nothing was planned or run
    return captured.err.strip()


def test_out_under_a_file_cannot_be_created(a_file: Path) -> None:
    with pytest.raises(CaravanError) as caught:
        check_out_location(a_file / "run")
    assert str(caught.value) == (
        f"--out {a_file / 'run'}: cannot be created, because {a_file} is a file, not a "
        "directory; choose another --out"
    )


def test_out_that_is_a_file(a_file: Path) -> None:
    with pytest.raises(CaravanError) as caught:
        check_out_location(a_file)
    assert str(caught.value) == f"--out {a_file}: is a file, not a directory; choose another --out"


def test_out_where_nothing_can_be_written(unwritable: Path) -> None:
    out = unwritable / "caravan-out" / "run"
    with pytest.raises(CaravanError) as caught:
        check_out_location(out)
    message = str(caught.value)
    assert message.startswith(
        f"--out {out}: cannot write there (it would be created in {unwritable}): "
    )
    assert message.endswith("; choose another --out")
    assert not (unwritable / "caravan-out").exists()


def test_a_writable_out_is_left_as_it_was(tmp_path: Path) -> None:
    check_out_location(tmp_path / "a" / "b")  # missing parents are created when writing
    check_out_location(tmp_path)
    assert not (tmp_path / "a").exists()
    assert list(tmp_path.iterdir()) == []  # the probe is gone


@pytest.mark.parametrize(
    "command",
    [
        ["run", "no-such-scenario.yaml"],
        ["sweep", "no-such-sweep.yaml"],
        ["calibrate", "no-such-scenario.yaml", "--targets", "official"],
        ["validate", "no-such-scenario.yaml", "--targets", "official"],
        ["export", "flee", "no-such-scenario.yaml"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_checks_out_first(
    command: list[str], a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = a_file / "sub"
    err = error_of(capsys, *command, "--out", out)
    assert err == (
        f"error: --out {out}: cannot be created, because {a_file} is a file, not a directory; "
        "choose another --out"
    )


def test_run_into_an_unwritable_place_fails_before_simulating(
    unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = unwritable / "run"
    err = error_of(capsys, "run", "no-such-scenario.yaml", "--out", out)
    assert err.startswith(f"error: --out {out}: cannot write there (it would be created in ")


def test_plot_checks_its_out_before_drawing(
    small_run_dir: Path, a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = error_of(capsys, "plot", small_run_dir, "--out", a_file / "plots")
    assert err.startswith(f"error: --out {a_file / 'plots'}: cannot be created, because {a_file}")


def test_animate_checks_the_folder_of_each_file(
    small_run_dir: Path, a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = error_of(capsys, "animate", small_run_dir, "--out", a_file / "c.gif")
    assert err == (f"error: --out {a_file}: is a file, not a directory; choose another --out")


def test_a_failed_write_leaves_no_partial_directory(
    tmp_path: Path, small_january: tuple[Scenario, list[object]]
) -> None:
    scenario, _ = small_january
    out = tmp_path / "run"
    with pytest.raises(IndexError):
        write_run(out, scenario, [])  # no replicate to summarise: fails half-way
    assert list(tmp_path.iterdir()) == []
