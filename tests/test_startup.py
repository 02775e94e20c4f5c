"""Start-up hygiene: `caravan --help` and `caravan check` answer without loading a simulation
library. Each case runs the command line's `main` in a fresh interpreter and lists the heavy
modules it left in `sys.modules` (the times themselves are measured by
benchmarks/bench_startup.py, never asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JANUARY = REPO / "scenarios" / "january-2021.yaml"

SIMULATION_LIBRARIES = (
    "numba",
    "mesa",
    "pandas",
    "pyarrow",
    "scipy",
    "matplotlib",
    "networkx",
    "dask",
    "distributed",
    "SALib",
    "solara",  # caravan lab's interface library
)

_LOADED_AFTER_MAIN = """
import contextlib, io, json, sys
from sim.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = main(sys.argv[2:])
    except SystemExit as exit:
        status = exit.code
print(json.dumps({
    "status": status,
    "loaded": sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules),
}))
"""


def _loaded_after(
    argv: list[str], watched: tuple[str, ...], cache: Path | None = None
) -> dict[str, object]:
    env = dict(os.environ)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_AFTER_MAIN, json.dumps(watched), *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_help_loads_no_simulation_library_nor_numpy_nor_the_scenario_schema() -> None:
    watched = (*SIMULATION_LIBRARIES, "numpy", "sim.scenario", "sim.model", "sim.rules")
    assert _loaded_after(["--help"], watched) == {"status": 0, "loaded": []}


def test_check_loads_no_simulation_library_nor_numpy(tmp_path: Path) -> None:
    # January 2021 has a calibration section, so this covers its checks as well. check searches
    # the routes as `run` will, so an unreachable destination or a rule no route reaches is
    # found without running: with networkx the first time, from the user's cache after that.
    watched = (*SIMULATION_LIBRARIES, "numpy", "sim.model")
    first = _loaded_after(["check", str(JANUARY)], watched, cache=tmp_path)
    assert first == {"status": 0, "loaded": ["networkx"]}
    assert _loaded_after(["check", str(JANUARY)], watched, cache=tmp_path) == {
        "status": 0,
        "loaded": [],
    }


def test_check_loads_no_rich() -> None:
    """rich is for tables and progress; check prints one plain line."""
    assert _loaded_after(["check", str(JANUARY)], ("rich",)) == {"status": 0, "loaded": []}


def test_the_watch_list_would_see_a_heavy_import() -> None:
    """The same probe after `caravan rules`, which imports the model: it must report Mesa and
    numba, or the two tests above could not fail."""
    result = _loaded_after(["rules"], ("numba", "mesa", "sim.model"))
    assert result == {"status": 0, "loaded": ["mesa", "numba", "sim.model"]}


def test_a_run_leaves_the_kernel_it_called_compiled() -> None:
    from sim.model import kernel_is_compiled, run
    from sim.scenario import load

    scenario = load(JANUARY, ["population.size=500", "time.duration_h=6"])
    run(scenario, seed=0)  # compiles, or loads what numba's cache holds
    assert kernel_is_compiled(scenario)


def test_an_empty_cache_holds_no_compiled_kernel(tmp_path: Path) -> None:
    """What `caravan run` asks before it says that it compiles (on stderr)."""
    code = (
        "from sim.model import kernel_is_compiled; from sim.scenario import load; "
        f"print(kernel_is_compiled(load({str(JANUARY)!r})))"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "False"
