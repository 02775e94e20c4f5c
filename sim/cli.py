"""The `caravan` command: `run` or `check` a scenario, `sweep` over parameters, compute
`sensitivity` indices, `calibrate` to a target set, `validate` against one, `plot` a run, sweep
or calibration directory, `animate` a run and `export` a scenario for other tools. Input errors
exit with status 2; an interrupted sweep or calibration with 130."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import package_version
from sim.errors import CaravanError, OutputExistsError, ScenarioError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from sim.calibrate.validation_record import Validation
    from sim.results import Results
    from sim.scenario import Scenario
    from sim.sweep.executors import Executor
    from sim.sweep.plan import Sweep

    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

# Each command imports the heavy parts it needs (numba, Mesa, pandas, matplotlib, Dask; the
# scenario schema and NumPy too) when it runs, so `caravan check` and `caravan --help` answer at
# once (tests/test_startup.py).

EXIT_INPUT_ERROR = 2
_SCENARIO_HELP = "scenario YAML file, or the name of a shipped one (caravan scenarios)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to tell how to resume
    try:
        _resolve_names(args)
        result: int = args.handler(args)
        return result
    except CaravanError as exc:
        _print_error(str(exc))
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("interrupted; nothing was written for the unfinished run", file=sys.stderr)
        return 130


def _print_error(message: str) -> None:
    """`error: message` on stderr, the `error:` in bold red at a terminal. rich is imported
    here, not with the module: `check` and `--help` answer without it."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, highlight=False).print(
        Text("error: ", style="bold red") + Text(message), soft_wrap=True
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caravan", description="Simulate migrant caravans on a road network."
    )
    parser.add_argument("--version", action="version", version=f"caravan-sim {package_version()}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_run_parser(sub)
    _add_sweep_parser(sub)
    _add_sensitivity_parser(sub)
    _add_calibrate_parser(sub)
    _add_validate_parser(sub)
    _add_plot_parser(sub)
    _add_animate_parser(sub)
    _add_export_parser(sub)
    _add_check_parser(sub)
    _add_rules_parser(sub)
    _add_scenarios_parser(sub)
    _add_init_parser(sub)
    _add_lab_parser(sub)
    return parser


def _resolve_names(args: argparse.Namespace) -> None:
    """Turn the name of a shipped file (`january-2021`) into its path wherever a command takes
    a scenario, sweep or behaviour file; paths are kept as given."""
    from sim import packaged

    for option, kinds in (
        ("scenario", packaged.SCENARIO_KINDS),
        ("sweep", packaged.SWEEP_KINDS),
        ("behaviour", packaged.BEHAVIOUR_KINDS),
        ("search_from", packaged.BEHAVIOUR_KINDS),
    ):
        if getattr(args, option, None) is not None:
            setattr(args, option, packaged.resolve(getattr(args, option), kinds))
    if getattr(args, "also", None):
        args.also = [(packaged.resolve(path), targets) for path, targets in args.also]


def _add_executor_options(parser: argparse.ArgumentParser) -> None:
    """`--workers` and `--scheduler`: where many runs go (sweeps, calibration, validation)."""
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="local worker processes (default: one per usable CPU; 1 runs in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster: tcp://host:port or a scheduler file "
        "(needs caravan-sim[distributed])",
    )


def _add_targets_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--targets",
        required=True,
        metavar="NAME",
        help="target set: the name of a shipped set (seed-article, official, ...; a wrong name "
        "lists them), or a path to a target set YAML file",
    )


def _add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a scenario key"
    )


def _add_run_parser(sub: _Subparsers) -> None:
    """`caravan run SCENARIO`."""
    run_p = sub.add_parser("run", help="run a scenario and write its outcomes")
    run_p.add_argument("scenario", type=Path, help=_SCENARIO_HELP)
    run_p.add_argument(
        "--seed", type=_non_negative_int, default=0, help="random seed, 0 or more (default 0)"
    )
    run_p.add_argument(
        "--replicates",
        type=_positive_int,
        default=1,
        help="run seeds SEED .. SEED+R-1 and report median and 90%% interval",
    )
    run_p.add_argument(
        "--out", type=Path, help="output directory (default runs/<scenario>/seed<N>-<time>)"
    )
    run_p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. population.size=5000 (repeatable)",
    )
    run_p.add_argument(
        "--overwrite", action="store_true", help="replace the results already in --out"
    )
    run_p.add_argument(
        "--behaviour",
        type=Path,
        metavar="FILE",
        help="merge this behaviour file (a calibrated one, say) over the scenario: its keys "
        "replace the scenario's own",
    )
    run_p.add_argument(
        "--no-threads",
        dest="threads",
        action="store_false",
        help="move migrants on one thread (results are identical)",
    )
    run_p.add_argument("--quiet", action="store_true", help="print no table")
    run_p.add_argument(
        "--figures",
        choices=("auto", "now", "background"),
        default="auto",
        help="draw the figures before the command returns (now), or in a process of their own "
        "once the data is written, so the prompt comes back at once (background); auto "
        "(default): in the background at a terminal, now otherwise, so that a script finds "
        "them when the command returns. output.plots: false draws none",
    )
    _add_figure_file_options(run_p)
    run_p.set_defaults(handler=_run)


def _add_sweep_parser(sub: _Subparsers) -> None:
    """`caravan sweep SWEEP`."""
    sweep_p = sub.add_parser(
        "sweep",
        help="run a scenario over a design of parameter values",
        description="Run every point and replicate of a sweep file; results are recorded as "
        "runs finish, and --resume continues an interrupted sweep.",
    )
    sweep_p.add_argument(
        "sweep", type=Path, help="sweep YAML file, or the name of a shipped one (caravan scenarios)"
    )
    sweep_p.add_argument("--out", type=Path, required=True, help="directory for the results")
    _add_executor_options(sweep_p)
    sweep_p.add_argument(
        "--resume", action="store_true", help="continue the sweep in --out: run what is missing"
    )
    sweep_p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="runs per task (default: up to 16, smaller towards the end)",
    )
    sweep_p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the base scenario, after the file's set: (repeatable)",
    )
    sweep_p.add_argument(
        "--replicates",
        type=_positive_int,
        metavar="N",
        help="replicates per point (not the file's)",
    )
    sweep_p.add_argument(
        "--limit", type=_positive_int, metavar="N", help="run only the design's first N points"
    )
    sweep_p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the sweep, show its plan and estimate its wall time from a few timed runs; "
        "write nothing",
    )
    sweep_p.set_defaults(handler=_sweep)


def _add_sensitivity_parser(sub: _Subparsers) -> None:
    """`caravan sensitivity DIR`."""
    sens_p = sub.add_parser(
        "sensitivity", help="Sobol' indices of a finished sweep with a Sobol design (SALib)"
    )
    sens_p.add_argument("dir", type=Path, help="the sweep's --out directory")
    sens_p.add_argument(
        "--outcome",
        action="append",
        default=[],
        metavar="NAME",
        help="outcome to show (repeatable; default: the main outcomes); all are saved",
    )
    sens_p.set_defaults(handler=_sensitivity)


def _add_calibrate_parser(sub: _Subparsers) -> None:
    """`caravan calibrate SCENARIO`."""
    cal_p = sub.add_parser(
        "calibrate",
        help="fit a scenario's free parameters to a target set (ABC-SMC)",
        description="Fit the parameters named in the scenario's 'calibration:' section to a "
        "target set by approximate Bayesian computation (ABC-SMC); simulations are recorded "
        "as they finish, and --resume continues an interrupted calibration.",
    )
    cal_p.add_argument("scenario", type=Path, help=f"{_SCENARIO_HELP}, with a calibration section")
    _add_targets_option(cal_p)
    cal_p.add_argument(
        "--also",
        action="append",
        default=[],
        type=_scenario_and_targets,
        metavar="SCENARIO=TARGETS",
        help="calibrate jointly: also compare runs of SCENARIO (with the same parameters) with "
        "the target set TARGETS (repeatable); every SCENARIO must have the free parameters' keys",
    )
    cal_p.add_argument("--out", type=Path, required=True, help="directory for the results")
    cal_p.add_argument(
        "--budget", type=_positive_int, help="at most this many simulations for the fit"
    )
    cal_p.add_argument("--particles", type=_positive_int, help="particles per generation")
    cal_p.add_argument("--generations", type=_positive_int, help="at most this many generations")
    cal_p.add_argument(
        "--seed", type=_non_negative_int, default=0, help="random seed, 0 or more (default 0)"
    )
    _add_executor_options(cal_p)
    cal_p.add_argument("--resume", action="store_true", help="continue the calibration in --out")
    _add_set_option(cal_p)
    cal_p.add_argument(
        "--write-scenario",
        type=Path,
        metavar="PATH",
        help="also write the calibrated scenario to PATH (its `extends:` made relative to it); "
        "with --also, the calibrated behaviour (the file the first scenario extends, with the "
        "fitted keys set); beside it NAME.summary.json, NAME.posterior.parquet and "
        "NAME.predictive.parquet, what reading the fit needs without --out",
    )
    cal_p.add_argument(
        "--write-behaviour",
        type=Path,
        metavar="PATH",
        help="also write the calibrated behaviour (the file the first scenario extends, with "
        "the fitted keys set) to PATH, with the same files beside it as --write-scenario",
    )
    cal_p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the files at --write-scenario and --write-behaviour",
    )
    cal_p.add_argument(
        "--search-from",
        type=Path,
        metavar="FILE",
        help="start the local search for the calibrated point (calibration.point_search) from "
        "this behaviour file's values of the free parameters, merged over the scenario as "
        "--behaviour merges it (a fit to one caravan, say), instead of from the best candidate",
    )
    cal_p.set_defaults(handler=_calibrate)


def _add_validate_parser(sub: _Subparsers) -> None:
    """`caravan validate SCENARIO`."""
    val_p = sub.add_parser(
        "validate",
        help="run a scenario many times and compare it with a target set's figures",
        description="Run a (calibrated) scenario's replicates and set each figure of a target "
        "set beside the model's median and 90% interval; the set need not be the one the "
        "scenario was fitted to.",
    )
    val_p.add_argument("scenario", type=Path, help=_SCENARIO_HELP)
    _add_targets_option(val_p)
    val_p.add_argument(
        "--replicates",
        type=_positive_int,
        default=50,
        metavar="N",
        help="run seeds SEED .. SEED+N-1 (default 50)",
    )
    val_p.add_argument(
        "--seed", type=_non_negative_int, default=0, help="first seed, 0 or more (default 0)"
    )
    _add_executor_options(val_p)
    _add_set_option(val_p)
    val_p.add_argument(
        "--behaviour",
        type=Path,
        metavar="FILE",
        help="merge this behaviour file (a calibrated one, say) over the scenario: its keys "
        "replace the scenario's own",
    )
    val_p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="also write validation.json and validation.png into this new directory",
    )
    val_p.add_argument("--overwrite", action="store_true", help="replace what is already in --out")
    val_p.set_defaults(handler=_validate)


def _add_plot_parser(sub: _Subparsers) -> None:
    """`caravan plot DIR`."""
    plot_p = sub.add_parser(
        "plot",
        help="draw the standard figures of a run, sweep, calibration or validation directory",
        description="Draw the standard figures of a directory written by caravan run, sweep, "
        "calibrate or validate (--out), as PNG files.",
    )
    plot_p.add_argument("dir", type=Path, help="a run, sweep, calibration or validation directory")
    plot_p.add_argument("--out", type=Path, help="directory for the figures (default: DIR/plots)")
    plot_p.add_argument("--overwrite", action="store_true", help="replace figures already in --out")
    _add_figure_file_options(plot_p)
    plot_p.set_defaults(handler=_plot)


FIGURE_FORMATS = ("png", "pdf", "svg")  # sim.figures.FORMATS (that module imports matplotlib)
DEFAULT_DPI = 120  # sim.figures.DPI
DPI_RANGE = (10, 2400)


def _add_figure_file_options(parser: argparse.ArgumentParser) -> None:
    """--format and --dpi: the figures' file format and resolution."""
    parser.add_argument(
        "--format",
        dest="figure_format",
        type=_figure_format,
        default="png",
        metavar="png|pdf|svg",
        help="file format of the figures (default png; pdf and svg are vector files)",
    )
    parser.add_argument(
        "--dpi",
        type=_dpi,
        default=DEFAULT_DPI,
        metavar="N",
        help=f"dots per inch: a PNG's resolution, and of the images in a PDF or SVG (default "
        f"{DEFAULT_DPI}; {DPI_RANGE[0]} to {DPI_RANGE[1]})",
    )


def _figure_format(text: str) -> str:
    if text.lower() not in FIGURE_FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a figure format; expected one of {', '.join(FIGURE_FORMATS)}"
        )
    return text.lower()


def _dpi(text: str) -> int:
    low, high = DPI_RANGE
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a whole number of dots per inch from {low} to {high}"
        )
    return value


def _add_animate_parser(sub: _Subparsers) -> None:
    """`caravan animate DIR`."""
    animate_p = sub.add_parser(
        "animate",
        help="write an animation of the caravan moving over the map",
        description="Write an animation of a run directory, one frame per step: a GIF, and "
        "an MP4 where ffmpeg is on PATH.",
    )
    animate_p.add_argument("dir", type=Path, help="a run directory (caravan run --out DIR)")
    animate_p.add_argument(
        "--out",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="file to write, .gif or .mp4 (repeatable; default: DIR/caravan.gif, and "
        "DIR/caravan.mp4 where ffmpeg is on PATH)",
    )
    animate_p.add_argument(
        "--replicate", type=_non_negative_int, default=0, help="which replicate (default 0)"
    )
    animate_p.add_argument(
        "--every", type=_positive_int, default=1, help="steps per frame (default 1: each hour)"
    )
    animate_p.add_argument(
        "--fps", type=_positive_int, default=8, help="frames per second (default 8)"
    )
    animate_p.add_argument(
        "--overwrite", action="store_true", help="replace files that already exist"
    )
    animate_p.set_defaults(handler=_animate)


def _add_export_parser(sub: _Subparsers) -> None:
    """`caravan export flee SCENARIO` (and gis, geojson, csv)."""
    export_p = sub.add_parser(
        "export", help="write a scenario or a run in another tool's format (Flee, GIS, CSV)"
    )
    export_sub = export_p.add_subparsers(required=True, metavar="FORMAT")
    flee_p = export_sub.add_parser(
        "flee",
        help="Flee 3 input files (locations, routes, closures, settings)",
        description="Write the scenario's network, departures and closures as Flee 3 input "
        "files, and list what Flee cannot express (also in DIR/notes.md).",
    )
    flee_p.add_argument("scenario", type=Path, help=_SCENARIO_HELP)
    flee_p.add_argument("--out", type=Path, required=True, help="directory for the Flee files")
    flee_p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    flee_p.add_argument(
        "--overwrite", action="store_true", help="replace the files already in --out"
    )
    flee_p.set_defaults(handler=_export_flee)
    _add_export_gis_parsers(export_sub)


def _add_export_gis_parsers(export_sub: _Subparsers) -> None:
    """`caravan export gis RUN_DIR`, `export geojson SCENARIO_OR_RUN`, `export csv RUN_DIR`."""
    gis_p = export_sub.add_parser(
        "gis",
        help="a run as a GeoPackage: places, roads, counts per hour or day, authorities",
        description="Write a run directory as a GeoPackage (EPSG:4326) with the layers places, "
        "roads, place_counts, road_counts (start_time and end_time for QGIS's temporal "
        "controller) and authorities. Needs caravan-sim[gis].",
    )
    gis_p.add_argument("dir", type=Path, metavar="RUN_DIR", help="a run directory")
    gis_p.add_argument("--out", type=Path, required=True, metavar="FILE.gpkg")
    gis_p.add_argument(
        "--every", choices=("hour", "day"), default="hour", help="counts per hour (default) or day"
    )
    gis_p.add_argument(
        "--replicate", type=_non_negative_int, default=0, help="which replicate (default 0)"
    )
    gis_p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    gis_p.set_defaults(handler=_export_gis)
    geojson_p = export_sub.add_parser(
        "geojson",
        help="a scenario's road network (places and roads) as GeoJSON",
        description="Write the network of a scenario, or of a run directory's scenario, as one "
        "GeoJSON FeatureCollection: a Point per place, a LineString per road.",
    )
    geojson_p.add_argument(
        "source", type=Path, metavar="SCENARIO_OR_RUN", help=f"{_SCENARIO_HELP}, or a run directory"
    )
    geojson_p.add_argument("--out", type=Path, required=True, metavar="FILE.geojson")
    geojson_p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    geojson_p.set_defaults(handler=_export_geojson)
    csv_p = export_sub.add_parser(
        "csv",
        help="a run directory's tables as CSV, with a file of the columns' units",
        description="Write each Parquet table of a run directory as CSV into DIR, with "
        "columns.csv: every column's unit, label and meaning.",
    )
    csv_p.add_argument("dir", type=Path, metavar="RUN_DIR", help="a run directory")
    csv_p.add_argument("--out", type=Path, required=True, metavar="DIR")
    csv_p.add_argument("--overwrite", action="store_true", help="replace the files in --out")
    csv_p.set_defaults(handler=_export_csv)


def _add_check_parser(sub: _Subparsers) -> None:
    """`caravan check SCENARIO`."""
    check_p = sub.add_parser("check", help="validate a scenario without running it")
    check_p.add_argument("scenario", type=Path, help=_SCENARIO_HELP)
    check_p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    check_p.set_defaults(handler=_check)


def _add_rules_parser(sub: _Subparsers) -> None:
    """`caravan rules`."""
    rules_p = sub.add_parser(
        "rules",
        help="list the step's phases, the rule kinds and the effects they write",
        description="The phases of one step, every rule kind a scenario can name (with its "
        "keys and the effects it writes), and the effect vocabulary the kernel applies.",
    )
    rules_p.set_defaults(handler=_rules)


def _add_scenarios_parser(sub: _Subparsers) -> None:
    """`caravan scenarios`."""
    scenarios_p = sub.add_parser(
        "scenarios",
        help="list the shipped scenarios, sweeps, behaviour files and target sets",
        description="List the files shipped with caravan-sim; a command that takes a scenario, "
        "sweep or behaviour file also takes its name here (caravan run january-2021).",
    )
    scenarios_p.set_defaults(handler=_scenarios)


def _add_init_parser(sub: _Subparsers) -> None:
    """`caravan init DIR`."""
    init_p = sub.add_parser(
        "init",
        help="copy the shipped scenarios and target sets into a directory to edit",
        description="Copy the shipped scenarios, networks, sweeps, behaviour files and target "
        "sets into DIR/scenarios and DIR/seeds, in their layout, so that the copies run "
        "from there.",
    )
    init_p.add_argument(
        "dir", type=Path, metavar="DIR", help="directory to copy into (made if missing)"
    )
    init_p.add_argument("--overwrite", action="store_true", help="replace files already there")
    init_p.set_defaults(handler=_init)


def _add_lab_parser(sub: _Subparsers) -> None:
    """`caravan lab [SCENARIO]`."""
    lab_p = sub.add_parser(
        "lab",
        help="open the model in the browser: policy levers, map, curves, outcomes "
        "(pip install 'caravan-sim[lab]')",
    )
    lab_p.add_argument(
        "scenario",
        type=Path,
        nargs="?",
        default=Path("january-2021"),
        help=f"{_SCENARIO_HELP} to open first (default january-2021)",
    )
    lab_p.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)"
    )
    lab_p.add_argument("--port", type=_positive_int, help="port to serve on (default: a free one)")
    lab_p.set_defaults(handler=_lab)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _scenario_and_targets(text: str) -> tuple[Path, str]:
    scenario, sep, targets = text.rpartition("=")
    if not sep or not scenario or not targets:
        raise argparse.ArgumentTypeError(f"expected SCENARIO=TARGETS, not {text!r}")
    return Path(scenario), targets


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)  # logs and CI: do not wrap tables
    return console


def _check(args: argparse.Namespace) -> int:
    from sim import scenario as scenario_module
    from sim.calibrate.sections import section_problems

    sc, doc = scenario_module.load_located(args.scenario, args.set)
    problems = section_problems(sc, doc)
    if problems:
        raise ScenarioError(problems)
    _print_warnings(sc)
    # print, not rich: one plain line, and rich's import would be a tenth of check's time
    print(
        f"{args.scenario}: valid scenario '{sc.name}': {sc.population.size} people, "
        f"{len(sc.network.places)} places, {len(sc.network.roads)} roads, "
        f"{len(sc.authorities)} authorities, {sc.n_steps} steps of {sc.time.step_h:g} h"
    )
    return 0


def _print_warnings(scenario: Scenario) -> None:
    """The loader's warnings, one a line on stderr, each `warning: file:line: key: message`."""
    for warning in scenario.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _scenarios(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from sim import packaged
    from sim.targets import available_target_sets, load_target_set

    console = _console()
    files = Table(title="Shipped files (give the name where a command takes a file)")
    files.add_column("name", no_wrap=True)
    files.add_column("kind", no_wrap=True)
    files.add_column("what it is")
    for shipped in packaged.shipped_files():
        files.add_row(shipped.name, shipped.kind, shipped.description)
    console.print(files)
    target_sets = Table(title="Target sets (--targets NAME)")
    target_sets.add_column("name", no_wrap=True)
    target_sets.add_column("figures", justify="right")
    target_sets.add_column("what it holds")
    for name in available_target_sets():
        target_set = load_target_set(name)
        description = packaged.describe(packaged.seeds_dir() / "targets" / f"{name}.yaml")
        target_sets.add_row(name, str(len(target_set.targets)), description)
    console.print(target_sets)
    console.print(
        Text(f"from {packaged.data_dir()}; copy them to edit with: caravan init DIR"),
        soft_wrap=True,
    )
    return 0


def _init(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim import packaged

    written = packaged.copy_to(args.dir, overwrite=args.overwrite)
    console = _console()
    for path in written:
        console.print(Text(f"wrote {path}"), soft_wrap=True)
    example = args.dir / "scenarios" / "january-2021.yaml"
    console.print(
        Text(f"{len(written)} files; run one with: caravan run {example}"), soft_wrap=True
    )
    return 0


def _rules(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from sim.model import PHASES
    from sim.rules import KINDS
    from sim.rules.effects import PLACE_EFFECTS, ROAD_EFFECTS

    console = Console(highlight=False)
    phases = Table(title="One step (sim.model.PHASES)")
    for column in ("", "phase", "what happens"):
        phases.add_column(column)
    for i, phase in enumerate(PHASES, start=1):
        phases.add_row(str(i), phase.name, phase.doc)
    console.print(phases)
    kinds = Table(title="Rule kinds (sim.rules)")
    for column in ("kind", "scenario keys", "effects it writes", "module"):
        kinds.add_column(column)
    for kind, cls in KINDS.items():
        keys = ", ".join(k for k in cls.Spec.model_fields if k != "kind")
        kinds.add_row(kind, keys, ", ".join(sorted(cls.writes)), cls.__module__)
    console.print(kinds)
    effects = Table(title="Effects (sim.rules.effects)")
    effects.add_column("effect", no_wrap=True)
    for column in ("on", "value", "lasts", "what the kernel does"):
        effects.add_column(column)
    for on, vocabulary in (("place", PLACE_EFFECTS), ("road", ROAD_EFFECTS)):
        for e in vocabulary:
            effects.add_row(e.name, on, e.unit, e.lasts, e.doc)
    console.print(effects)
    return 0


def _export_flee(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from sim import scenario as scenario_module
    from sim.export import flee as flee_export
    from sim.rundir import check_writable

    check_writable(args.out, args.overwrite)  # fail before reading and building, like run
    sc = scenario_module.load(args.scenario, args.set)
    export = flee_export.build(sc)
    flee_export.write(export, args.out, overwrite=args.overwrite)
    console = _console()
    table = Table(title=f"What Flee {flee_export.FLEE_VERSION} cannot express (also in notes.md)")
    for column in ("scenario key", "treatment", "how"):
        table.add_column(column)
    for note in export.notes:
        table.add_row(note.feature, note.treatment, note.detail)
    console.print(table)
    console.print(
        Text(
            f"wrote {args.out}: {len(sc.network.places)} locations, {len(sc.network.roads)} "
            f"routes, {len(export.closures)} closures, {export.n_days} days, "
            f"{sum(export.departures_by_day):,} people departing"
        ),
        soft_wrap=True,
    )
    return 0


def _export_gis(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim.export import gis
    from sim.rundir import check_out_location, load_run

    if args.out.suffix.lower() != ".gpkg":
        raise CaravanError(f"--out {args.out}: expected a file name ending in .gpkg")
    gis.require_gis()  # before reading the run
    gis.refuse_existing(args.out, args.overwrite)
    check_out_location(args.out.parent)
    saved = load_run(args.dir)
    n = len(saved.replicates)
    if args.replicate >= n:
        raise CaravanError(
            f"--replicate {args.replicate}: {args.dir} holds {n} replicate(s), 0 to {n - 1}"
        )
    layers = gis.write_geopackage(saved, args.out, args.replicate, args.every, args.overwrite)
    rows = ", ".join(f"{layer.name} {layer.table.num_rows:,}" for layer in layers)
    _console().print(
        Text(f"wrote {args.out} (replicate {args.replicate}, counts per {args.every}): {rows}"),
        soft_wrap=True,
    )
    return 0


def _export_geojson(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim import packaged
    from sim import scenario as scenario_module
    from sim.export import gis
    from sim.rundir import SCENARIO, check_out_location, is_run_dir

    gis.refuse_existing(args.out, args.overwrite)
    check_out_location(args.out.parent)
    source = args.source
    if source.is_dir():
        if not is_run_dir(source):
            raise CaravanError(
                f"{source}: a directory, but not a run directory (it has no summary.json); "
                "give a scenario or a run directory"
            )
        source = source / SCENARIO
    sc = scenario_module.load(packaged.resolve(source))
    gis.write_geojson(sc, args.out, args.overwrite)
    _console().print(
        Text(
            f"wrote {args.out}: {len(sc.network.places)} places and {len(sc.network.roads)} "
            f"roads of '{sc.name}'"
        ),
        soft_wrap=True,
    )
    return 0


def _export_csv(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim.export import tables

    written = tables.write_csv(args.dir, args.out, args.overwrite)
    _console().print(Text(f"wrote {', '.join(str(p) for p in written)}"), soft_wrap=True)
    return 0


def _run(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim import scenario as scenario_module
    from sim.rundir import check_writable, default_out_dir, write_run

    if args.out is not None:
        check_writable(args.out, args.overwrite)  # fail before reading, let alone computing
    sc = scenario_module.load(args.scenario, args.set, args.behaviour)
    out_dir = args.out or default_out_dir(sc, args.seed)
    check_writable(out_dir, args.overwrite)  # fail before computing, not after
    _print_warnings(sc)
    console = _console()
    seeds = [args.seed + r for r in range(args.replicates)]
    runs = _simulate(sc, seeds, args.threads, console)
    if args.overwrite:
        _wait_for_earlier_figures(out_dir)
    summary = write_run(out_dir, sc, runs, overwrite=args.overwrite)
    background = args.figures == "background" or (args.figures == "auto" and console.is_terminal)
    if sc.output.plots:
        from sim import background_figures

        # Drawn from what was written, so the figures show what the files hold.
        if background:
            background_figures.draw_in_background(out_dir, args.figure_format, args.dpi)
        else:
            background_figures.draw_into(out_dir, args.figure_format, args.dpi)
    if not args.quiet:
        console.print(_outcome_table(summary, sc.output.compare_with))
    console.print(Text(f"wrote {out_dir}"), soft_wrap=True)
    if sc.output.plots and background:
        console.print(
            Text(
                f"drawing {', '.join(background_figures.figure_names(args.figure_format))} into "
                f"{out_dir} in the "
                "background: they appear within seconds (if not, see "
                f"{out_dir / background_figures.FIGURES_LOG})"
            ),
            soft_wrap=True,
        )
    return 0


FIRST_COMPILE_S = "10-40"  # the first compile: 11-12 s of CPU on 3.11 and 3.12, 34 s when busy


def _wait_for_earlier_figures(out_dir: Path) -> None:
    """Before replacing `out_dir`: let the figures of the run there that are still being drawn
    in the background be finished, so that none of them lands in the new run."""
    from sim import background_figures

    background_figures.wait_for_drawing(
        out_dir,
        on_wait=lambda: print(
            f"waiting for the figures still being drawn into {out_dir}", file=sys.stderr
        ),
    )


def _simulate(sc: Scenario, seeds: list[int], threads: bool, console: Console) -> list[Results]:
    """A run of `sc` for each seed, with a progress bar at a terminal; a run that must compile
    the migrant kernel first (numba's cache lacks it) says so on stderr, and the bar counts the
    seconds."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn
    from rich.text import Text

    from sim.model import kernel_is_compiled, run

    compiles = not kernel_is_compiled(sc, threads)
    if compiles:
        Console(stderr=True, highlight=False).print(
            Text(
                f"compiling the migrant rules, once: about {FIRST_COMPILE_S} s (numba keeps "
                "the compiled code for later runs)"
            ),
            soft_wrap=True,
        )
    columns = (*Progress.get_default_columns(), SpinnerColumn(), TimeElapsedColumn())
    runs: list[Results] = []
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task("compiling" if compiles else "simulating", total=len(seeds))
        for seed in seeds:
            runs.append(run(sc, seed=seed, threads=threads))
            progress.update(task, advance=1, description="simulating")
    return runs


def _sweep(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim.rundir import check_out_location
    from sim.sweep.executors import ExecutorError
    from sim.sweep.plan import load_sweep_file
    from sim.sweep.runner import SweepFailedError, run_sweep

    check_out_location(args.out)  # before planning and running, not after
    sweep = load_sweep_file(args.sweep, tuple(args.set), args.replicates, args.limit)
    console = _console()
    design = sweep.design
    limited = f" (the first {design.n_points} of {sweep.points_in_file})" if sweep.limited else ""
    console.print(
        Text(
            f"{args.sweep}: sweep '{sweep.name}': {design.kind} design, {design.n_points} "
            f"points{limited} x {sweep.replicates} replicates = {sweep.n_runs} runs of "
            f"'{sweep.base.name}', varying {', '.join(a.label for a in design.axes)}"
        ),
        soft_wrap=True,
    )
    if args.dry_run:
        _print_estimate(console, sweep, args)
        return 0
    try:
        with _executor(args) as executor:
            summary = run_sweep(
                sweep, args.out, executor, resume=args.resume, batch_size=args.batch_size
            )
    except KeyboardInterrupt:
        console.print(
            Text(f"interrupted: {_recorded(args.out)}; continue with: {_resume_command(args)}"),
            soft_wrap=True,
        )
        return 130
    except ExecutorError as exc:
        raise CaravanError(
            f"{exc}; {_recorded(args.out)}; continue with: {_resume_command(args)}"
        ) from exc
    except SweepFailedError as exc:
        return _failed(f"{exc}; finished runs are kept in {args.out}")
    for part in summary.damaged:
        console.print(
            Text(f"note: {part.path}: {part.problem}; moved into damaged/ and its runs run again"),
            soft_wrap=True,
        )
    console.print(
        Text(
            f"{summary.status}: {summary.done_before + summary.done_now} of {summary.total_runs} "
            f"runs recorded in {args.out} ({summary.done_now} by this session, on "
            f"{executor.name}); load them with sim.load_sweep('{args.out}')"
        ),
        soft_wrap=True,
    )
    if design.kind == "sobol" and summary.status == "complete" and not sweep.limited:
        _print_indices(console, args.out, [])
    return 0


def _recorded(out: Path) -> str:
    """How far the sweep or calibration in `out` got, from its manifest."""
    from sim.sweep.store import read_manifest

    try:
        manifest = read_manifest(out)
    except CaravanError:  # stopped before the manifest was written
        return f"nothing is recorded in {out}"
    return (
        f"{manifest['runs_done']} of {manifest.get('runs_total', '?')} runs are recorded in {out}"
    )


def _resume_command(args: argparse.Namespace) -> str:
    """The whole command line as given, with --resume once: it continues where this stopped."""
    words = list(args.argv)
    if "--resume" not in words:
        words.append("--resume")
    return f"caravan {shlex.join(words)}"


def _print_estimate(console: Console, sweep: Sweep, args: argparse.Namespace) -> None:
    """`caravan sweep --dry-run`: a few runs timed here, scaled to the whole sweep."""
    from rich.text import Text

    from sim.sweep.executors import default_workers
    from sim.sweep.runner import DRY_RUN_SAMPLES, estimate_time

    workers = 1 if args.scheduler else args.workers or default_workers()
    runs = sweep.n_runs
    if args.resume:  # what is left of it, as far as its manifest knows
        from sim.sweep.store import read_manifest

        runs = max(0, runs - int(read_manifest(args.out).get("runs_done", 0)))
    console.print(
        Text(f"timing {DRY_RUN_SAMPLES} runs, one after another, after one that compiles...")
    )
    estimate = estimate_time(sweep, workers, runs=runs)
    samples = ", ".join(f"{t:.2f}" for t in estimate.sample_s)
    left = " still to run" if args.resume else ""
    lines = [
        f"{estimate.per_run_s:.2f} s a run (timed: {samples} s); {estimate.runs} runs{left} take "
        f"{_duration(estimate.serial_s)} one after another"
    ]
    if args.scheduler:
        lines.append("on a Dask cluster: divide by its worker threads (ideal parallel efficiency)")
    else:
        lines.append(
            f"estimated wall time with --workers {workers}: {_duration(estimate.wall_s)}, "
            f"assuming ideal parallel efficiency ({workers} runs at once, each as fast as "
            "alone; workers sharing cores make it longer)"
        )
    lines.append("dry run: nothing was written")
    for line in lines:
        console.print(Text(line), soft_wrap=True)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _calibrate(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim.calibrate.plan import plan_calibration
    from sim.calibrate.report import behaviour_file, companions, write_report
    from sim.calibrate.runner import run_calibration
    from sim.rundir import check_out_location
    from sim.sweep.executors import ExecutorError
    from sim.sweep.runner import SweepFailedError

    check_out_location(args.out)  # before planning and simulating, not after
    plan = plan_calibration(
        args.scenario,
        args.targets,
        tuple(args.set),
        seed=args.seed,
        budget=args.budget,
        particles=args.particles,
        generations=args.generations,
        also=args.also,
        search_from=args.search_from,
    )
    if args.write_scenario is not None and plan.joint and behaviour_file(plan) is None:
        raise CaravanError(
            f"{args.scenario}: --write-scenario with --also writes the calibrated behaviour, "
            "the file the first scenario extends; this one extends none"
        )
    if args.write_behaviour is not None and behaviour_file(plan) is None:
        raise CaravanError(
            f"{args.scenario}: --write-behaviour writes the calibrated behaviour, the file the "
            "scenario extends; this one extends none"
        )
    for path in (p for p in (args.write_scenario, args.write_behaviour) if p is not None):
        taken = [q for q in (path, *companions(path).values()) if q.exists()]
        if taken and not args.overwrite:
            raise OutputExistsError(
                f"{taken[0]} exists; pass --overwrite to replace it, or choose another path"
            )
    console = _console()
    settings = plan.settings
    console.print(
        Text(
            f"{args.scenario}: calibrating {plan.priors.dim} parameters of '{plan.scenario.name}' "
            + " and ".join(
                f"{'' if k == 0 else f'{p.scenario.name} '}to the {len(p.targets.targets)} "
                f"targets of '{p.targets.name}'"
                for k, p in enumerate(plan.pairs)
            )
            + ": "
            f"{settings.particles} particles, up to {settings.generations} generations and "
            f"{settings.budget} simulations"
        ),
        soft_wrap=True,
    )
    started_s = time.monotonic()
    try:
        with _executor(args) as executor:
            outcome = run_calibration(plan, args.out, executor, resume=args.resume)
    except KeyboardInterrupt:
        console.print(
            Text(
                f"interrupted: the finished simulations are kept in {args.out}; continue with: "
                f"{_resume_command(args)}"
            ),
            soft_wrap=True,
        )
        return 130
    except ExecutorError as exc:
        raise CaravanError(
            f"{exc}; the finished simulations are kept in {args.out}; continue with: "
            f"{_resume_command(args)}"
        ) from exc
    except SweepFailedError as exc:
        return _failed(f"{exc}; finished simulations are kept in {args.out}")
    for part in outcome.damaged:
        console.print(
            Text(f"note: {part.path}: {part.problem}; moved into damaged/ and simulated again"),
            soft_wrap=True,
        )
    summary = write_report(plan, outcome, args.write_scenario, args.write_behaviour)
    elapsed_s = time.monotonic() - started_s
    console.print(_calibration_table(summary))
    sims = summary["simulations"]
    names = ["report.md", "summary.json", *([] if plan.joint else ["calibrated.yaml"])]
    names += ["calibrated-behaviour.yaml"] if behaviour_file(plan) is not None else []
    written = [args.out / name for name in names]
    for path in (p for p in (args.write_scenario, args.write_behaviour) if p is not None):
        written += [path, *companions(path).values()]
    console.print(
        Text(
            f"stopped because {outcome.stop_reason}; {sims['total']} simulations "
            f"({outcome.simulations_now} by this session, {elapsed_s:.0f} s on {executor.name}); "
            f"wrote {', '.join(str(p) for p in written)}"
        ),
        soft_wrap=True,
    )
    return 0


def _calibration_table(summary: dict[str, Any]) -> Table:
    from rich.table import Table

    jointly = "".join(f" and {p['scenario']} to {p['target_set']}" for p in summary.get("also", []))
    table = Table(title=f"{summary['scenario']} calibrated to {summary['target_set']}{jointly}")
    table.add_column("parameter / target")
    table.add_column("prior / observed", justify="right")
    table.add_column("posterior median [90%] / predictive", justify="right")
    table.add_column("calibrated value / scenario", justify="right")
    for label, p in summary["parameters"].items():
        lo, hi = p["prior"]["range"]
        table.add_row(
            label,
            f"{p['prior']['prior']} [{lo:.4g}, {hi:.4g}]",
            f"{p['median']:.4g} [{p['p05']:.4g}, {p['p95']:.4g}]",
            f"{p['calibrated_value']}",
        )
    table.add_section()
    for target_id, t in summary["targets"].items():
        observed = "" if t["observed"] is None else f"{t['observed']:,.0f} "
        table.add_row(
            target_id,
            f"{observed}({t['tolerance']})",
            _band_cell(t["predictive"]),
            _band_cell(t["calibrated_scenario"]),
        )
    return table


def _band_cell(stats: dict[str, float]) -> str:
    if not stats:
        return "-"
    return f"{stats['median']:,.0f} [{stats['p05']:,.0f}-{stats['p95']:,.0f}]"


def _validate(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim.calibrate.validate import plan_validation, run_validation, write_validation
    from sim.rundir import check_writable
    from sim.sweep.executors import ExecutorError
    from sim.sweep.runner import SweepFailedError

    if args.out is not None:
        check_writable(args.out, args.overwrite)  # fail before planning or computing, like run
    plan = plan_validation(
        args.scenario,
        args.targets,
        tuple(args.set),
        replicates=args.replicates,
        seed=args.seed,
        behaviour=args.behaviour,
    )
    console = _console()
    console.print(
        Text(
            f"{args.scenario}: '{plan.scenario.name}' against the {len(plan.readings)} figures "
            f"of '{plan.targets.name}': {plan.replicates} replicates, seeds {plan.seeds[0]} to "
            f"{plan.seeds[-1]}"
        ),
        soft_wrap=True,
    )
    try:
        with _executor(args) as executor:
            validation = run_validation(plan, executor)
    except ExecutorError as exc:
        raise CaravanError(
            f"{exc}; a validation keeps nothing until it ends: run it again "
            f"(caravan {shlex.join(args.argv)})"
        ) from exc
    except SweepFailedError as exc:
        return _failed(str(exc))
    console.print(_validation_table(validation))
    mean = validation.mean_relative_difference
    inside = sum(c.inside for c in validation.checks)
    lines = [
        "mean relative difference |median - reported| / reported: "
        + ("-" if mean is None else f"{mean:.1%}")
        + f" over the {len(validation.with_number)} figures with a number",
        f"inside the model's 90% interval: {inside} of {len(validation.checks)} figures "
        f"({validation.share_inside:.0%})",
    ]
    if args.out is not None:
        written = write_validation(validation, args.out, overwrite=args.overwrite)
        lines.append(f"wrote {', '.join(str(p) for p in written)}")
    for line in lines:
        console.print(Text(line), soft_wrap=True)
    return 0


def _validation_table(validation: Validation) -> Table:
    """One row per figure: reported, the model's median and 90% interval, how they compare."""
    from rich.table import Table

    table = Table(
        title=f"{validation.scenario} against '{validation.target_set}': "
        f"{validation.replicates} replicates"
    )
    table.add_column("target", no_wrap=True)
    table.add_column("reported", justify="right", no_wrap=True)
    table.add_column("tolerance", justify="right", min_width=11)  # 7,000-9,000
    table.add_column("by")
    table.add_column("model median\n[90% interval]", justify="right", no_wrap=True)
    table.add_column("in\n90%", no_wrap=True)
    table.add_column("within\ntolerance", no_wrap=True)
    for c in validation.checks:
        by = None if c.by is None else datetime.fromisoformat(c.by)
        table.add_row(
            c.id,
            c.reported_text,
            "range" if c.reported is None else c.tolerance,  # the range is the figure
            "end of run" if by is None else by.strftime("%d %b %H:%M"),
            c.model_text,
            "yes" if c.inside else "no",
            f"{'yes' if c.within_tolerance else 'no'} ({c.discrepancy:.2f})",
        )
    return table


def _plot(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim import figures
    from sim.rundir import check_writable

    out_dir = args.out or args.dir / "plots"
    check_writable(out_dir, args.overwrite)  # before drawing, which takes seconds
    drawn = figures.directory_figures(args.dir)
    written = figures.save(drawn.figures, out_dir, dpi=args.dpi, file_format=args.figure_format)
    console = _console()
    for note in drawn.notes:
        console.print(Text(f"note: {note}"), soft_wrap=True)
    console.print(Text(f"wrote {', '.join(str(p) for p in written)}"), soft_wrap=True)
    return 0


def _animate(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim import animation, figures
    from sim.rundir import check_out_location, load_run

    kind = figures.directory_kind(args.dir)
    if kind != figures.RUN_KIND:
        raise CaravanError(
            f"{args.dir}: a {kind} directory; caravan animate needs a run directory "
            "(caravan run --out DIR)"
        )
    saved = load_run(args.dir)
    n = len(saved.replicates)
    if args.replicate >= n:
        raise CaravanError(
            f"--replicate {args.replicate}: {args.dir} holds {n} replicate(s), 0 to {n - 1}"
        )
    console = _console()
    outputs = list(args.out)
    if not outputs:
        outputs = [args.dir / "caravan.gif"]
        if animation.ffmpeg_available():
            outputs.append(args.dir / "caravan.mp4")
        else:
            console.print(Text("note: ffmpeg is not on PATH, so no MP4; writing the GIF only"))
    for path in outputs:
        if path.suffix.lower() not in animation.SUFFIXES:
            raise CaravanError(f"--out {path}: expected a file name ending in .gif or .mp4")
    _refuse_to_replace(outputs, args.overwrite)
    for folder in dict.fromkeys(path.parent for path in outputs):
        check_out_location(folder)
    results = saved.replicates[args.replicate]
    for path in outputs:
        frames = animation.write_animation(
            results, saved.scenario, path, fps=args.fps, every=args.every
        )
        console.print(Text(f"wrote {path} ({frames} frames at {args.fps} per second)"))
    return 0


def _refuse_to_replace(paths: list[Path], overwrite: bool) -> None:
    """Refuse, before anything is drawn, to write over files unless told to."""
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        what = f"{existing[0]}: already exists"
        if len(existing) > 1:
            what = f"{existing[0]} and {len(existing) - 1} more: already exist"
        raise OutputExistsError(
            f"{what}; choose another --out, or pass --overwrite to replace them"
        )


@contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Executor]:
    """The executor `--workers` and `--scheduler` ask for, closed on the way out; meanwhile a
    batch system's stop (SIGTERM) interrupts as Ctrl-C does, so finished work is kept."""
    from sim.sweep.executors import default_workers, make_executor

    executor = make_executor(args.workers or default_workers(), args.scheduler)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield executor
    finally:
        signal.signal(signal.SIGTERM, previous)
        executor.close()


def _lab(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sim.lab import server

    server.check_installed()  # before anything heavy: a missing extra is one clear message
    from sim.lab.model import calibrated_scenario

    caravan = server.caravan_name(args.scenario)
    _print_warnings(calibrated_scenario(caravan))  # a bad scenario fails here, not in the page
    return server.serve(caravan, args.host, args.port, lambda line: _console().print(Text(line)))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _failed(message: str) -> int:
    """A simulation raised: say so on stderr; exit status 1 (not an input error)."""
    _print_error(message)
    return 1


def _sensitivity(args: argparse.Namespace) -> int:
    _print_indices(_console(), args.dir, args.outcome)
    return 0


def _print_indices(console: Console, sweep_dir: Path, outcomes: list[str]) -> None:
    from rich.table import Table
    from rich.text import Text

    from sim.results import HELD_PEAK, MAIN_OUTCOMES
    from sim.sweep.sensitivity import sobol_indices, write_indices
    from sim.validation import did_you_mean

    indices = sobol_indices(sweep_dir)
    files = write_indices(sweep_dir, indices)
    first = indices.first
    known = list(dict.fromkeys(first["outcome"]))
    for name in outcomes:
        if name in indices.constant:
            raise CaravanError(f"--outcome {name}: it does not vary in this sweep, so no indices")
        if name not in known:
            raise CaravanError(
                f"--outcome {name}: no such outcome{did_you_mean(name, set(known))}; "
                f"outcomes that vary in this sweep: {', '.join(known)}"
            )
    shown = outcomes or [
        o for o in known if o in MAIN_OUTCOMES or HELD_PEAK.place_of(o) is not None
    ]
    table = Table(title="Sobol' indices, first order (S1) and total (ST), with 95% intervals")
    for column in ("outcome", "parameter", "S1", "ST"):
        table.add_column(column, justify="left" if column in ("outcome", "parameter") else "right")
    for row in first[first["outcome"].isin(shown)].itertuples():
        table.add_row(
            str(row.outcome),
            str(row.parameter),
            f"{row.S1:.2f} ± {row.S1_conf:.2f}",
            f"{row.ST:.2f} ± {row.ST_conf:.2f}",
        )
    console.print(table)
    if indices.constant:
        console.print(Text(f"no indices (constant): {', '.join(indices.constant)}"))
    console.print(Text(f"wrote {', '.join(str(f) for f in files)}"), soft_wrap=True)


def _outcome_table(summary: dict[str, Any], compared_with: Sequence[str]) -> Table:
    """Model outcomes beside the reported figures of the target sets `compared_with`."""
    from rich.table import Table

    from sim.results import DEPARTED_BY_ORIGIN, ENTRIES_BY_CROSSING, HELD_PEAK, PARTITION
    from sim.targets import describe_target, load_compared_sets

    n = summary["replicates"]
    title = f"{summary['scenario']}: seed {summary['seeds'][0]}"
    if n > 1:
        title = f"{summary['scenario']}: {n} replicates, median [90% interval]"
    table = Table(title=title)
    table.add_column("outcome")
    table.add_column("model", justify="right")
    reported: dict[str, dict[str, str]] = {}
    target_sets = load_compared_sets(compared_with)
    for target_set in target_sets:
        table.add_column(f"reported ({target_set.name})", justify="right")
        # Beside the end of the run: of figures of one outcome, the latest (undated last).
        latest_last = sorted(target_set.targets, key=lambda t: (t.by is None, t.by or 0))
        for target in latest_last:
            key = " + ".join(target.outcome)
            reported.setdefault(key, {})[target_set.name] = describe_target(target)
    partition = summary.get("partition", PARTITION)  # the scenario's, with its mechanisms
    outcomes = summary["outcomes"]
    shown = ["departed"]
    shown += [k for k in outcomes if DEPARTED_BY_ORIGIN.place_of(k) is not None]
    shown += ["entered_guatemala"]
    shown += [k for k in outcomes if ENTRIES_BY_CROSSING.place_of(k) is not None]
    shown += ["tested", "tested_positive", "quarantined", *partition]
    shown += [k for k in ("returned_after_entering", "turned_back_at_border") if k in outcomes]
    shown += ["moved_on_toward_mexico"]
    shown += [k for k in outcomes if HELD_PEAK.place_of(k) is not None]
    rows = [(k, [k]) for k in shown]
    rows += [(k, k.split(" + ")) for k in reported if " + " in k]
    for label, keys in rows:
        table.add_row(
            label,
            _model_cell(summary, keys),
            *[reported.get(label, {}).get(s.name, "") for s in target_sets],
        )
    return table


def _model_cell(summary: dict[str, Any], keys: list[str]) -> str:
    """One outcome (or a sum of outcomes): the value, or median [90% interval] over replicates."""
    from sim.results import interval

    values = [sum(r[k] for k in keys) for r in summary["per_replicate"]]
    if len(values) == 1:
        return f"{values[0]:,.0f}"
    stats = interval(values)
    return f"{stats['median']:,.0f} [{stats['p05']:,.0f}-{stats['p95']:,.0f}]"


if __name__ == "__main__":
    sys.exit(main())
