"""The map: people at places and on roads. `NetworkMap` draws the network once and `show(step)`
redraws only what changes (for animations, `sim.animation`); `network_map` is the map at one
time. A box in the corner counts the people in each state (`STATUS_CAPTIONS`). What every map
of one run shares (the network's lines and points, the extents, the scales of sizes and widths)
is a `MapGeometry`, computed once for maps drawn side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import ScaledTranslation

from sim.plots._common import _figure_and_axes, root_figure
from sim.results import Results
from sim.rules import KINDS
from sim.scenario import Scenario

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


@dataclass(frozen=True)
class MapGeometry:
    """What every map of one run shares: where places and roads are drawn, which places are
    crossings, named or marked by an authority, the extents and aspect of the axes, and the
    scales of sizes and widths (one over the whole run, so maps of different times compare).
    `of` computes it; maps drawn side by side (`sim.figures`' maps by day) compute it once."""

    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    segments: list[list[tuple[float, float]]]  # [road] its two ends as (lon, lat)
    crossing: npt.NDArray[np.bool_]  # [place] a border crossing
    authority_places: dict[str, list[int]]  # authority -> the indices of its places
    named: list[tuple[str, int]]  # origins and destinations: short name, place index
    names: list[str]  # [place] its short name
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    aspect: float
    area_per_person: float  # marker area (pt^2) per person at a place
    width_per_person: float  # line width (pt) per person on a road
    label_min: int  # people at a place for it to get a label

    @classmethod
    def of(cls, results: Results, scenario: Scenario) -> MapGeometry:
        """The geometry of `results`' maps; ValueError if they are not a run of `scenario`."""
        places = scenario.network.places
        if tuple(p.id for p in places) != results.place_ids:
            raise ValueError(
                f"the results are of a network with places {list(results.place_ids)[:3]}..., "
                f"not of scenario '{scenario.name}'; pass the scenario the run was made from"
            )
        index = {pid: i for i, pid in enumerate(results.place_ids)}
        lon, lat = results.place_lon, results.place_lat
        named = {*scenario.population.origins(), *scenario.route_choice.destinations}
        most_at_place = int(np.max(results.at_places("n_at_place"), initial=0))
        pad = 0.3
        return cls(
            lon=lon,
            lat=lat,
            segments=[
                [(lon[index[a]], lat[index[a]]), (lon[index[b]], lat[index[b]])]
                for a, b in results.road_ends
            ],
            crossing=np.array(["border_crossing" in p.kind for p in places], dtype=bool),
            authority_places={
                name: [index[p] for p in spec.place_ids()]
                for name, spec in scenario.authorities.items()
            },
            named=[(_short_name(p.name or p.id), i) for i, p in enumerate(places) if p.id in named],
            names=[_short_name(p.name or p.id) for p in places],
            xlim=(float(np.min(lon)) - pad, float(np.max(lon)) + pad),
            ylim=(float(np.min(lat)) - pad, float(np.max(lat)) + pad),
            # Degrees of longitude shrink with latitude; this keeps distances true on the page.
            aspect=1.0 / math.cos(math.radians(float(np.mean(lat)))),
            area_per_person=MAX_PLACE_AREA_PT2 / max(most_at_place, 1),
            width_per_person=MAX_ROAD_WIDTH_PT / max(int(np.max(results.roads, initial=0)), 1),
            label_min=max(1, math.ceil(LABEL_SHARE * most_at_place)),
        )


class NetworkMap:
    """The road network on longitude and latitude, drawn once; `show(step)` updates only what
    changes with time (sizes, widths, labels, which authorities are in force), so an animation
    redraws no more than it must.

    Places are circles whose area is the number of people there (a red ring: those held);
    roads are lines whose width is the number of people on them. Border crossings are white
    diamonds; authorities are marked by kind, faint outside their windows; the origin and the
    destinations are named. Sizes share one scale over the whole run, so maps of different
    times compare. Maps of one run drawn together pass the `geometry` they share.
    """

    def __init__(
        self,
        results: Results,
        scenario: Scenario,
        ax: Axes,
        labels: bool = True,
        legend: bool = True,
        geometry: MapGeometry | None = None,
    ) -> None:
        g = MapGeometry.of(results, scenario) if geometry is None else geometry
        self.results = results
        self.ax = ax
        self._geometry = g
        self._series = results.series()
        lon, lat, segments = g.lon, g.lat, g.segments
        ax.add_collection(LineCollection(segments, colors="0.75", linewidths=0.8, zorder=1))
        self._roads = LineCollection(
            segments, colors="tab:blue", linewidths=0.0, alpha=0.6, zorder=2, gid="people on roads"
        )
        ax.add_collection(self._roads)
        ax.scatter(lon, lat, s=6, color="0.35", zorder=3)
        ax.scatter(
            lon[g.crossing], lat[g.crossing], zorder=4, gid="border crossings", **_CROSSING_STYLE
        )
        self._authorities = []
        for name, spec in scenario.authorities.items():
            mark = KINDS[spec.kind].map_mark
            at = g.authority_places[name]
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
        for name, i in g.named:
            ax.annotate(
                name,
                (lon[i], lat[i]),
                xytext=(0, -11),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color="0.35",
                style="italic",
                zorder=8,
            )
        self._labels = [
            ax.annotate(
                "",
                (lon[i], lat[i]),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=7,
                zorder=9,
                visible=False,
                gid=f"label {place_id}",
            )
            for i, place_id in enumerate(results.place_ids)
            if labels
        ]
        self._status = _status_box(ax)
        ax.set_xlim(*g.xlim)
        ax.set_ylim(*g.ylim)
        ax.set_aspect(g.aspect)
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
        g = self._geometry
        self._people.set_sizes(present * g.area_per_person)
        self._held.set_sizes(held * g.area_per_person)
        on_road = results.roads[step]
        widths = np.where(on_road > 0, MIN_ROAD_WIDTH_PT, 0.0) + on_road * g.width_per_person
        self._roads.set_linewidth(widths)
        when = results.times[step]
        for artist, start, end in self._authorities:
            artist.set_alpha(1.0 if start <= when < end else INACTIVE_ALPHA)
        for label, name, n, h in zip(self._labels, g.names, present, held, strict=False):
            label.set_visible(bool(n >= g.label_min))
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
    geometry: MapGeometry | None = None,
) -> Figure:
    """The network at the end of `step`, or at time `when` (the last step ending by then), or,
    given neither, at the hour when most people were held. See `NetworkMap` for what is drawn;
    `geometry`, if given, is the one `MapGeometry.of(results, scenario)` computes.
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
    NetworkMap(results, scenario, ax, labels=labels, legend=legend, geometry=geometry).show(step)
    return fig
