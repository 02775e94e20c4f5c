"""Curves over time: `timeseries` draws each `Curve` (the sum of columns of `Results.series()`)
as the median and 90% band over replicates on a date axis in the scenario's local clock, with
the reported figures of target sets overlaid. `PEOPLE_BY_STATE`, `CUMULATIVE` and `HEALTH` are
the standard curve sets; a curve of one column carries that column's label from the results
schema (`sim.results_schema.column_label`). Curves that are equal over the whole run are drawn
in different dash patterns, the later on top, and the legend says they are equal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from sim.plots import style
from sim.plots._common import _as_list, _figure_and_axes
from sim.plots.targets import reported_span
from sim.results import INTERVAL_PERCENTILES, Results
from sim.results_schema import FLOWS, column_label
from sim.targets import Target, TargetSet

LineStyle = str | tuple[float, tuple[float, ...]]  # a name, or (offset, (on, off, ...)) in points


@dataclass(frozen=True)
class Curve:
    """One line of a time-series plot: the sum of one or more of `Results.series()`, in a
    colour and a matplotlib line style (curves of one colour differ in it)."""

    label: str
    columns: tuple[str, ...]
    color: str
    linestyle: LineStyle = "solid"


_C = style.COLORS
_SOLID, _DASHED, _DOTTED, _DASH_DOT = style.DASHES[:4]


def _column_curve(column: str, color: str, linestyle: LineStyle = _SOLID) -> Curve:
    """The curve of one column, labelled as the results schema labels that column."""
    return Curve(column_label(column), (column,), color, linestyle)


PEOPLE_BY_STATE = (
    _column_curve("n_moving", _C["blue"]),
    _column_curve("n_held_border", _C["purple"]),
    _column_curve("n_held_blockade", _C["vermillion"]),
    _column_curve("n_dispersed", _C["green"]),
    _column_curve("n_quarantined", _C["orange"], _DASHED),
)
"""Stocks: where the people who have left are, at the end of each step."""

# Related curves share a colour and differ in dash pattern: returns (orange), Guatemala's
# count of them (purple).
CUMULATIVE = (
    _column_curve("cum_departed", _C["black"]),
    _column_curve("cum_entered_guatemala", _C["green"]),
    _column_curve("cum_returned_voluntarily", _C["orange"]),
    _column_curve("cum_remitted", _C["purple"]),
    Curve(
        "back in Honduras (returned, remitted or deported)",
        ("cum_returned_voluntarily", "cum_remitted", "cum_deported_after_quarantine"),
        _C["vermillion"],
    ),
    _column_curve("cum_reached_mexican_border", _C["blue"]),
    _column_curve("cum_returned_after_entering", _C["orange"], _DASHED),
    Curve(
        "processed by Guatemala (returned after entering, or remitted)",
        ("cum_returned_after_entering", "cum_remitted"),
        _C["purple"],
        _DASHED,
    ),
)
"""Flows, summed from the start: how many have done each thing so far (the last two, as
Guatemala's migration institute counts them, are not in run directories written by 0.1)."""

HEALTH = (
    _column_curve("cum_tested", _C["blue"]),
    _column_curve("cum_tested_positive", _C["vermillion"]),
    _column_curve("cum_quarantined", _C["orange"], _DASHED),  # often equal to the positives
    _column_curve("cum_deported_after_quarantine", _C["black"], _DOTTED),
)
"""COVID-19 testing, summed from the start."""

REPORTED_MARKERS = ("D", "s", "^", "v", "o")  # one per target set, in the order given


@style.styled
def timeseries(
    runs: Results | Sequence[Results],
    curves: Sequence[Curve] = PEOPLE_BY_STATE,
    target_sets: Sequence[TargetSet] = (),
    ax: Axes | None = None,
) -> Figure:
    """Each curve over time with real dates: the median over replicates, and the 90% band (5th
    to 95th percentile) when there are several.

    A target of `target_sets` is overlaid when it is the sum of a curve's cumulative series:
    a marker at its observed figure with a bar for its tolerance, at its `by` time (or at the
    end of the run, where it has none). Targets with a range but no figure get the bar alone.
    A curve equal to one before it over the whole run (quarantined and tested positive, when
    every positive is quarantined) is drawn on top of it in another dash pattern, and its
    legend entry says which it equals.
    """
    replicates = _as_list(runs)
    fig, ax = _figure_and_axes(ax, (10, 5))
    first = replicates[0]
    per_replicate = [_curve_values(replicates, curve) for curve in curves]
    values = [_bands(v) for v in per_replicate]
    drawn = _told_apart(curves, per_replicate)
    for k, (curve, (lo, median, hi), (label, linestyle)) in enumerate(
        zip(curves, values, drawn, strict=True)
    ):
        ax.plot(
            first.times,  # type: ignore[arg-type]
            median,
            color=curve.color,
            linestyle=linestyle,
            label=label,
            zorder=2 + 0.01 * k,  # later curves on top: a dashed one shows the one below
        )
        if len(replicates) > 1:
            ax.fill_between(first.times, lo, hi, color=curve.color, alpha=0.2, linewidth=0)  # type: ignore[arg-type]
    for j, target_set in enumerate(target_sets):
        _overlay_reported(
            ax, first, curves, target_set, REPORTED_MARKERS[j % len(REPORTED_MARKERS)]
        )
    _date_axis(ax, first.start)
    ax.set_ylabel(style.PEOPLE_AXIS)
    ax.set_ylim(bottom=0)
    spread = f", median and 90% band of {len(replicates)} replicates" if len(replicates) > 1 else ""
    ax.set_title(f"{first.scenario_name} (seed {first.seed}{spread})")
    ax.grid(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _told_apart(
    curves: Sequence[Curve], values: Sequence[npt.NDArray[np.float64]]
) -> list[tuple[str, LineStyle]]:
    """Each curve's legend label (its label, first letter a capital) and line style: a curve
    equal to an earlier one in every replicate over the whole run (and not zero throughout)
    says so, and takes a dash pattern no such earlier curve has."""
    out: list[tuple[str, LineStyle]] = []
    for k, (curve, mine) in enumerate(zip(curves, values, strict=True)):
        equal = [j for j in range(k) if np.any(mine) and np.array_equal(mine, values[j])]
        label = style.sentence(curve.label)
        if not equal:
            out.append((label, curve.linestyle))
            continue
        taken = {out[j][1] for j in equal}
        linestyle = curve.linestyle
        if linestyle in taken:
            linestyle = next(d for d in style.DASHES if d not in taken)
        same = " and ".join(curves[j].label[:1].lower() + curves[j].label[1:] for j in equal)
        out.append((f"{label} (equal to {same})", linestyle))
    return out


def _curve_values(replicates: Sequence[Results], curve: Curve) -> npt.NDArray[np.float64]:
    """[replicate, step] values of a curve (the sum of its columns)."""
    rows = []
    for results in replicates:
        series = results.series()
        missing = [c for c in curve.columns if c not in series]
        if missing:
            raise ValueError(
                f"curve '{curve.label}': no series {missing}; known: {', '.join(sorted(series))}"
            )
        rows.append(np.sum([series[c] for c in curve.columns], axis=0))
    return np.asarray(rows, dtype=np.float64)


def _bands(
    values: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """5th percentile, median and 95th percentile over the first axis (replicates)."""
    lo, median, hi = np.percentile(values, INTERVAL_PERCENTILES, axis=0)
    return lo, median, hi


def _overlay_reported(
    ax: Axes, first: Results, curves: Sequence[Curve], target_set: TargetSet, marker: str
) -> None:
    shown = {frozenset(c.columns) for c in curves}
    times: list[datetime] = []
    observed: list[float] = []
    bars: list[tuple[datetime, float, float]] = []
    for target in target_set.targets:
        if _cumulative_columns(target) not in shown:
            continue
        when = first.times[-1] if target.by is None else _local(target.by, first.start)
        lo, hi = reported_span(target, target_set)
        bars.append((when, lo, hi))
        if target.observed is not None:
            times.append(when)
            observed.append(target.observed)
    if not bars:
        return
    # A bar open above ("at least 21") runs to the top of the axes, dashed; the axes are fixed
    # to hold every curve and bar.
    ax.autoscale_view()
    finite = [v for _, lo, hi in bars for v in (lo, hi) if math.isfinite(v)]
    top = max(ax.get_ylim()[1], 1.05 * max(finite))
    ax.set_ylim(top=top)
    segments = [
        [(mdates.date2num(w), lo), (mdates.date2num(w), min(hi, top))]  # type: ignore[no-untyped-call]
        for w, lo, hi in bars
    ]
    styles = ["solid" if math.isfinite(hi) else "dashed" for _, _, hi in bars]
    ax.add_collection(LineCollection(segments, colors="black", linewidths=1.2, linestyles=styles))
    ax.plot(
        times,  # type: ignore[arg-type]
        observed,
        linestyle="none",
        marker=marker,
        markersize=6,
        markerfacecolor="white",
        markeredgecolor="black",
        label=f"Reported ({target_set.name}), with tolerance",
    )


def _cumulative_columns(target: Target) -> frozenset[str] | None:
    """The `cum_*` columns whose sum a target is, or None if it is not a sum of flows."""
    if not all(key in {f.name for f in FLOWS} for key in target.outcome):
        return None
    return frozenset(f"cum_{key}" for key in target.outcome)


def _local(when: datetime, start: datetime) -> datetime:
    """Targets give local wall-clock times; the run's times carry the scenario's offset."""
    if when.tzinfo is None and start.tzinfo is not None:
        return when.replace(tzinfo=start.tzinfo)
    return when


def _date_axis(ax: Axes, start: datetime) -> None:
    """Dates on the x axis in the scenario's local clock (matplotlib shows UTC otherwise)."""
    tz: tzinfo | None = start.tzinfo
    locator = mdates.AutoDateLocator(tz=tz)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))  # type: ignore[no-untyped-call]
    ax.set_xlabel(f"Local time ({start.tzname()})" if tz is not None else "Scenario clock")
