"""Sweeps, from a sweep's table of runs (a row per run, a column per parameter and outcome):
`sweep_heatmap` (an outcome over two parameters), `sweep_line` (outcomes over one), and
`sobol_bars` (Sobol' indices from `sim.sweep.sensitivity`). A parameter with more than
MAX_LEVELS values (an LHS or Sobol' design) is binned into BINS bins. Parameters and outcomes
are named in words with their units (`sim.plots.style`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import style
from sim.plots._common import _cycle_colors, _figure_and_axes
from sim.results import INTERVAL_PERCENTILES

if TYPE_CHECKING:
    import pandas as pd

MAX_LEVELS = 12  # a parameter with more distinct values is binned
BINS = 8  # into this many bins of equal counts
VIRIDIS_LIGHT_FROM = 0.5  # viridis is light enough for black text above this share of its range


@dataclass(frozen=True)
class _Levels:
    """The values of a parameter as a few levels: each run's level, and each level's position
    on the axis (the value, or a bin's median) and its tick label."""

    codes: npt.NDArray[np.int64]
    positions: npt.NDArray[np.float64]
    labels: list[str]
    numeric: bool


def _levels(values: pd.Series[Any]) -> _Levels:
    import pandas as pd  # noqa: PLC0415 - here: a run's figures need no pandas

    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    distinct = values.drop_duplicates()
    if numeric and len(distinct) > MAX_LEVELS:
        bins = pd.qcut(values, BINS, duplicates="drop")
        codes = np.asarray(bins.cat.codes, dtype=np.int64)
        positions = values.groupby(codes).median().to_numpy(dtype=np.float64)
        labels = [f"{_number(b.left)}-{_number(b.right)}" for b in bins.cat.categories]
        return _Levels(codes, positions, labels, True)
    order = sorted(distinct, key=lambda v: v if numeric else str(v))
    code_of = {_hashable(v): k for k, v in enumerate(order)}
    codes = np.array([code_of[_hashable(v)] for v in values], dtype=np.int64)
    positions = np.array(order if numeric else range(len(order)), dtype=np.float64)
    return _Levels(codes, positions, [_number(v) if numeric else str(v) for v in order], numeric)


def _number(value: float) -> str:
    """A parameter's value as a tick label: whole thousands with separators (16,000, not
    1.6e+04), else three significant digits."""
    if abs(value) >= 1000 and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | np.ndarray) else value


def _check_columns(runs: pd.DataFrame, *names: str) -> None:
    missing = [n for n in names if n not in runs.columns]
    if missing:
        raise ValueError(
            f"no column {', '.join(missing)} in the sweep; columns: {', '.join(runs.columns)}"
        )


@style.styled
def sweep_heatmap(
    runs: pd.DataFrame, x: str, y: str, outcome: str, ax: Axes | None = None
) -> Figure:
    """An outcome over two varied parameters: each cell is the median over the runs at that pair
    of values (replicates, and any other parameter, pooled), written in the cell. A parameter
    with more than MAX_LEVELS values (an LHS or Sobol' design) is binned into BINS bins."""
    _check_columns(runs, x, y, outcome)
    fig, ax = _figure_and_axes(ax, (7, 5.5))
    xs, ys = _levels(runs[x]), _levels(runs[y])
    values = runs[outcome].to_numpy(dtype=np.float64)
    grid = np.full((len(ys.labels), len(xs.labels)), np.nan)
    for j, i in np.ndindex(grid.shape):
        in_cell = (ys.codes == j) & (xs.codes == i)
        if in_cell.any():
            grid[j, i] = np.median(values[in_cell])
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.spines[:].set_visible(False)  # the cells are the frame
    for j, i in zip(*np.nonzero(np.isfinite(grid)), strict=True):
        value = grid[j, i]
        ax.text(
            i,
            j,
            f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}",
            ha="center",
            va="center",
            fontsize="small",
            # by where the cell's colour lies on viridis, dark below the middle, light above
            color="black" if np.asarray(image.norm(value)) > VIRIDIS_LIGHT_FROM else "white",
        )
    binned = len(xs.labels) > 6 or not xs.numeric
    ax.set_xticks(
        range(len(xs.labels)),
        xs.labels,
        rotation=30 if binned else 0,
        ha="right" if binned else "center",
    )
    ax.set_yticks(range(len(ys.labels)), ys.labels)
    ax.set_xlabel(style.parameter_words(x))
    ax.set_ylabel(style.parameter_words(y))
    ax.set_title(style.outcome_words(outcome))
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.set_label("People (median over runs)")
    colorbar.outline.set_visible(False)  # type: ignore[operator]
    return fig


@style.styled
def sweep_line(
    runs: pd.DataFrame,
    parameter: str,
    outcomes: str | Sequence[str],
    by: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Outcomes against one varied parameter: a median line and a 90% band over the runs at
    each value. One line per outcome; or, with `by` (another parameter) and one outcome, one
    line per value of `by` (labelled by its value, under a legend title naming `by`). Runs at
    the same point are pooled: replicates, and any parameter not drawn. A parameter with more
    than MAX_LEVELS values is binned; one that spans a factor of 20 or more gets a log
    axis."""
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    _check_columns(runs, parameter, *names, *([by] if by else []))
    if by is not None and len(names) != 1:
        raise ValueError(f"with by={by!r}, give one outcome, not {len(names)}")
    fig, ax = _figure_and_axes(ax, (8, 5))
    levels = _levels(runs[parameter])
    if by is None:
        lines = [
            (style.outcome_words(name), runs[name], np.ones(len(runs), dtype=bool))
            for name in names
        ]
        title = "Median and 90% band over runs"
    else:
        groups = _levels(runs[by])
        lines = [
            (label, runs[names[0]], groups.codes == k) for k, label in enumerate(groups.labels)
        ]
        title = f"{style.outcome_words(names[0])}: median and 90% band over runs"
    band_alpha = 0.2 if len(lines) == 1 else 0.1  # overlapping bands stay readable
    for (label, values, selected), color in zip(lines, _cycle_colors(len(lines)), strict=True):
        at = levels.codes[selected]
        present = np.unique(at)
        stats = np.array(
            [np.percentile(values[selected][at == k], INTERVAL_PERCENTILES) for k in present]
        )
        x = levels.positions[present]
        ax.plot(x, stats[:, 1], marker="o", markersize=3, color=color, label=label)
        ax.fill_between(x, stats[:, 0], stats[:, 2], color=color, alpha=band_alpha, linewidth=0)
    positions = levels.positions
    low, high = float(np.min(positions)), float(np.max(positions))
    if levels.numeric and low > 0 and high / low >= 20:
        ax.set_xscale("log")
    if not levels.numeric:
        ax.set_xticks(positions, levels.labels)
    ax.set_xlabel(style.parameter_words(parameter))
    ax.set_ylabel(style.PEOPLE_AXIS)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(True)
    ax.legend(title=None if by is None else style.parameter_words(by))  # by: values of `by`
    return fig


@style.styled
def sobol_bars(indices: pd.DataFrame, outcome: str, ax: Axes | None = None) -> Figure:
    """Sobol' indices of one outcome (`sim.sweep.sensitivity`): per parameter, the first-order
    index S1 (its share of the variance alone) and the total index ST (with its interactions),
    each with its 95% interval."""
    _check_columns(indices, "outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf")
    rows = indices[indices["outcome"] == outcome]
    if rows.empty:
        known = ", ".join(dict.fromkeys(indices["outcome"]))
        raise ValueError(f"no indices for outcome '{outcome}'; outcomes: {known}")
    fig, ax = _figure_and_axes(ax, (7, 4.5))
    at = np.arange(len(rows))
    width = 0.38
    ax.bar(
        at - width / 2,
        rows["S1"],
        width,
        yerr=rows["S1_conf"],
        capsize=3,
        color=style.COLORS["blue"],
        label="First order (S1)",
    )
    ax.bar(
        at + width / 2,
        rows["ST"],
        width,
        yerr=rows["ST_conf"],
        capsize=3,
        color=style.COLORS["orange"],
        label="Total (ST)",
    )
    names = [style.parameter_words(p) for p in rows["parameter"]]
    ax.set_xticks(at, names, rotation=20, ha="right", rotation_mode="anchor")
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_ylabel("Sobol' index (share of variance)")
    ax.set_title(style.outcome_words(outcome))
    ax.grid(True, axis="y")
    ax.legend()
    return fig
