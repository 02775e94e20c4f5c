"""The standard figures of a run, a sweep and a calibration: which plots, laid out how, under
which file names. `caravan run` draws a run's set as it writes the run, `caravan calibrate` a
calibration's; `caravan plot DIR` draws the set of any directory it knows.

`caravan plot` tells what DIR is with `directory_kind`: a run directory has a summary.json;
other kinds have a manifest.json whose "kind" names them (a sweep's is "caravan-sweep", a
calibration's "caravan-calibration"). Each
kind maps to a function in FIGURE_SETS that reads the directory and draws its figures; a new
kind of directory is one more entry there.

`caravan run` may draw a run's figures in a process of their own once its data is written:
see `sim.background_figures`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim import package_version, plots
from sim.calibrate.validation_record import VALIDATION_JSON, VALIDATION_PNG, load_validation
from sim.errors import CaravanError
from sim.plots import style
from sim.results import MAIN_OUTCOMES, Results
from sim.rundir import is_run_dir, load_run
from sim.scenario import Scenario
from sim.targets import TargetSet, load_compared_sets

if TYPE_CHECKING:
    import pandas as pd

# A run's figures are drawn as `caravan run` finishes, so what only sweeps and calibrations
# need (pandas, SciPy through the calibration, SALib) is imported where they are drawn.

DPI = 120
FORMATS = ("png", "pdf", "svg")  # what --format accepts; png is the default
MIN_DPI, MAX_DPI = 10, 2400  # what --dpi accepts
RUN_KIND = "run"
SWEEP_KIND = "caravan-sweep"
CALIBRATION_KIND = "caravan-calibration"
VALIDATION_KIND = "caravan-validation"  # written by caravan validate --out (no manifest)
PANEL_COLUMNS = 3  # small multiples per row
MAP_HOUR = 12  # maps by day show each day at noon, local time


@dataclass
class FigureSet:
    """Figures by file name, and notes on what could not be drawn and why."""

    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# A run
# --------------------------------------------------------------------------------------------


def run_figures(
    scenario: Scenario, runs: Sequence[Results], target_sets: Sequence[TargetSet] | None = None
) -> dict[str, Figure]:
    """A run's figures (all replicates; maps of the first):

    - timeseries.png: people by state, cumulative flows and COVID-19 testing over time, with
      the reported figures of the target sets (default: the scenario's
      `output.compare_with`) overlaid;
    - map.png: the network at the hour when most people were held;
    - maps-by-day.png: the network at noon of each day of the run;
    - outcomes.png: outcomes beside each target set.
    """
    if target_sets is None:
        sets = load_compared_sets(scenario.output.compare_with)
    else:
        sets = list(target_sets)
    geometry = plots.MapGeometry.of(runs[0], scenario)  # shared by every map of the run
    return {
        "timeseries.png": _timeseries_panels(runs, sets),
        "map.png": plots.network_map(runs[0], scenario, geometry=geometry),
        "maps-by-day.png": _maps_by_day(runs[0], scenario, geometry),
        "outcomes.png": plots.outcomes_vs_targets(runs, sets, place_names=place_names(scenario)),
    }


def place_names(scenario: Scenario) -> dict[str, str]:
    """Each place's name as figures show it (id -> name without the details in brackets:
    "El Florido crossing (HN Copan / GT Camotan, Chiquimula)" -> "El Florido crossing")."""
    return {p.id: (p.name or p.id).split(" (", maxsplit=1)[0] for p in scenario.network.places}


@style.styled
def _timeseries_panels(runs: Sequence[Results], target_sets: Sequence[TargetSet]) -> Figure:
    fig = Figure(figsize=(11, 12), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    panels = (
        (plots.PEOPLE_BY_STATE, "Where the people who left are"),
        (plots.CUMULATIVE, "How many have done each, so far"),
        (plots.HEALTH, "COVID-19 tests, so far"),
    )
    recorded = set(runs[0].series())
    for ax, (curves, title) in zip(axes, panels, strict=True):
        # A run directory written before a counter existed has no curve of it.
        plots.timeseries(
            runs, [c for c in curves if set(c.columns) <= recorded], target_sets, ax=ax
        )
        ax.set_title(title)
    for ax in axes[:-1]:
        ax.set_xlabel("")
    first = runs[0]
    spread = f"median and 90% band of {len(runs)} replicates" if len(runs) > 1 else "one run"
    fig.suptitle(f"{first.scenario_name}: {spread} (first seed {first.seed})")
    return fig


def _maps_by_day(
    results: Results, scenario: Scenario, geometry: plots.MapGeometry | None = None
) -> Figure:
    steps = []
    day = results.start.date()
    while True:
        noon = datetime.combine(day, time(MAP_HOUR), tzinfo=results.start.tzinfo)
        if noon > results.times[-1]:
            break
        if noon >= results.times[0]:
            steps.append(results.step_at(noon))
        day += timedelta(days=1)
    if not steps:  # a run shorter than a day: its last hour
        steps = [results.n_steps - 1]
    shared = geometry or plots.MapGeometry.of(results, scenario)
    rows = math.ceil(len(steps) / _MAPS_PER_ROW)
    columns = min(_MAPS_PER_ROW, len(steps))
    fig = Figure(figsize=(18, _MAP_ROW_IN * rows + 0.9))
    axes = fig.subplots(rows, columns, squeeze=False, gridspec_kw=_map_margins(rows, columns))
    axes = axes.ravel()
    for ax, step in zip(axes, steps, strict=False):
        drawn = plots.NetworkMap(results, scenario, ax, labels=False, legend=False, geometry=shared)
        drawn.show(step)
        ax.set_title(f"{results.times[step]:%a %d %b %H:%M}")
    for ax in axes[len(steps) :]:
        ax.set_visible(False)
    handles = drawn.legend_handles()
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), fontsize="small")
    fig.suptitle(f"{results.scenario_name} (seed {results.seed}): each day at {MAP_HOUR}:00")
    return fig


# Margins of the maps by day, in inches: room for the tick labels and axis labels of each map,
# its title, the figure's title and the legend below. Fixed, since maps of one network all
# need the same room: a constrained layout measured every text of every map for it (a third
# of the time the figure took).
# Each map's status box stands right of it (plots.STATUS_BOX_WIDTH_IN), so three maps a row.
_MAPS_PER_ROW = 3
_MAP_ROW_IN = 3.5  # a map 3.4 in wide is 2.7 in high; its title and x labels
_MAP_LEFT_IN, _MAP_RIGHT_IN = 0.7, 0.1 + plots.STATUS_BOX_WIDTH_IN
_MAP_TOP_IN, _MAP_BOTTOM_IN = 0.75, 0.95  # the figure's title and a map's title; labels, legend
# a map's status box and the next one's y labels; its x labels and the next title
_MAP_GAP_X_IN, _MAP_GAP_Y_IN = 0.75 + plots.STATUS_BOX_WIDTH_IN, 0.85


def _map_margins(rows: int, columns: int) -> dict[str, float]:
    """`gridspec_kw` for the maps by day on their figure (18 in wide, _MAP_ROW_IN a row + 0.9)."""
    width, height = 18.0, _MAP_ROW_IN * rows + 0.9
    cell_w = (width - _MAP_LEFT_IN - _MAP_RIGHT_IN - _MAP_GAP_X_IN * (columns - 1)) / columns
    cell_h = (height - _MAP_TOP_IN - _MAP_BOTTOM_IN - _MAP_GAP_Y_IN * (rows - 1)) / rows
    return {
        "left": _MAP_LEFT_IN / width,
        "right": 1 - _MAP_RIGHT_IN / width,
        "top": 1 - _MAP_TOP_IN / height,
        "bottom": _MAP_BOTTOM_IN / height,
        "wspace": _MAP_GAP_X_IN / cell_w,
        "hspace": _MAP_GAP_Y_IN / cell_h,
    }


# --------------------------------------------------------------------------------------------
# A sweep
# --------------------------------------------------------------------------------------------


@style.styled
def sweep_figures(runs: pd.DataFrame, indices: pd.DataFrame | None = None) -> dict[str, Figure]:
    """A sweep's figures, from `sim.load_sweep` (and Sobol' indices, for a Sobol' design):

    - heatmaps.png: the main outcomes over the first two parameters;
    - line-<parameter>.png: the main outcomes against each parameter;
    - sobol.png: the Sobol' indices of the main outcomes.
    """
    manifest = runs.attrs["manifest"]
    parameters = [p["label"] for p in manifest["design"]["parameters"]]
    present = [o for o in MAIN_OUTCOMES if o in runs.columns]
    outcomes = [o for o in present if runs[o].nunique() > 1] or present
    out: dict[str, Figure] = {}
    if len(parameters) >= 2:
        fig, axes = _panels(len(outcomes), (6, 4.6))
        for ax, outcome in zip(axes, outcomes, strict=False):
            plots.sweep_heatmap(runs, parameters[0], parameters[1], outcome, ax=ax)
        fig.suptitle(f"Sweep '{manifest['name']}': median over runs in each cell")
        out["heatmaps.png"] = fig
    # On a grid of two parameters, lines of one parameter for each value of the other.
    grid_of_two = manifest["design"]["kind"] == "grid" and len(parameters) == 2
    for parameter in parameters:
        by = next((p for p in parameters if p != parameter), None) if grid_of_two else None
        fig, axes = _panels(len(outcomes), (6, 4.2))
        for ax, outcome in zip(axes, outcomes, strict=False):
            plots.sweep_line(runs, parameter, outcome, by=by, ax=ax)
            ax.set_title(style.outcome_words(outcome))  # the rest is said once, above
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()  # the same lines in every panel: one legend, below them
        handles, labels = axes[0].get_legend_handles_labels()
        if by is not None:
            fig.legend(
                handles,
                labels,
                loc="outside lower center",
                ncols=min(len(labels), 8),
                title=style.parameter_words(by),
            )
        by_words = style.parameter_words(parameter)
        fig.suptitle(
            f"Sweep '{manifest['name']}': outcomes by {by_words[:1].lower()}{by_words[1:]}; "
            "median and 90% band over runs"
        )
        out[f"line-{parameter}.png"] = fig
    if indices is not None and not indices.empty:
        shown = [o for o in outcomes if o in set(indices["outcome"])]
        fig, axes = _panels(len(shown), (6, 4.2))
        for ax, outcome in zip(axes, shown, strict=False):
            plots.sobol_bars(indices, outcome, ax=ax)
        fig.suptitle(f"Sweep '{manifest['name']}': Sobol' indices with 95% intervals")
        out["sobol.png"] = fig
    return out


def _panels(n: int, size: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    """A figure of n panels, PANEL_COLUMNS a row; panels beyond n hidden."""
    columns = min(PANEL_COLUMNS, max(n, 1))
    rows = math.ceil(max(n, 1) / columns)
    fig = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    axes = list(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


# --------------------------------------------------------------------------------------------
# A calibration
# --------------------------------------------------------------------------------------------


@style.styled
def calibration_figures(
    summary: Mapping[str, Any],
    posterior: pd.DataFrame,
    predictive: pd.DataFrame,
    place_names: Mapping[str, str] | None = None,
) -> dict[str, Figure]:
    """A calibration's figures, from its summary, last generation and predictive draws:

    - pairs.png: the posterior as parameter pairs;
    - predictive.png: each target's posterior predictive distribution against its figure
      (places named by `place_names`, id -> name, where given).
    """
    labels = list(summary["parameters"])
    return {
        "pairs.png": plots.posterior_pairs(posterior, labels, summary["parameters"]),
        "predictive.png": plots.predictive_check(summary["targets"], predictive, place_names),
    }


# --------------------------------------------------------------------------------------------
# Directories
# --------------------------------------------------------------------------------------------


def _run_directory(path: Path) -> FigureSet:
    saved = load_run(path)
    return FigureSet(run_figures(saved.scenario, saved.replicates))


def _sweep_directory(path: Path) -> FigureSet:
    import pandas as pd  # noqa: PLC0415 - see the imports above

    from sim.sweep.sensitivity import FIRST_ORDER_FILE, sobol_indices  # noqa: PLC0415
    from sim.sweep.store import load_sweep  # noqa: PLC0415

    runs = load_sweep(path)
    manifest = runs.attrs["manifest"]
    if runs.empty:
        raise CaravanError(f"{path}: no run of this sweep is recorded yet; nothing to plot")
    notes = []
    if len(runs) < manifest["runs_total"]:
        notes.append(f"{len(runs)} of {manifest['runs_total']} runs recorded: plotted those")
    indices = None
    if manifest["design"]["kind"] == "sobol":
        if (path / FIRST_ORDER_FILE).is_file():
            indices = pd.read_parquet(path / FIRST_ORDER_FILE)
        elif len(runs) == manifest["runs_total"]:
            indices = sobol_indices(path).first
        else:
            notes.append("no Sobol' indices until every run is recorded")
    return FigureSet(sweep_figures(runs, indices), notes)


def _calibration_directory(path: Path) -> FigureSet:
    from sim.calibrate.results import load_calibration  # noqa: PLC0415 - see the imports above

    results = load_calibration(path)
    names = _saved_place_names(path / "scenario.yaml")
    return FigureSet(
        calibration_figures(results.summary, results.posterior, results.predictive, names)
    )


def _saved_place_names(scenario_file: Path) -> dict[str, str] | None:
    """The place names of the scenario a directory holds; None if it holds none that loads
    (the figures then name places by their ids in words)."""
    from sim import scenario as scenario_module  # noqa: PLC0415 - only for calibrations

    try:
        return place_names(scenario_module.load(scenario_file))
    except (CaravanError, OSError):
        return None


def _validation_directory(path: Path) -> FigureSet:
    return FigureSet({VALIDATION_PNG: plots.validation_intervals(load_validation(path))})


FIGURE_SETS: dict[str, Callable[[Path], FigureSet]] = {
    RUN_KIND: _run_directory,
    SWEEP_KIND: _sweep_directory,
    CALIBRATION_KIND: _calibration_directory,
    VALIDATION_KIND: _validation_directory,
}
"""Directory kind -> what `caravan plot` draws for it."""


def directory_kind(path: Path) -> str:
    """RUN_KIND for a run directory, VALIDATION_KIND for one `caravan validate --out` wrote,
    else the "kind" in its manifest.json (one of FIGURE_SETS); CaravanError for anything
    else."""
    from sim.sweep.store import MANIFEST, read_manifest  # noqa: PLC0415 - see the imports above

    if not path.is_dir():
        raise CaravanError(f"{path}: no such directory")
    if is_run_dir(path) and not (path / MANIFEST).is_file():  # calibrations have summaries too
        return RUN_KIND
    if (path / VALIDATION_JSON).is_file() and not (path / MANIFEST).is_file():
        return VALIDATION_KIND
    if not (path / MANIFEST).is_file():
        raise CaravanError(
            f"{path}: not a directory caravan writes (no summary.json of a run, no "
            f"{VALIDATION_JSON} of a validation, no {MANIFEST} of a sweep or calibration)"
        )
    kind = read_manifest(path).get("kind")
    if kind not in FIGURE_SETS:
        raise CaravanError(
            f"{path / MANIFEST}: kind {kind!r} is not one caravan plot draws; it draws "
            f"{', '.join(FIGURE_SETS)}"
        )
    return str(kind)


def directory_figures(path: Path) -> FigureSet:
    """The standard figures of the run, sweep or other directory at `path`."""
    return FIGURE_SETS[directory_kind(path)](path)


# Which metadata key of each format says what program wrote the file.
_DRAWN_BY_KEY = {"png": "Software", "pdf": "Creator", "svg": "Creator"}


def file_name(name: str, file_format: str | None = None) -> str:
    """A figure's file name in `file_format` ("png", "pdf" or "svg"): `name` with that suffix;
    None keeps the name's own."""
    if file_format is None:
        return name
    if file_format not in FORMATS:
        raise ValueError(f"format {file_format!r}: expected one of {', '.join(FORMATS)}")
    return f"{Path(name).stem}.{file_format}"


def save(
    figures: Mapping[str, Figure],
    directory: Path,
    dpi: int = DPI,
    file_format: str | None = None,
) -> list[Path]:
    """Write each figure as `directory/name` in `file_format` (`file_name`: the name's suffix
    becomes it; None: the format from the name's suffix), at `dpi` dots per inch (a PNG's
    pixels, and the images inside a PDF or SVG), each under a temporary name first, so a file
    there is never half-written; the file's metadata names the caravan-sim version that drew
    it (PNG `Software`, PDF and SVG `Creator`)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    drawn_by = f"caravan-sim {package_version()}"
    for name, fig in figures.items():
        path = directory / file_name(name, file_format)
        partial = directory / f".partial-{path.name}"
        suffix = path.suffix.lstrip(".").lower() or None
        key = _DRAWN_BY_KEY.get(suffix or "")
        FigureCanvasAgg(fig)  # Agg, named: no backend is looked up, and no window can open
        with style.context():  # how text is written in SVG and PDF files
            fig.savefig(partial, dpi=dpi, format=suffix, metadata={key: drawn_by} if key else None)
        os.replace(partial, path)
        written.append(path)
    return written
