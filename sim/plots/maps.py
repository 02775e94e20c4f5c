"""The map: people at places and on roads, over the country and department borders
(`sim.borders`), with a scale bar and a north arrow. `NetworkMap` draws the network once and
`show(step)` redraws only what changes (for animations, `sim.animation`); `network_map` is the map
at one time. A box beside the map (outside its axes, so it covers nothing) counts the people in
each state (`STATUS_CAPTIONS`); place labels are moved clear of every marker and of one another
when drawn (`sim.plots.map_labels`). What every map of one run shares (the network's lines and
points, the borders in view, the extents, the scales of sizes and widths) is a `MapGeometry`,
computed once for maps drawn side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.text import Annotation
from matplotlib.transforms import ScaledTranslation
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # type: ignore[import-untyped]

from sim.borders import Border, borders
from sim.plots import map_labels
from sim.plots._common import _figure_and_axes, root_figure
from sim.results import Results
from sim.rules import KINDS
from sim.scenario import Scenario

MAX_PLACE_AREA_PT2 = 900.0  # marker area of the most people ever at one place in the run
MAX_ROAD_WIDTH_PT = 12.0  # line width of the most people ever on one road
MIN_ROAD_WIDTH_PT = 1.0  # a road with anyone on it stays visible
LABEL_SHARE = 0.02  # places holding at least this share of that most get a label

INACTIVE_ALPHA = 0.2  # an authority outside its window is drawn faintly
PAD_DEG = 0.3  # around the places
MAP_SIZE_IN = (10.5, 6.8)  # the map, and beside it the status box and the legend

KM_PER_DEG = 2 * math.pi * 6371.0088 / 360  # along a meridian, on the mean Earth sphere
SCALE_BAR_SHARE = 0.2  # the scale bar is the longest round length up to this share of the width
SEA_COLOR = "#e6eff5"
LAND_COLOR = "#fbfaf7"
COUNTRY_LINE = {"colors": "0.45", "linewidths": 0.9}
DEPARTMENT_LINE = {"colors": "0.78", "linewidths": 0.4}
COUNTRY_LABEL_FONT_PT = 8.0
LABEL_FONT_PT = 7.0
# Drawing order: borders, the network, authorities, people, held rings, labels.
_Z_COUNTRY_LABELS = 0.5
_Z_LABELS = 9.0
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
    crossings, named or marked by an authority, the borders in view and the scale bar, the
    extents and aspect of the axes, and the scales of sizes and widths (one over the whole run,
    so maps of different times compare).
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
    country_rings: list[npt.NDArray[np.float64]]  # outlines of the countries in view (lon, lat)
    department_rings: list[npt.NDArray[np.float64]]  # outlines of their departments in view
    country_labels: list[tuple[str, float, float]]  # a country's name, where to write it
    scale_bar_km: float
    scale_bar_deg: float  # the scale bar's length in degrees of longitude

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
        xlim = (float(np.min(lon)) - PAD_DEG, float(np.max(lon)) + PAD_DEG)
        ylim = (float(np.min(lat)) - PAD_DEG, float(np.max(lat)) + PAD_DEG)
        mean_lat = float(np.mean(lat))
        width_km = (xlim[1] - xlim[0]) * KM_PER_DEG * math.cos(math.radians(mean_lat))
        bar_km = scale_bar_km(width_km)
        shown = borders()
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
            xlim=xlim,
            ylim=ylim,
            # Degrees of longitude shrink with latitude; this keeps distances true on the page.
            aspect=1.0 / math.cos(math.radians(mean_lat)),
            area_per_person=MAX_PLACE_AREA_PT2 / max(most_at_place, 1),
            width_per_person=MAX_ROAD_WIDTH_PT / max(int(np.max(results.roads, initial=0)), 1),
            label_min=max(1, math.ceil(LABEL_SHARE * most_at_place)),
            country_rings=_rings_in_view(shown.countries, xlim, ylim),
            department_rings=_rings_in_view(shown.departments, xlim, ylim),
            country_labels=[
                (c.name, *c.label_at)
                for c in shown.countries
                if c.label_at is not None
                and xlim[0] < c.label_at[0] < xlim[1]
                and ylim[0] < c.label_at[1] < ylim[1]
            ],
            scale_bar_km=bar_km,
            scale_bar_deg=degrees_of_longitude(bar_km, mean_lat),
        )


def scale_bar_km(width_km: float) -> float:
    """The scale bar's length for a map `width_km` wide: the longest of 1, 2 or 5 times a power
    of ten that is at most SCALE_BAR_SHARE of the width."""
    most = SCALE_BAR_SHARE * width_km
    power = 10.0 ** math.floor(math.log10(most))
    return max(m * power for m in (1, 2, 5) if m * power <= most)


def degrees_of_longitude(km: float, lat_deg: float) -> float:
    """How many degrees of longitude make `km` along the parallel at `lat_deg` (a sphere)."""
    return km / (KM_PER_DEG * math.cos(math.radians(lat_deg)))


def _rings_in_view(
    shapes: Sequence[Border], xlim: tuple[float, float], ylim: tuple[float, float]
) -> list[npt.NDArray[np.float64]]:
    """The rings of `shapes` that reach into the view (the others cost drawing time only)."""
    return [
        ring
        for shape in shapes
        for ring in shape.rings
        if np.max(ring[:, 0]) > xlim[0]
        and np.min(ring[:, 0]) < xlim[1]
        and np.max(ring[:, 1]) > ylim[0]
        and np.min(ring[:, 1]) < ylim[1]
    ]


class NetworkMap:
    """The road network on longitude and latitude, drawn once; `show(step)` updates only what
    changes with time (sizes, widths, labels, which authorities are in force), so an animation
    redraws no more than it must.

    Under the network: land and sea, country borders (and coasts) and, fainter, department
    borders, with the countries named where there is room (`country_labels`); a scale bar in km
    and a north arrow. Places are circles whose area is the number of people there (a red ring:
    those held); roads are lines whose width is the number of people on them. Border crossings
    are white diamonds; authorities are marked by kind, faint outside their windows; the origins
    and the destinations are always named, and with `labels` every place holding at least
    `MapGeometry.label_min` people is labelled with its count. Each time the map is drawn, the
    labels are placed clear of every marker, of one another, of the country names, the scale
    bar and the north arrow, inside the axes; the status box and the legend stand beside the
    axes. Sizes share one scale over
    the whole run, so maps of different times compare. Maps of one run drawn together pass the
    `geometry` they share.
    """

    def __init__(
        self,
        results: Results,
        scenario: Scenario,
        ax: Axes,
        labels: bool = True,
        legend: bool = True,
        geometry: MapGeometry | None = None,
        country_labels: bool = True,
    ) -> None:
        g = MapGeometry.of(results, scenario) if geometry is None else geometry
        self.results = results
        self.ax = ax
        self._geometry = g
        self._series = results.series()
        self._counted = labels
        self._named = np.zeros(len(g.lon), dtype=bool)
        self._named[[i for _, i in g.named]] = True
        _draw_borders(ax, g)
        self._country_labels = _country_labels(ax, g) if country_labels else []
        self._countries_placed = False
        self._draw_network(scenario)
        self._labels = [
            ax.annotate(
                "",
                (g.lon[i], g.lat[i]),
                xytext=(0, 0),
                textcoords="offset points",
                fontsize=LABEL_FONT_PT,
                zorder=_Z_LABELS,
                visible=False,
                annotation_clip=False,
                gid=f"label {place_id}",
            )
            for i, place_id in enumerate(results.place_ids)
        ]
        for label in self._labels:
            label.set_in_layout(False)  # kept inside the axes by the placer
        self._status = _status_box(ax)
        ax.set_xlim(*g.xlim)
        ax.set_ylim(*g.ylim)
        ax.set_aspect(g.aspect)
        ax.spines[:].set_visible(True)  # a map is framed all round (plots drop top and right)
        ax.set_xlabel("Longitude (degrees)")
        ax.set_ylabel("Latitude (degrees)")
        self._furniture: list[Artist] = [_scale_bar(ax, g), *_north_arrow(ax)]
        if legend:  # beside the map, under the status box
            below_status = ScaledTranslation(
                STATUS_GAP_PT / 72, -_STATUS_HEIGHT_PT / 72, root_figure(ax).dpi_scale_trans
            )
            ax.legend(
                handles=self.legend_handles(),
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
                bbox_transform=ax.transAxes + below_status,
                borderaxespad=0.0,
                fontsize="small",
            )
        ax.add_artist(map_labels.LabelPlacer(self._place_countries, _Z_COUNTRY_LABELS - 0.01))
        self._placer = map_labels.LabelPlacer(self._place_labels, _Z_LABELS - 0.01)
        ax.add_artist(self._placer)
        self._furniture_boxes: tuple[Any, list[tuple[float, float, float, float]]] | None = None

    def _draw_network(self, scenario: Scenario) -> None:
        """Roads, places, crossings and authorities (fixed), then the people and the held
        (sized by `show`). Also notes each place's largest fixed marker, for the labels."""
        ax, g = self.ax, self._geometry
        lon, lat = g.lon, g.lat
        ax.add_collection(LineCollection(g.segments, colors="0.6", linewidths=0.8, zorder=1))
        self._roads = LineCollection(
            g.segments,
            colors="tab:blue",
            linewidths=0.0,
            alpha=0.6,
            zorder=2,
            gid="people on roads",
        )
        ax.add_collection(self._roads)
        ax.scatter(lon, lat, s=_PLACE_DOT_PT2, color="0.35", zorder=3)
        ax.scatter(
            lon[g.crossing], lat[g.crossing], zorder=4, gid="border crossings", **_CROSSING_STYLE
        )
        radius_pt = np.full(len(lon), math.sqrt(_PLACE_DOT_PT2) / 2)
        radius_pt[g.crossing] = _CROSSING_RADIUS_PT
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
            # a square mark reaches its corners: the circle around it
            radius_pt[at] = np.maximum(radius_pt[at], math.sqrt(mark.area_pt2 / 2) + 0.5)
        self._marker_radius_pt = radius_pt
        self._kinds = list(dict.fromkeys(spec.kind for spec in scenario.authorities.values()))
        # People above the markers (they are what changes), held rings above the people.
        blank = np.zeros(len(lon))
        self._people = ax.scatter(lon, lat, s=blank, zorder=6, gid="people", **_PEOPLE_STYLE)
        self._held = ax.scatter(lon, lat, s=blank, zorder=7, gid="held", **_HELD_STYLE)

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
        """What `show` changes: everything else stays as first drawn. The label placer comes
        before the labels it moves."""
        authorities = [artist for artist, _, _ in self._authorities]
        return [
            self._roads,
            *authorities,
            self._people,
            self._held,
            self._placer,
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
        counted = self._counted & (present >= g.label_min)
        for i, label in enumerate(self._labels):
            label.set_visible(bool(counted[i] or self._named[i]))
            if counted[i]:
                label.set_text(place_label(g.names[i], int(present[i]), int(held[i])))
                label.set(color="black", style="normal")
            elif self._named[i]:
                label.set_text(g.names[i])
                label.set(color="0.3", style="italic")
        s = {name: int(values[step]) for name, values in self._series.items()}
        numbers = (
            s["n_moving"] + s["n_dispersed"],
            s["n_held_border"] + s["n_held_blockade"],
            s["n_quarantined"],
            s["cum_returned_voluntarily"] + s["cum_remitted"] + s["cum_deported_after_quarantine"],
            s["cum_reached_mexican_border"],
        )
        for text, n in zip(self._status, numbers, strict=True):
            text.set_text(f"{n:,}")
        self.ax.set_title(f"{results.scenario_name}: {when:%a %d %b %Y %H:%M}")

    def _circles(self, renderer: RendererBase) -> npt.NDArray[np.float64]:
        """Every place's markers as one circle in display pixels: centre, radius."""
        g = self._geometry
        centres = self.ax.transData.transform(np.column_stack([g.lon, g.lat]))
        people_pt = np.sqrt(self._people.get_sizes()) / 2 + _HELD_STYLE["linewidth"] / 2
        radius_pt = np.maximum(self._marker_radius_pt, people_pt)
        return np.column_stack(
            [centres, radius_pt * float(np.asarray(renderer.points_to_pixels(1.0)))]
        )

    def _place_labels(self, renderer: RendererBase) -> None:
        """Move the visible labels clear of the markers, one another, the country names and the
        furniture; the most crowded places choose first, then the named."""
        shown = [i for i, label in enumerate(self._labels) if label.get_visible()]
        order = sorted(shown, key=lambda i: (-int(self._people.get_sizes()[i]), i))
        circles = self._circles(renderer)
        box = self.ax.get_window_extent(renderer)
        # The furniture stays put while the layout and the canvas do (every frame of an
        # animation), and measuring it costs more than placing the labels.
        key = (renderer.get_canvas_width_height(), tuple(box.bounds))
        if self._furniture_boxes is None or self._furniture_boxes[0] != key:
            furniture = [*self._furniture, *self._country_labels]
            self._furniture_boxes = (key, map_labels.furniture_boxes(renderer, furniture))
        taken = list(self._furniture_boxes[1])
        map_labels.place(
            [self._labels[i] for i in order],
            circles[order, :2],
            circles[order, 2],
            circles,
            taken,
            (box.x0, box.y0, box.x1, box.y1),
            renderer,
        )

    def _place_countries(self, renderer: RendererBase) -> None:
        """The first time the map is drawn: each country's name on a free spot near its label
        point, or not at all (it must not cover the network)."""
        if self._countries_placed:
            return
        self._countries_placed = True
        if not self._country_labels:
            return
        transform = self.ax.transData
        anchors = transform.transform([label.xy for label in self._country_labels])
        box = self.ax.get_window_extent(renderer)
        free = map_labels.place(
            self._country_labels,
            anchors,
            np.zeros(len(anchors)),
            self._circles(renderer),
            map_labels.furniture_boxes(renderer, self._furniture),
            (box.x0, box.y0, box.x1, box.y1),
            renderer,
            rings_pt=(0.0, 12.0, 24.0, 40.0),
            directions=((0.0, 0.0), *map_labels.DIRECTIONS),
        )
        for label, ok in zip(self._country_labels, free, strict=True):
            label.set_visible(ok)


def place_label(name: str, present: int, held: int) -> str:
    """A place's label: its name and how many are there, and of them how many held."""
    if held == 0:
        return f"{name} {present:,}"
    return f"{name} {present:,} ({'all' if held == present else f'{held:,}'} held)"


def _draw_borders(ax: Axes, g: MapGeometry) -> None:
    """Sea, land, department borders, then country borders (coasts included) above them."""
    ax.set_facecolor(SEA_COLOR)
    # Not antialiased: the country lines cover the fill's edges, and it draws in a fraction of
    # the time.
    ax.add_collection(
        PolyCollection(
            g.country_rings, facecolors=LAND_COLOR, edgecolors="none", antialiased=False, zorder=0.1
        )
    )
    ax.add_collection(
        LineCollection(g.department_rings, zorder=0.2, gid="department borders", **DEPARTMENT_LINE)
    )
    ax.add_collection(
        LineCollection(g.country_rings, zorder=0.3, gid="country borders", **COUNTRY_LINE)
    )


def _country_labels(ax: Axes, g: MapGeometry) -> list[Annotation]:
    labels = []
    for name, lon, lat in g.country_labels:
        label = ax.annotate(
            name.upper(),
            (lon, lat),
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=COUNTRY_LABEL_FONT_PT,
            color="0.5",
            zorder=_Z_COUNTRY_LABELS,
            gid=f"country {name}",
        )
        label.set_in_layout(False)
        labels.append(label)
    return labels


def _scale_bar(ax: Axes, g: MapGeometry) -> AnchoredSizeBar:
    """A bar `g.scale_bar_km` long at the map's mean latitude, in the lower right corner."""
    bar = AnchoredSizeBar(
        ax.transData,
        g.scale_bar_deg,
        f"{g.scale_bar_km:g} km",
        loc="lower right",
        pad=0.4,
        borderpad=0.5,
        sep=3,
        frameon=False,
        size_vertical=0.0,
        fontproperties=FontProperties(size=LABEL_FONT_PT),
    )
    bar.size_bar.get_children()[0].set(linewidth=2.0, edgecolor="0.2", capstyle="butt")
    bar.set_gid("scale bar")
    bar.set_zorder(_Z_LABELS)
    ax.add_artist(bar)
    return bar


def _north_arrow(ax: Axes) -> list[Artist]:
    """An arrow pointing north (up: the map's axes are longitude and latitude) under an N, in
    the top right corner."""
    x = 0.965
    arrow = ax.annotate(
        "",
        xy=(x, 0.925),
        xytext=(x, 0.85),
        xycoords="axes fraction",
        arrowprops={
            "arrowstyle": "simple,head_width=0.7,head_length=0.9,tail_width=0.25",
            "color": "0.2",
        },
        zorder=_Z_LABELS,
        gid="north arrow",
    )
    letter = ax.text(
        x,
        0.945,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        color="0.2",
        zorder=_Z_LABELS,
    )
    for artist in (arrow, letter):
        artist.set_in_layout(False)
    return [arrow, letter]


_PLACE_DOT_PT2 = 6.0
_CROSSING_RADIUS_PT = 4.5  # a diamond of area 45 pt^2, drawn edge included


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
STATUS_GAP_PT = 8.0  # between the axes and the box
_STATUS_WIDTH_CHARS = max(len(c) for c in STATUS_CAPTIONS) + 8  # numbers included
_STATUS_HEIGHT_PT = len(STATUS_CAPTIONS) * STATUS_LINE_PT + 20.0  # its frame and a gap below
_MONO_ADVANCE_EM = 0.61  # DejaVu Sans Mono's character width (0.602 em), rounded up
STATUS_BOX_WIDTH_IN = (
    STATUS_GAP_PT + _STATUS_WIDTH_CHARS * _MONO_ADVANCE_EM * STATUS_FONT_PT + 10.0
) / 72
"""How far the status box reaches right of a map's axes, frame included: room to leave."""


def _status_box(ax: Axes) -> list[Annotation]:
    """A box beside the axes (right of them, top aligned: it covers no part of the map) with
    STATUS_CAPTIONS, one a row; returns the texts that hold each row's number. Captions and
    numbers are apart so that only the numbers are redrawn, and short (text is slow to draw,
    glyph by glyph); the box is a blank text as wide as a caption and its number in a
    monospaced font, and each number ends at its right edge, on its row's baseline."""
    mono: dict[str, Any] = {"fontsize": STATUS_FONT_PT, "family": "monospace", "zorder": 10}
    scale = root_figure(ax).dpi_scale_trans
    beside = ax.transAxes + ScaledTranslation(STATUS_GAP_PT / 72, 0.0, scale)
    blank = "\n".join(" " * _STATUS_WIDTH_CHARS for _ in STATUS_CAPTIONS)
    box = ax.text(
        1.0,
        1.0,
        blank,
        transform=beside,
        ha="left",
        va="top",
        linespacing=STATUS_LINE_PT / STATUS_FONT_PT / 1.1,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
        clip_on=False,
        gid="status box",
        **mono,
    )
    numbers = []
    for row, caption in enumerate(STATUS_CAPTIONS):
        down_pt = 0.85 * STATUS_FONT_PT + row * STATUS_LINE_PT
        at = beside + ScaledTranslation(0.0, -down_pt / 72, scale)
        ax.text(1.0, 1.0, caption, transform=at, ha="left", va="baseline", **mono)
        numbers.append(
            ax.annotate(
                "",
                xy=(1.0, 1.0),  # the box text's top right corner
                xycoords=box,
                xytext=(0.0, -down_pt),
                textcoords="offset points",
                ha="right",
                va="baseline",
                annotation_clip=False,
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
    country_labels: bool = True,
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
    fig, ax = _figure_and_axes(ax, MAP_SIZE_IN)
    drawn = NetworkMap(
        results,
        scenario,
        ax,
        labels=labels,
        legend=legend,
        geometry=geometry,
        country_labels=country_labels,
    )
    drawn.show(step)
    return fig
