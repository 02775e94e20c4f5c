"""Plots: pure functions, data in and a matplotlib Figure out; none runs a model or shows one."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; notebooks pick their own backend before importing pyplot

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.results import Results

STOCKS_SHOWN = (
    ("n_moving", "travelling"),
    ("n_held_border", "held at a border"),
    ("n_held_blockade", "held at a blockade"),
    ("n_dispersed", "dispersed off the road"),
    ("cum_returned_voluntarily", "returned (cumulative)"),
    ("cum_remitted", "remitted (cumulative)"),
    ("cum_reached_mexican_border", "at the Mexican border (cumulative)"),
)


def _figure_and_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def timeseries(
    results: Results,
    series: Sequence[tuple[str, str]] = STOCKS_SHOWN,
    ax: Axes | None = None,
) -> Figure:
    """People in each state over time, with real dates on the x axis."""
    fig, ax = _figure_and_axes(ax, (10, 5))
    data = results.series()
    times = results.times
    for name, label in series:
        ax.plot(times, data[name], label=label)  # type: ignore[arg-type]
    ax.set_xlabel(f"local time ({results.start.tzname() or 'scenario clock'})")
    ax.set_ylabel("people")
    ax.set_title(f"{results.scenario_name} (seed {results.seed})")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))  # type: ignore[no-untyped-call]
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return fig


def network_map(results: Results, step: int | None = None, ax: Axes | None = None) -> Figure:
    """The road network in lon/lat: roads drawn by how many travel on them and places sized
    by how many stand there, at the end of `step` (default: the step with the most held)."""
    fig, ax = _figure_and_axes(ax, (9, 7))
    if step is None:
        step = int(np.argmax(results.places[:, :, 1].sum(axis=1)))
    index = {pid: i for i, pid in enumerate(results.place_ids)}
    lon, lat = results.place_lon, results.place_lat
    on_road = results.roads[step]
    widest = max(int(np.max(on_road)), 1)
    for r, (a, b) in enumerate(results.road_ends):
        ia, ib = index[a], index[b]
        ax.plot(
            [lon[ia], lon[ib]],
            [lat[ia], lat[ib]],
            color="tab:blue" if on_road[r] else "0.7",
            linewidth=0.8 + 6.0 * on_road[r] / widest,
            zorder=1,
        )
    present = results.places[step, :, 0]
    held = results.places[step, :, 1]
    ax.scatter(lon, lat, s=8, color="0.3", zorder=2)
    scale = 800.0 / max(int(np.max(present)), 1)
    ax.scatter(
        lon,
        lat,
        s=present * scale,
        color="tab:orange",
        alpha=0.6,
        zorder=3,
        label="people at a place",
    )
    ax.scatter(
        lon,
        lat,
        s=held * scale,
        facecolor="none",
        edgecolor="tab:red",
        linewidth=1.5,
        zorder=4,
        label="of whom held",
    )
    for i, pid in enumerate(results.place_ids):
        if present[i] or held[i]:
            ax.annotate(
                f"{pid} {present[i]}",
                (lon[i], lat[i]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
    when = results.times[step]
    ax.set_title(f"{results.scenario_name}: {when:%d %b %Y %H:%M}")
    ax.set_xlabel("longitude (degrees)")
    ax.set_ylabel("latitude (degrees)")
    ax.set_aspect("equal")
    ax.legend(loc="lower left", fontsize="small")
    return fig
