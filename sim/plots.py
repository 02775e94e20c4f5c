"""Plots: pure functions, data in and a matplotlib Figure out.

Every function draws on the `ax` it is given, or on a new Figure of its own, and returns the
Figure; none reads a file, runs a model or shows a window. Figures are made without pyplot, so
importing this module chooses no backend: scripts save them (`fig.savefig`), notebooks display
them. Counts are people; times are the scenario's local clock.

- Runs: `timeseries` (curves over time with the median and 90% band over replicates, reported
  figures overlaid), `network_map` (people at places and on roads at one time; `NetworkMap` is
  the same map redrawn step by step, for animations), `outcomes_vs_targets` (a run's outcomes
  beside each target set), and for counterfactuals `compare_series` and `paired_differences`.
- Sweeps: `sweep_heatmap` (an outcome over two parameters), `sweep_line` (over one), and
  `sobol_bars` (Sobol' indices).
- Calibrations: `posterior_pairs` (the posterior as parameter pairs), `predictive_check` (each
  target's posterior predictive distribution against the reported figure), and
  `compare_posteriors` (parameters under several target sets, on the priors' scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib import ticker
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import ScaledTranslation

from sim.results import INTERVAL_PERCENTILES, Results
from sim.results_schema import FLOWS
from sim.rules import KINDS
from sim.scenario import Scenario
from sim.targets import Target, TargetSet

# --------------------------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """One line of a time-series plot: the sum of one or more of `Results.series()`."""

    label: str
    columns: tuple[str, ...]
    color: str


PEOPLE_BY_STATE = (
    Curve("on the road", ("n_moving",), "tab:blue"),
    Curve("held at a border", ("n_held_border",), "tab:purple"),
    Curve("held at a blockade", ("n_held_blockade",), "tab:red"),
    Curve("off the road (dispersed)", ("n_dispersed",), "tab:olive"),
    Curve("in quarantine", ("n_quarantined",), "tab:pink"),
)
"""Stocks: where the people who have left are, at the end of each step."""

CUMULATIVE = (
    Curve("departed", ("cum_departed",), "0.3"),
    Curve("entered Guatemala", ("cum_entered_guatemala",), "tab:green"),
    Curve("returned voluntarily", ("cum_returned_voluntarily",), "tab:orange"),
    Curve("remitted (intercepted)", ("cum_remitted",), "tab:brown"),
    Curve(
        "back in Honduras (returned, remitted or deported)",
        ("cum_returned_voluntarily", "cum_remitted", "cum_deported_after_quarantine"),
        "tab:red",
    ),
    Curve("reached the Mexican border", ("cum_reached_mexican_border",), "tab:blue"),
)
"""Flows, summed from the start: how many have done each thing so far."""

HEALTH = (
    Curve("tested", ("cum_tested",), "tab:cyan"),
    Curve("tested positive", ("cum_tested_positive",), "tab:red"),
    Curve("quarantined", ("cum_quarantined",), "tab:pink"),
    Curve("deported after quarantine", ("cum_deported_after_quarantine",), "tab:brown"),
)
"""COVID-19 testing, summed from the start."""

REPORTED_MARKERS = ("D", "s", "^", "v", "o")  # one per target set, in the order given


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
    """
    replicates = _as_list(runs)
    fig, ax = _figure_and_axes(ax, (10, 5))
    first = replicates[0]
    for curve in curves:
        lo, median, hi = _bands(_curve_values(replicates, curve))
        ax.plot(first.times, median, color=curve.color, label=curve.label)  # type: ignore[arg-type]
        if len(replicates) > 1:
            ax.fill_between(first.times, lo, hi, color=curve.color, alpha=0.2, linewidth=0)  # type: ignore[arg-type]
    for j, target_set in enumerate(target_sets):
        _overlay_reported(
            ax, first, curves, target_set, REPORTED_MARKERS[j % len(REPORTED_MARKERS)]
        )
    _date_axis(ax, first.start)
    ax.set_ylabel("people")
    ax.set_ylim(bottom=0)
    spread = f", median and 90% band of {len(replicates)} replicates" if len(replicates) > 1 else ""
    ax.set_title(f"{first.scenario_name} (seed {first.seed}{spread})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def compare_series(
    variants: Mapping[str, Sequence[Results]], curve: Curve, ax: Axes | None = None
) -> Figure:
    """One curve under several variants of a scenario: a median line and a 90% band over
    replicates per variant (colours in the order given)."""
    fig, ax = _figure_and_axes(ax, (10, 5))
    colors = _cycle_colors(len(variants))
    start = None
    for (name, runs), color in zip(variants.items(), colors, strict=True):
        replicates = _as_list(runs)
        lo, median, hi = _bands(_curve_values(replicates, curve))
        times = replicates[0].times
        start = replicates[0].start
        ax.plot(times, median, color=color, label=name)  # type: ignore[arg-type]
        if len(replicates) > 1:
            ax.fill_between(times, lo, hi, color=color, alpha=0.15, linewidth=0)  # type: ignore[arg-type]
    if start is not None:
        _date_axis(ax, start)
    ax.set_ylabel("people")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{curve.label}: median and 90% band over replicates")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


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
        label=f"reported ({target_set.name}), with tolerance",
    )


def _cumulative_columns(target: Target) -> frozenset[str] | None:
    """The `cum_*` columns whose sum a target is, or None if it is not a sum of flows."""
    if not all(key in {f.name for f in FLOWS} for key in target.outcome):
        return None
    return frozenset(f"cum_{key}" for key in target.outcome)


def reported_span(target: Target, target_set: TargetSet) -> tuple[float, float]:
    """The range a reported figure stands for: its tolerance, as people.

    What the tolerance accepts (`Target.band`: observed x (1 -/+ r) for `relative`, the range
    as given, whose upper end may be inf, or a Poisson count's 90% band); for a binomial count,
    the 90% interval of a binomial with the observed number of trials and rate (how much a
    count as small as 21 of 104 varies by chance).
    """
    band = target.band()
    if band is not None:
        return band
    tol = target.tolerance
    assert target.observed is not None  # the schema requires it without a range
    trials = next(t.observed for t in target_set.targets if t.outcome == [tol.binomial_of])
    assert trials is not None  # load_target_set checks the trials are observed
    from scipy.stats import binom  # noqa: PLC0415 - only for sets with a binomial target

    lo, hi = binom.ppf([0.05, 0.95], round(trials), target.observed / trials)
    return float(lo), float(hi)


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
    ax.set_xlabel(f"local time ({start.tzname()})" if tz is not None else "scenario clock")


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------

MAX_PLACE_AREA_PT2 = 900.0  # marker area of the most people ever at one place in the run
MAX_ROAD_WIDTH_PT = 12.0  # line width of the most people ever on one road
MIN_ROAD_WIDTH_PT = 1.0  # a road with anyone on it stays visible
LABEL_SHARE = 0.02  # places holding at least this share of that most get a label

INACTIVE_ALPHA = 0.2  # an authority outside its window is drawn faintly
STATUS_CAPTIONS = (
    "on the road",
    "held",
    "in quarantine",
    "back in Honduras",
    "at the Mexican border",
)


class NetworkMap:
    """The road network on longitude and latitude, drawn once; `show(step)` updates only what
    changes with time (sizes, widths, labels, which authorities are in force), so an animation
    redraws no more than it must.

    Places are circles whose area is the number of people there (a red ring: those held);
    roads are lines whose width is the number of people on them. Border crossings are white
    diamonds; authorities are marked by kind, faint outside their windows; the origin and the
    destinations are named. Sizes share one scale over the whole run, so maps of different
    times compare.
    """

    def __init__(
        self,
        results: Results,
        scenario: Scenario,
        ax: Axes,
        labels: bool = True,
        legend: bool = True,
    ) -> None:
        places = scenario.network.places
        if tuple(p.id for p in places) != results.place_ids:
            raise ValueError(
                f"the results are of a network with places {list(results.place_ids)[:3]}..., "
                f"not of scenario '{scenario.name}'; pass the scenario the run was made from"
            )
        self.results = results
        self.ax = ax
        self._series = results.series()
        index = {pid: i for i, pid in enumerate(results.place_ids)}
        lon, lat = results.place_lon, results.place_lat
        segments = [
            [(lon[index[a]], lat[index[a]]), (lon[index[b]], lat[index[b]])]
            for a, b in results.road_ends
        ]
        ax.add_collection(LineCollection(segments, colors="0.75", linewidths=0.8, zorder=1))
        self._roads = LineCollection(
            segments, colors="tab:blue", linewidths=0.0, alpha=0.6, zorder=2, gid="people on roads"
        )
        ax.add_collection(self._roads)
        ax.scatter(lon, lat, s=6, color="0.35", zorder=3)
        crossing = np.array(["border_crossing" in p.kind for p in places])
        ax.scatter(
            lon[crossing], lat[crossing], zorder=4, gid="border crossings", **_CROSSING_STYLE
        )
        self._authorities = []
        for name, spec in scenario.authorities.items():
            mark = KINDS[spec.kind].map_mark
            at = [index[p] for p in spec.place_ids()]
            artist = ax.scatter(
                lon[at],
                lat[at],
                s=mark.area_pt2,
                marker=mark.marker,
                color=mark.color,
                edgecolor="white",
                linewidth=0.5,
                zorder=5,
                gid=f"authority {name}",
            )
            self._authorities.append((artist, spec.active.start, spec.active.end))
        self._kinds = list(dict.fromkeys(spec.kind for spec in scenario.authorities.values()))
        # People above the markers (they are what changes), held rings above the people.
        blank = np.zeros(len(lon))
        self._people = ax.scatter(lon, lat, s=blank, zorder=6, gid="people", **_PEOPLE_STYLE)
        self._held = ax.scatter(lon, lat, s=blank, zorder=7, gid="held", **_HELD_STYLE)
        named = {scenario.population.origin, *scenario.route_choice.destinations}
        for i, place in enumerate(places):
            if place.id in named:
                ax.annotate(
                    _short_name(place.name or place.id),
                    (lon[i], lat[i]),
                    xytext=(0, -11),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="0.35",
                    style="italic",
                    zorder=8,
                )
        most_at_place = int(np.max(results.at_places("n_at_place"), initial=0))
        self._area_per_person = MAX_PLACE_AREA_PT2 / max(most_at_place, 1)
        self._width_per_person = MAX_ROAD_WIDTH_PT / max(int(np.max(results.roads, initial=0)), 1)
        self._label_min = max(1, math.ceil(LABEL_SHARE * most_at_place))
        self._names = [_short_name(p.name or p.id) for p in places]
        self._labels = [
            ax.annotate(
                "",
                (lon[i], lat[i]),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=7,
                zorder=9,
                visible=False,
                gid=f"label {place.id}",
            )
            for i, place in enumerate(places)
            if labels
        ]
        self._status = _status_box(ax)
        pad = 0.3
        ax.set_xlim(float(np.min(lon)) - pad, float(np.max(lon)) + pad)
        ax.set_ylim(float(np.min(lat)) - pad, float(np.max(lat)) + pad)
        # Degrees of longitude shrink with latitude; this keeps distances true on the page.
        ax.set_aspect(1.0 / math.cos(math.radians(float(np.mean(lat)))))
        ax.set_xlabel("longitude (degrees)")
        ax.set_ylabel("latitude (degrees)")
        if legend:
            ax.legend(handles=self.legend_handles(), loc="lower left", fontsize="small")

    def legend_handles(self) -> list[Line2D]:
        """Legend entries: what sizes and widths mean, then each kind of marker on the map."""
        handles = [
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=10,
                markerfacecolor=_PEOPLE_STYLE["color"],
                markeredgecolor="none",
                alpha=_PEOPLE_STYLE["alpha"],
                label="people at a place (area)",
            ),
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=10,
                markerfacecolor="none",
                markeredgecolor=_HELD_STYLE["edgecolor"],
                label="of whom held",
            ),
            Line2D(
                [], [], color="tab:blue", alpha=0.6, linewidth=4, label="people on a road (width)"
            ),
            Line2D(
                [],
                [],
                linestyle="none",
                marker="D",
                markersize=7,
                markerfacecolor="white",
                markeredgecolor="black",
                label="border crossing",
            ),
        ]
        for kind in self._kinds:
            mark = KINDS[kind].map_mark
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker=mark.marker,
                    markersize=math.sqrt(mark.area_pt2),
                    color=mark.color,
                    markeredgecolor="white",
                    label=mark.label,
                )
            )
        return handles

    def changing_artists(self) -> list[Artist]:
        """What `show` changes: everything else stays as first drawn."""
        authorities = [artist for artist, _, _ in self._authorities]
        return [
            self._roads,
            *authorities,
            self._people,
            self._held,
            *self._labels,
            *self._status,
            self.ax.title,
        ]

    def show(self, step: int) -> None:
        """Draw the state at the end of `step` (0 is the first step)."""
        results = self.results
        present = results.at_places("n_at_place")[step]
        held = results.at_places("n_held")[step]
        self._people.set_sizes(present * self._area_per_person)
        self._held.set_sizes(held * self._area_per_person)
        on_road = results.roads[step]
        widths = np.where(on_road > 0, MIN_ROAD_WIDTH_PT, 0.0) + on_road * self._width_per_person
        self._roads.set_linewidth(widths)
        when = results.times[step]
        for artist, start, end in self._authorities:
            artist.set_alpha(1.0 if start <= when < end else INACTIVE_ALPHA)
        for label, name, n, h in zip(self._labels, self._names, present, held, strict=False):
            label.set_visible(bool(n >= self._label_min))
            label.set_text(f"{name} {n:,}" + (f", {h:,} held" if h else ""))
        s = {name: int(values[step]) for name, values in self._series.items()}
        numbers = (
            s["n_moving"] + s["n_dispersed"],
            s["n_held_border"] + s["n_held_blockade"],
            s["n_quarantined"],
            s["cum_returned_voluntarily"] + s["cum_remitted"] + s["cum_deported_after_quarantine"],
            s["cum_reached_mexican_border"],
        )
        for text, n in zip(self._status, numbers, strict=True):
            text.set_text(f"{n:>6,}")
        self.ax.set_title(f"{results.scenario_name}: {when:%a %d %b %Y %H:%M}")


_PEOPLE_STYLE: dict[str, Any] = {"color": "tab:orange", "alpha": 0.55}
_HELD_STYLE: dict[str, Any] = {"facecolor": "none", "edgecolor": "tab:red", "linewidth": 1.5}
_CROSSING_STYLE: dict[str, Any] = {
    "s": 45,
    "marker": "D",
    "facecolor": "white",
    "edgecolor": "black",
    "linewidth": 0.8,
}


STATUS_FONT_PT = 7.0
STATUS_LINE_PT = 1.3 * STATUS_FONT_PT


def _status_box(ax: Axes) -> list[Text]:
    """A box in the top right corner with STATUS_CAPTIONS, one a row; returns the texts that
    hold each row's number. Captions and numbers are apart so that only numbers are redrawn
    (text is slow to draw), and each row sits on its own baseline so the two columns align."""
    width = max(len(c) for c in STATUS_CAPTIONS) + 8  # characters, numbers included
    mono: dict[str, Any] = {"fontsize": STATUS_FONT_PT, "family": "monospace", "zorder": 10}
    blank = "\n".join(" " * width for _ in STATUS_CAPTIONS)
    ax.text(
        0.99,
        0.99,
        blank,
        transform=ax.transAxes,
        ha="right",
        va="top",
        linespacing=STATUS_LINE_PT / STATUS_FONT_PT / 1.1,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
        **mono,
    )
    numbers = []
    scale = root_figure(ax).dpi_scale_trans
    for row, caption in enumerate(STATUS_CAPTIONS):
        down_in = (0.85 * STATUS_FONT_PT + row * STATUS_LINE_PT) / 72
        at = ax.transAxes + ScaledTranslation(0.0, -down_in, scale)
        ax.text(0.99, 0.99, f"{caption:<{width}}", transform=at, ha="right", va="baseline", **mono)
        numbers.append(
            ax.text(
                0.99,
                0.99,
                "",
                transform=at,
                ha="right",
                va="baseline",
                gid=f"status {caption}",
                **mono,
            )
        )
    return numbers


def _short_name(name: str) -> str:
    """A place's name without the details in brackets: "Vado Hondo (CA-10 km 177)" ->
    "Vado Hondo"."""
    return name.split(" (", maxsplit=1)[0]


def network_map(
    results: Results,
    scenario: Scenario,
    step: int | None = None,
    when: datetime | None = None,
    ax: Axes | None = None,
    labels: bool = True,
    legend: bool = True,
) -> Figure:
    """The network at the end of `step`, or at time `when` (the last step ending by then), or,
    given neither, at the hour when most people were held. See `NetworkMap` for what is drawn.
    """
    if step is not None and when is not None:
        raise ValueError("give a step or a time, not both")
    if when is not None:
        step = results.step_at(when)
    elif step is None:
        step = int(np.argmax(results.at_places("n_held").sum(axis=1)))
    if not 0 <= step < results.n_steps:
        raise ValueError(f"step {step} is outside the run (0 to {results.n_steps - 1})")
    fig, ax = _figure_and_axes(ax, (9, 7.5))
    NetworkMap(results, scenario, ax, labels=labels, legend=legend).show(step)
    return fig


# --------------------------------------------------------------------------------------------
# Outcomes and reported figures
# --------------------------------------------------------------------------------------------


def target_comparison(
    runs: Results | Sequence[Results] | Sequence[Mapping[str, float]],
    target_set: TargetSet,
    ax: Axes | None = None,
    rows: int | None = None,
) -> Figure:
    """One row per target: the reported figure (a white diamond) and its tolerance (a grey bar)
    beside the model's value (a dot at the median over replicates, a line for the 90% interval).
    People on a log scale, so 21 positives and 8,000 departures both show; zero sits at the
    left edge. A target whose outcome the run lacks is marked "not in this run". `rows` (at
    least the number of targets) spaces the rows as for that many, so panels side by side
    line up."""
    per_replicate = _outcomes(runs)
    n_rows = max(rows or 0, len(target_set.targets))
    fig, ax = _figure_and_axes(ax, (7, 0.45 * n_rows + 1.5))
    reported_x: list[float] = []
    reported_y: list[int] = []
    model_x: list[float] = []
    model_y: list[int] = []
    for row, target in enumerate(target_set.targets):
        lo, hi = reported_span(target, target_set)
        ax.plot([lo, min(hi, 1e9)], [row, row], color="0.75", linewidth=7, solid_capstyle="butt")
        if target.observed is not None:
            reported_x.append(target.observed)
            reported_y.append(row)
        try:
            values = [target.value_from(o) for o in per_replicate]
        except KeyError:
            ax.text(1.0, row, " not in this run", va="center", fontsize=8, color="0.4")
            continue
        p05, median, p95 = np.percentile(values, INTERVAL_PERCENTILES)
        ax.plot([p05, p95], [row, row], color="tab:blue", linewidth=2)
        model_x.append(float(median))
        model_y.append(row)
    ax.plot(
        model_x,
        model_y,
        linestyle="none",
        marker="o",
        color="tab:blue",
        label=f"model: median and 90% interval of {len(per_replicate)} runs",
    )
    # Hollow and on top, so a model dot on the reported figure shows through.
    ax.plot(
        reported_x,
        reported_y,
        linestyle="none",
        marker="D",
        markersize=8,
        markerfacecolor="none",
        markeredgecolor="black",
        label="reported (grey: its tolerance)",
    )
    ax.set_yticks(range(len(target_set.targets)), [t.id for t in target_set.targets])
    ax.set_ylim(n_rows - 0.5, -0.5)  # first target on top
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
    finite = [x for x in (*reported_x, *model_x) if x > 0]
    ax.set_xlim(0, 3 * max(finite, default=10.0))
    ax.set_xlabel("people (log scale)")
    ax.set_title(f"target set '{target_set.name}'")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize="small")
    return fig


def outcomes_vs_targets(
    runs: Results | Sequence[Results] | Sequence[Mapping[str, float]],
    target_sets: Sequence[TargetSet],
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """`target_comparison` for each target set, side by side (on `axes`, one per set)."""
    if axes is None:
        tallest = max(len(s.targets) for s in target_sets)
        fig = Figure(figsize=(7 * len(target_sets), 0.45 * tallest + 2.2), layout="constrained")
        axes = list(fig.subplots(1, len(target_sets), squeeze=False)[0])
    if len(axes) != len(target_sets):
        raise ValueError(f"{len(target_sets)} target sets need as many axes, got {len(axes)}")
    tallest = max(len(s.targets) for s in target_sets)
    for ax, target_set in zip(axes, target_sets, strict=True):
        target_comparison(runs, target_set, ax=ax, rows=tallest)
    return root_figure(axes[0])


def paired_differences(
    variants: Mapping[str, Sequence[Results]],
    baseline: str,
    outcomes: Sequence[str],
    ax: Axes | None = None,
) -> Figure:
    """How much each variant changes each outcome against `baseline`, seed by seed.

    The variants must have run the same seeds (common random numbers), so each difference is
    the policy's, not the dice's: a dot at the median difference over seeds, a line for its
    90% interval. Rows are outcomes; variants are offset within a row, coloured as in
    `compare_series` (the baseline takes the first colour and is not drawn). The axis is
    linear within 10 people of zero and logarithmic beyond, so a change of 50 shows beside one
    of 5,000."""
    if baseline not in variants:
        raise ValueError(f"no variant named '{baseline}'; variants: {', '.join(variants)}")
    base = _as_list(variants[baseline])
    base_seeds = [r.seed for r in base]
    others = [name for name in variants if name != baseline]
    for name in others:
        seeds = [r.seed for r in _as_list(variants[name])]
        if seeds != base_seeds:
            raise ValueError(
                f"variant '{name}' ran seeds {seeds}, '{baseline}' {base_seeds}: pair them by "
                "running every variant with the same seeds"
            )
    fig, ax = _figure_and_axes(ax, (9, 0.2 * len(outcomes) * max(len(others), 1) + 2.0))
    colors = _cycle_colors(len(variants))[1:]
    height = 0.8 / max(len(others), 1)
    for k, (name, color) in enumerate(zip(others, colors, strict=True)):
        xs, ys = [], []
        for row, outcome in enumerate(outcomes):
            y = row - 0.4 + height * (k + 0.5)
            diffs = [
                r.outcomes.get(outcome, np.nan) - b.outcomes.get(outcome, np.nan)
                for r, b in zip(_as_list(variants[name]), base, strict=True)
            ]
            if np.isnan(diffs).any():
                continue  # the outcome does not exist in one of the two (no such authority)
            p05, median, p95 = np.percentile(diffs, INTERVAL_PERCENTILES)
            ax.plot([p05, p95], [y, y], color=color, linewidth=2)
            xs.append(float(median))
            ys.append(y)
        ax.plot(xs, ys, linestyle="none", marker="o", color=color, label=name)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    for row in range(1, len(outcomes)):
        ax.axhline(row - 0.5, color="0.85", linewidth=0.8)
    ax.set_yticks(range(len(outcomes)), list(outcomes))
    ax.set_ylim(len(outcomes) - 0.5, -0.5)
    ax.set_xscale("symlog", linthresh=10.0, linscale=0.5)
    ax.set_xlabel(
        f"difference from '{baseline}' (people, symmetric log scale; median and 90% interval "
        "over seeds)"
    )
    ax.set_title(f"paired by seed: {len(base)} seeds per variant")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def _outcomes(
    runs: Results | Sequence[Results] | Sequence[Mapping[str, float]],
) -> list[Mapping[str, float]]:
    if isinstance(runs, Results):
        return [runs.outcomes]
    return [r.outcomes if isinstance(r, Results) else r for r in runs]


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------

MAX_LEVELS = 12  # a parameter with more distinct values is binned
BINS = 8  # into this many bins of equal counts


@dataclass(frozen=True)
class _Levels:
    """The values of a parameter as a few levels: each run's level, and each level's position
    on the axis (the value, or a bin's median) and its tick label."""

    codes: npt.NDArray[np.int64]
    positions: npt.NDArray[np.float64]
    labels: list[str]
    numeric: bool


def _levels(values: pd.Series[Any]) -> _Levels:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    distinct = values.drop_duplicates()
    if numeric and len(distinct) > MAX_LEVELS:
        bins = pd.qcut(values, BINS, duplicates="drop")
        codes = np.asarray(bins.cat.codes, dtype=np.int64)
        positions = values.groupby(codes).median().to_numpy(dtype=np.float64)
        labels = [f"{b.left:.3g}-{b.right:.3g}" for b in bins.cat.categories]
        return _Levels(codes, positions, labels, True)
    order = sorted(distinct, key=lambda v: v if numeric else str(v))
    code_of = {_hashable(v): k for k, v in enumerate(order)}
    codes = np.array([code_of[_hashable(v)] for v in values], dtype=np.int64)
    positions = np.array(order if numeric else range(len(order)), dtype=np.float64)
    return _Levels(codes, positions, [f"{v:.3g}" if numeric else str(v) for v in order], numeric)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | np.ndarray) else value


def _check_columns(runs: pd.DataFrame, *names: str) -> None:
    missing = [n for n in names if n not in runs.columns]
    if missing:
        raise ValueError(
            f"no column {', '.join(missing)} in the sweep; columns: {', '.join(runs.columns)}"
        )


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
    top = np.nanmax(grid) if np.isfinite(grid).any() else 0.0
    for j, i in zip(*np.nonzero(np.isfinite(grid)), strict=True):
        value = grid[j, i]
        ax.text(
            i,
            j,
            f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}",
            ha="center",
            va="center",
            fontsize=8,
            color="black" if value > 0.6 * top else "white",
        )
    binned = len(xs.labels) > 6 or not xs.numeric
    ax.set_xticks(
        range(len(xs.labels)),
        xs.labels,
        rotation=30 if binned else 0,
        ha="right" if binned else "center",
    )
    ax.set_yticks(range(len(ys.labels)), ys.labels)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(outcome)
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.set_label(f"{outcome} (people; median over runs)")
    return fig


def sweep_line(
    runs: pd.DataFrame,
    parameter: str,
    outcomes: str | Sequence[str],
    by: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Outcomes against one varied parameter: a median line and a 90% band over the runs at
    each value. One line per outcome; or, with `by` (another parameter) and one outcome, one
    line per value of `by`. Runs at the same point are pooled: replicates, and any parameter
    not drawn. A parameter with more than MAX_LEVELS values is binned; one that spans a
    factor of 20 or more gets a log axis."""
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    _check_columns(runs, parameter, *names, *([by] if by else []))
    if by is not None and len(names) != 1:
        raise ValueError(f"with by={by!r}, give one outcome, not {len(names)}")
    fig, ax = _figure_and_axes(ax, (8, 5))
    levels = _levels(runs[parameter])
    if by is None:
        lines = [(name, runs[name], np.ones(len(runs), dtype=bool)) for name in names]
        title = f"median and 90% band over runs, by {parameter}"
    else:
        groups = _levels(runs[by])
        lines = [
            (f"{by} = {label}", runs[names[0]], groups.codes == k)
            for k, label in enumerate(groups.labels)
        ]
        title = f"{names[0]}: median and 90% band over runs"
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
    ax.set_xlabel(parameter)
    ax.set_ylabel("people")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


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
        color="tab:blue",
        label="first order (S1)",
    )
    ax.bar(
        at + width / 2,
        rows["ST"],
        width,
        yerr=rows["ST_conf"],
        capsize=3,
        color="tab:orange",
        label="total (ST)",
    )
    ax.set_xticks(at, list(rows["parameter"]), rotation=20, ha="right")
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_ylabel("Sobol' index (share of variance)")
    ax.set_title(outcome)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def posterior_pairs(
    particles: pd.DataFrame,
    labels: Sequence[str],
    parameters: Mapping[str, Mapping[str, Any]],
) -> Figure:
    """The posterior as parameter pairs: weighted histograms on the diagonal (prior range as
    the x range; median and 90% credible interval marked), particles below it (darker for
    heavier weight).

    `particles` has a column per label and `weight`; `parameters` is the calibration summary's
    per-label statistics (`prior.range`, `median`, `p05`, `p95`).
    """
    n = len(labels)
    size = max(2.2 * n, 4.0)
    fig = Figure(figsize=(size, size), layout="constrained")
    axes = fig.subplots(n, n, squeeze=False)
    weights = particles["weight"].to_numpy()
    shade = 0.15 + 0.85 * weights / max(float(weights.max()), 1e-300)
    for i, row_label in enumerate(labels):
        for j, col_label in enumerate(labels):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            lo, hi = parameters[col_label]["prior"]["range"]
            x = particles[col_label].to_numpy(dtype=float)
            log = parameters[col_label]["prior"]["prior"] == "loguniform"
            if i == j:
                bins = np.geomspace(lo, hi, 25) if log else np.linspace(lo, hi, 25)
                ax.hist(x, bins=bins, weights=weights, color="tab:blue", alpha=0.7)
                stats = parameters[col_label]
                ax.axvline(stats["median"], color="k", linewidth=1.2)
                ax.axvspan(stats["p05"], stats["p95"], color="tab:orange", alpha=0.2)
                ax.set_yticks([])
            else:
                y = particles[row_label].to_numpy(dtype=float)
                ax.scatter(x, y, s=6, c=shade, cmap="Blues", vmin=0, vmax=1)
                ylo, yhi = parameters[row_label]["prior"]["range"]
                ax.set_ylim(ylo, yhi)
                if parameters[row_label]["prior"]["prior"] == "loguniform":
                    ax.set_yscale("log")
            ax.set_xlim(lo, hi)
            if log:
                ax.set_xscale("log")
            # tick labels on the outer edges only, and no minor labels on log axes
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
            if i == n - 1:
                ax.set_xlabel(col_label, fontsize="small")
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != j:
                ax.set_ylabel(row_label, fontsize="small")
            elif i != j:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize="x-small")
    fig.suptitle("posterior: parameter pairs (orange band: 90% credible interval)")
    return fig


def predictive_check(targets: Mapping[str, Mapping[str, Any]], predictive: pd.DataFrame) -> Figure:
    """One panel per target: the posterior predictive distribution of the model's value
    (histogram, 90% band shaded) against the observed figure (red line) and the values within
    its tolerance (hatched).

    `targets` is the calibration summary's per-target entries; `predictive` has a column
    `target.<id>` per target, one row per predictive draw.
    """
    ids = list(targets)
    cols = min(3, len(ids))
    rows = math.ceil(len(ids) / cols)
    fig = Figure(figsize=(4.2 * cols, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, target_id in enumerate(ids):
        ax = axes[k // cols][k % cols]
        values = predictive[f"target.{target_id}"].to_numpy(dtype=float)
        target = targets[target_id]
        if len(values):
            ax.hist(values, bins=30, color="tab:blue", alpha=0.7)
            p05, p95 = np.percentile(values, [5, 95])
            ax.axvspan(p05, p95, color="tab:blue", alpha=0.12, label="predictive 90%")
        if target["observed"] is not None:
            ax.axvline(target["observed"], color="tab:red", linewidth=2, label="observed")
        band = target.get("band")
        if band is not None:
            lo, hi = band  # hi None: no upper bound
            right = ax.get_xlim()[1] if hi is None or math.isinf(hi) else hi
            ax.axvspan(
                lo,
                right,
                facecolor="none",
                edgecolor="tab:red",
                hatch="//",
                linewidth=0,
                alpha=0.5,
                label="within tolerance",
            )
        ax.set_title(f"{target_id} ({target['tolerance']})", fontsize="small")
        ax.set_xlabel("people")
        ax.set_yticks([])
        ax.tick_params(labelsize="x-small")
    for k in range(len(ids), rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    axes[0][0].legend(fontsize="x-small")
    fig.suptitle("posterior predictive check")
    return fig


def compare_posteriors(
    summaries: Mapping[str, Mapping[str, Any]], ax: Axes | None = None
) -> Figure:
    """Each parameter's posterior median and 90% credible interval under several calibrations
    (e.g. one per target set), on a common scale: the share of the parameter's prior range
    (0 its low end, 1 its high end; log ranges on the log scale). Where the intervals of two
    target sets do not overlap, the sets disagree about that parameter.

    `summaries` maps a name (the target set) to a calibration summary (`summary.json`).
    """
    names = list(summaries)
    labels = list(next(iter(summaries.values()))["parameters"])
    fig, ax = _figure_and_axes(ax, (8.0, 0.45 * len(labels) * len(names) + 1.5))
    offsets = np.linspace(-0.25, 0.25, len(names)) if len(names) > 1 else np.zeros(1)
    for k, name in enumerate(names):
        params = summaries[name]["parameters"]
        ys, mids, los, his = [], [], [], []
        for i, label in enumerate(labels):
            p = params[label]
            scale = _prior_share(p["prior"])
            ys.append(i + offsets[k])
            mids.append(scale(p["median"]))
            los.append(scale(p["p05"]))
            his.append(scale(p["p95"]))
        mid = np.array(mids)
        ax.errorbar(
            mid,
            ys,
            xerr=[mid - np.array(los), np.array(his) - mid],
            fmt="o",
            capsize=3,
            label=name,
        )
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("position in the prior range (0 = low end, 1 = high end)")
    ax.set_title("posterior median and 90% credible interval")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _prior_share(prior: Mapping[str, Any]) -> Any:
    lo, hi = prior["range"]
    if prior["prior"] == "loguniform":
        return lambda x: (math.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return lambda x: (x - lo) / (hi - lo)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _figure_and_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return root_figure(ax), ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def root_figure(ax: Axes) -> Figure:
    """The Figure an axes is drawn in (through any subfigures)."""
    figure: Any = ax.figure
    while not isinstance(figure, Figure):
        figure = figure.figure
    return figure


def _as_list(runs: Results | Sequence[Results]) -> list[Results]:
    replicates = [runs] if isinstance(runs, Results) else list(runs)
    if not replicates:
        raise ValueError("no runs to plot")
    return replicates


def _cycle_colors(n: int) -> list[str]:
    return [f"C{k % 10}" for k in range(n)]
