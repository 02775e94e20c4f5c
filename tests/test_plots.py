"""Every plot function, drawn from small real runs and sweeps, checked for what is on it: axis
labels with units, how many lines, bars or cells, and the values they stand for."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text

import sim
from sim import plots
from sim.results import Results
from sim.scenario import Scenario
from sim.sweep.sensitivity import sobol_indices
from sim.targets import Target, TargetSet, load_target_set

Run = tuple[Scenario, list[Results]]


def only_axes(fig: Figure) -> Axes:
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == 1
    return axes[0]


def line(ax: Axes, label: str) -> Line2D:
    found = [x for x in ax.lines if x.get_label() == label]
    assert len(found) == 1, [x.get_label() for x in ax.lines]
    return found[0]


def by_gid(ax: Axes, gid: str) -> Any:
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def days(values: Sequence[Any]) -> np.ndarray:
    """Dates as matplotlib's day numbers, to compare positions on a date axis."""
    return np.asarray(mdates.date2num(list(values)))


def middle(runs: Sequence[Results], *columns: str) -> np.ndarray:
    """The median of three replicates, by hand: the middle value of each step."""
    values = np.array([sum(r.series()[c] for c in columns) for r in runs])
    assert values.shape[0] == 3
    return np.sort(values, axis=0)[1]


def target(id_: str, outcome: list[str], **fields: Any) -> Target:
    return Target(id=id_, outcome=outcome, source="test", note="made by hand", **fields)


# --------------------------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------------------------


def test_timeseries_draws_median_and_band_of_each_curve(small_january: Run) -> None:
    _, runs = small_january
    ax = only_axes(plots.timeseries(runs, plots.PEOPLE_BY_STATE))
    assert [x.get_label() for x in ax.lines] == [
        "On the road",
        "Held at a border",
        "Held at a blockade",
        "Off the road (dispersed)",
        "In quarantine",
    ]  # the curves' labels (the results schema's), first letter a capital
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(plots.PEOPLE_BY_STATE)
    held = line(ax, "Held at a blockade")
    np.testing.assert_array_equal(held.get_ydata(), middle(runs, "n_held_blockade"))
    np.testing.assert_allclose(days(held.get_xdata()), days(runs[0].times))
    assert ax.get_ylabel() == "People"
    assert ax.get_xlabel() == "Local time (UTC-06:00)"
    assert "median and 90% band of 3 replicates" in ax.get_title()


def test_timeseries_of_one_run_has_no_band(small_january: Run) -> None:
    _, runs = small_january
    ax = only_axes(plots.timeseries(runs[1], plots.HEALTH))
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    tested = line(ax, "Tested")
    np.testing.assert_array_equal(tested.get_ydata(), runs[1].series()["cum_tested"])
    assert "seed 1" in ax.get_title()


def test_dates_are_labelled_in_local_time(small_january: Run) -> None:
    _, runs = small_january
    ax = only_axes(plots.timeseries(runs))
    local_midnight = datetime.fromisoformat("2021-01-15T00:00:00-06:00")
    x = float(days([local_midnight])[0])
    # Shown in UTC, local midnight would read 06:00.
    labels = ax.xaxis.get_major_formatter().format_ticks([x, x + 0.25])
    assert labels == ["Jan-15", "06:00"]


def test_reported_figures_are_overlaid_where_a_curve_is_their_sum(small_january: Run) -> None:
    _, runs = small_january
    by = datetime(2021, 1, 15, 12, 0)  # targets give local wall-clock time
    hand = TargetSet(
        name="hand",
        description="drawn by hand",
        targets=[
            target("departed", ["departed"], observed=400, tolerance={"relative": 0.1}, by=by),
            target(
                "back",
                ["returned_voluntarily", "remitted", "deported_after_quarantine"],
                observed=250,
                tolerance={"range": [200, 300]},
            ),
            target("positives", ["tested_positive"], tolerance={"range": [2, math.inf]}),
            # not a sum of flows, so no curve over time is its value: not drawn
            target("moved", ["moved_on_toward_mexico"], observed=99, tolerance={"relative": 0.1}),
        ],
    )
    ax = only_axes(plots.timeseries(runs, (*plots.CUMULATIVE, *plots.HEALTH), [hand]))
    markers = line(ax, "Reported (hand), with tolerance")
    by_local = by.replace(tzinfo=runs[0].start.tzinfo)
    end = runs[0].times[-1]
    np.testing.assert_allclose(days(markers.get_xdata()), days([by_local, end]))
    assert list(markers.get_ydata()) == [400, 250]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    top = ax.get_ylim()[1]
    expected = [(by_local, 360, 440), (end, 200, 300), (end, 2, top)]
    for segment, (when, lo, hi) in zip(bars.get_segments(), expected, strict=True):
        np.testing.assert_allclose(segment[:, 0], days([when, when]))
        np.testing.assert_allclose(segment[:, 1], [lo, hi], rtol=1e-9)
    solid = [dashes is None for _, dashes in bars.get_linestyles()]
    assert solid == [True, True, False]  # "at least 2" runs off the top, dashed


def test_shipped_reported_figures_on_the_cumulative_panel(small_january: Run) -> None:
    _, runs = small_january
    official = load_target_set("official")
    ax = only_axes(plots.timeseries(runs, plots.CUMULATIVE, [official]))
    markers = line(ax, "Reported (official), with tolerance")
    # departed, entered_guatemala, returned_voluntarily, remitted: the official targets that
    # are one curve's sum and give a figure (reached_mexican_border gives a range only)
    assert list(markers.get_ydata()) == [8000, 7200, 3454, 1503]


def test_compare_series_draws_one_median_per_variant(small_january: Run) -> None:
    _, runs = small_january
    variants = {"as run": runs, "first two": runs[:2]}
    curve = plots.CUMULATIVE[2]
    ax = only_axes(plots.compare_series(variants, curve))
    assert [x.get_label() for x in ax.lines] == ["as run", "first two"]
    np.testing.assert_array_equal(line(ax, "as run").get_ydata(), middle(runs, *curve.columns))
    two = np.array([r.series()[curve.columns[0]] for r in runs[:2]])
    np.testing.assert_array_equal(line(ax, "first two").get_ydata(), two.mean(axis=0))
    assert ax.get_ylabel() == "People"
    assert ax.get_title() == "Returned voluntarily: median and 90% band over replicates"


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


def test_map_sizes_places_and_roads_by_people(small_january: Run) -> None:
    scenario, runs = small_january
    results = runs[0]
    when = datetime.fromisoformat("2021-01-17T12:00:00-06:00")
    ax = only_axes(plots.network_map(results, scenario, when=when))
    step = results.step_at(when)
    assert results.times[step] == when  # hourly steps: the step that ends at noon
    assert ax.get_title() == "january-2021: Sun 17 Jan 2021 12:00"
    present = results.places[step, :, 0]
    held = results.places[step, :, 1]
    area = plots.MAX_PLACE_AREA_PT2 / results.places[:, :, 0].max()
    np.testing.assert_allclose(by_gid(ax, "people").get_sizes(), present * area)
    np.testing.assert_allclose(by_gid(ax, "held").get_sizes(), held * area)
    on_road = results.roads[step]
    assert on_road.sum() > 0
    width = plots.MAX_ROAD_WIDTH_PT / results.roads.max()
    expected = np.where(on_road > 0, plots.MIN_ROAD_WIDTH_PT + on_road * width, 0.0)
    np.testing.assert_allclose(by_gid(ax, "people on roads").get_linewidths(), expected)
    assert ax.get_xlabel() == "Longitude (degrees)"
    assert ax.get_ylabel() == "Latitude (degrees)"


def test_map_marks_crossings_and_authorities_in_force(small_january: Run) -> None:
    scenario, runs = small_january
    during = datetime.fromisoformat(
        "2021-01-17T12:00:00-06:00"
    )  # blockade 16 Jan 19:00-18 Jan 08:00
    ax = only_axes(plots.network_map(runs[0], scenario, when=during))
    crossings = [p for p in scenario.network.places if "border_crossing" in p.kind]
    offsets = by_gid(ax, "border crossings").get_offsets()
    assert len(offsets) == len(crossings)
    assert by_gid(ax, "authority vado_hondo_blockade").get_alpha() == 1.0
    assert by_gid(ax, "authority el_florido_force").get_alpha() == 1.0
    checkpoints = by_gid(ax, "authority highway_checkpoints")
    assert len(checkpoints.get_offsets()) == 12

    after = datetime.fromisoformat("2021-01-19T12:00:00-06:00")
    ax = only_axes(plots.network_map(runs[0], scenario, when=after))
    assert by_gid(ax, "authority vado_hondo_blockade").get_alpha() == plots.INACTIVE_ALPHA
    assert by_gid(ax, "authority highway_checkpoints").get_alpha() == 1.0  # to 29 January
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "people at a place (area)",
        "of whom held",
        "people on a road (width)",
        "border crossing",
        "border force",
        "blockade",
        "checkpoint",
        "health post",
    ]


def test_map_labels_crowded_places_and_counts_everyone(small_january: Run) -> None:
    scenario, runs = small_january
    results = runs[0]
    ax = only_axes(plots.network_map(results, scenario))  # the hour most were held
    at_place, held = results.at_places("n_at_place"), results.at_places("n_held")
    step = int(np.argmax(held.sum(axis=1)))
    assert ax.get_title().endswith(f"{results.times[step]:%a %d %b %Y %H:%M}")
    most = int(np.argmax(held[step]))
    n, h = at_place[step, most], held[step, most]
    assert n >= h > 0
    place = scenario.network.places[most]
    label: Text = by_gid(ax, f"label {place.id}")
    assert label.get_visible()
    held_part = "all" if h == n else f"{h:,}"
    assert label.get_text() == f"{place.name.split(' (')[0]} {n:,} ({held_part} held)"
    empty = results.place_ids.index("guatemala_city")
    assert at_place[step, empty] == 0
    assert not by_gid(ax, "label guatemala_city").get_visible()
    series = results.series()
    shown = {
        c: int(by_gid(ax, f"status {c}").get_text().replace(",", "")) for c in plots.STATUS_CAPTIONS
    }
    assert shown["held"] == series["n_held_border"][step] + series["n_held_blockade"][step]
    assert shown["on the road"] == series["n_moving"][step] + series["n_dispersed"][step]
    assert shown["at the Mexican border"] == series["cum_reached_mexican_border"][step]


def test_place_labels_say_how_many_are_there_and_how_many_held() -> None:
    assert plots.place_label("Vado Hondo", 3343, 0) == "Vado Hondo 3,343"
    assert plots.place_label("Vado Hondo", 3343, 3343) == "Vado Hondo 3,343 (all held)"
    assert plots.place_label("Vado Hondo", 3343, 1200) == "Vado Hondo 3,343 (1,200 held)"


def test_the_scale_bar_is_a_round_length_in_true_degrees_of_longitude() -> None:
    # A fifth of the width at most, as 1, 2 or 5 times a power of ten.
    assert plots.scale_bar_km(596.0) == 100
    assert plots.scale_bar_km(40.0) == 5
    assert plots.scale_bar_km(1000.0) == 200
    assert plots.scale_bar_km(2600.0) == 500
    # 100 km at 60 degrees north: half a degree of latitude's 111.195 km per degree.
    assert plots.degrees_of_longitude(100.0, 60.0) == pytest.approx(100 / 55.5975, rel=1e-5)
    assert plots.degrees_of_longitude(111.195, 0.0) == pytest.approx(1.0, rel=1e-5)


def drawn_map(results: Results, scenario: Scenario, **kwargs: Any) -> tuple[Figure, Axes]:
    """The map at the hour most were held, rendered (so the labels are placed)."""
    fig = plots.network_map(results, scenario, **kwargs)
    FigureCanvasAgg(fig).draw()
    return fig, only_axes(fig)


def marker_circles(ax: Axes) -> np.ndarray:
    """Every marker with a size on the map as a circle in pixels (x, y, radius): people,
    crossings and authorities (a square's corners included)."""
    px_per_pt = ax.figure.dpi / 72
    circles = []
    for artist in ax.collections:
        gid = artist.get_gid() or ""
        if gid in {"people", "border crossings"} or gid.startswith("authority "):
            centres = ax.transData.transform(artist.get_offsets())
            sizes = np.broadcast_to(artist.get_sizes(), len(centres))
            corner = math.sqrt(2) if gid.startswith("authority ") else 1.0
            for (x, y), size in zip(centres, sizes, strict=True):
                if size > 0:
                    circles.append((x, y, math.sqrt(size) / 2 * corner * px_per_pt))
    return np.array(circles)


def overlaps_circle(box: Any, x: float, y: float, r: float) -> bool:
    dx = max(box.x0 - x, 0.0, x - box.x1)
    dy = max(box.y0 - y, 0.0, y - box.y1)
    return dx * dx + dy * dy < r * r


def test_map_labels_cover_no_marker_and_no_other_label(small_january: Run) -> None:
    scenario, runs = small_january
    for results in runs:
        _, ax = drawn_map(results, scenario)
        labels = [
            t
            for t in ax.texts
            if t.get_visible() and (t.get_gid() or "").startswith(("label ", "country "))
        ]
        assert len([t for t in labels if t.get_gid().startswith("label ")]) >= 4
        assert {"GUATEMALA", "HONDURAS"} <= {t.get_text() for t in labels}
        boxes = [t.get_window_extent() for t in labels]
        inside = ax.get_window_extent()
        circles = marker_circles(ax)
        assert len(circles) > 20
        for text, box in zip(labels, boxes, strict=True):
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1, text.get_text()
            assert inside.y0 <= box.y0 and box.y1 <= inside.y1, text.get_text()
            covered = [c for c in circles if overlaps_circle(box, *c)]
            assert not covered, (text.get_text(), covered)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b), [t.get_text() for t in labels]


def test_the_status_box_and_legend_stand_beside_the_map_inside_the_figure(
    small_january: Run,
) -> None:
    scenario, runs = small_january
    fig, ax = drawn_map(runs[0], scenario)
    frame = ax.get_window_extent()
    status = by_gid(ax, "status box").get_bbox_patch().get_window_extent()
    legend = ax.get_legend().get_window_extent()
    for box in (status, legend):
        assert box.x0 > frame.x1  # right of the map: covers none of it
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
    assert legend.y1 < status.y0  # under it
    numbers = [by_gid(ax, f"status {c}").get_window_extent() for c in plots.STATUS_CAPTIONS]
    assert all(status.x0 < n.x1 <= status.x1 for n in numbers)
    title = ax.title.get_window_extent()
    assert fig.bbox.x0 <= title.x0 and title.x1 <= fig.bbox.x1 and title.y1 <= fig.bbox.y1
    reach_in = (status.x1 - frame.x1) / fig.dpi
    assert reach_in <= plots.STATUS_BOX_WIDTH_IN


def test_map_draws_the_borders_a_scale_bar_and_a_north_arrow(small_january: Run) -> None:
    scenario, runs = small_january
    results = runs[0]
    _, ax = drawn_map(results, scenario, country_labels=False)
    countries = by_gid(ax, "country borders")
    departments = by_gid(ax, "department borders")
    assert len(countries.get_segments()) >= 6  # the countries in view, islands included
    assert len(departments.get_segments()) > 40
    assert countries.get_linewidths()[0] > departments.get_linewidths()[0]
    assert not [t for t in ax.texts if (t.get_gid() or "").startswith("country ")]
    bar = by_gid(ax, "scale bar")
    assert bar.txt_label.get_text() == "100 km"  # the map is about 600 km wide
    (rectangle,) = bar.size_bar.get_children()
    mean_lat = float(np.mean([p.lat for p in scenario.network.places]))
    one_degree_km = 111.19508 * math.cos(math.radians(mean_lat))
    assert rectangle.get_width() == pytest.approx(100 / one_degree_km, rel=1e-5)
    arrow = by_gid(ax, "north arrow")
    assert arrow.xy[0] == arrow.xyann[0] and arrow.xy[1] > arrow.xyann[1]  # straight up


def test_map_refuses_another_scenario_and_two_times(small_january: Run, micro: Scenario) -> None:
    scenario, runs = small_january
    with pytest.raises(ValueError, match="not of scenario 'micro'"):
        plots.network_map(runs[0], micro)
    with pytest.raises(ValueError, match="give a step or a time, not both"):
        plots.network_map(runs[0], scenario, step=3, when=runs[0].times[3])
    with pytest.raises(ValueError, match=r"step 999 is outside the run \(0 to 173\)"):
        plots.network_map(runs[0], scenario, step=999)


@pytest.fixture
def micro(make_scenario: Any) -> Scenario:
    scenario: Scenario = make_scenario()
    return scenario


# --------------------------------------------------------------------------------------------
# Outcomes against the reported figures
# --------------------------------------------------------------------------------------------


def test_outcomes_beside_both_target_sets(small_january: Run) -> None:
    _, runs = small_january
    sets = sim.load_compared_sets()
    fig = plots.outcomes_vs_targets(runs, sets, place_names={"el_florido_border": "El Florido"})
    assert len(fig.axes) == 2
    # stacked, each panel as tall as its rows: no empty rows
    heights = [ax.get_position().height for ax in fig.axes]
    rows = [len(s.targets) for s in sets]
    assert heights[0] / heights[1] == pytest.approx(rows[0] / rows[1], rel=0.1)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "Departed",
        "Back in Honduras (returned, remitted or deported)",
        "Moved on toward Mexico",
        "Tested positive",
    ]
    official = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert official[0] == "Departed, by 18 Jan 23:59"
    assert official[2] == "Entered Guatemala at El Florido"
    assert official[3] == "Entered Guatemala at Corinto HN"  # no name given: the id in words
    assert official[5] == "Returned or remitted"
    assert fig.axes[0].get_xlabel() == ""  # one axis label, under the last panel
    assert fig.axes[1].get_xlabel() == "People (log scale)"
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()
    (legend,) = fig.legends  # one legend for both panels
    assert [t.get_text() for t in legend.get_texts()] == [
        "Model: median and 90% interval of 3 runs",
        "Reported figure (grey: its tolerance)",
    ]
    for ax, target_set in zip(fig.axes, sets, strict=True):
        assert ax.get_title() == f"Target set '{target_set.name}'"
        assert ax.get_xscale() == "symlog"
        reported = line(ax, "Reported figure (grey: its tolerance)")
        observed = [(t.observed, row) for row, t in enumerate(target_set.targets) if t.observed]
        assert list(zip(reported.get_xdata(), reported.get_ydata(), strict=True)) == observed
        model = line(ax, "Model: median and 90% interval of 3 runs")
        by_hand = [
            np.sort([sum(r.outcomes[k] for k in t.outcome) for r in runs])[1]
            for t in target_set.targets
        ]
        assert list(model.get_xdata()) == by_hand
    returned = sets[0].targets[1]
    assert returned.outcome == ["returned_voluntarily", "remitted", "deported_after_quarantine"]


def test_a_target_the_run_lacks_is_marked(small_january: Run) -> None:
    scenario, _ = small_january
    open_road = sim.run(sim.without_authorities(scenario, ["vado_hondo_blockade"]), seed=0)
    official = load_target_set("official")
    ax = only_axes(plots.target_comparison(open_road, official))
    missing = [t for t in ax.texts if t.get_text() == " not in this run"]
    row = [t.id for t in official.targets].index("held_at_vado_hondo_peak")
    assert [t.get_position()[1] for t in missing] == [row]
    model = line(ax, "Model: median and 90% interval of 1 run")
    assert row not in list(model.get_ydata())


def test_reported_span_by_kind_of_tolerance() -> None:
    hand = TargetSet(
        name="hand",
        description="spans",
        targets=[
            target("a", ["departed"], observed=100, tolerance={"relative": 0.1}),
            target("b", ["remitted"], tolerance={"range": [0, 200]}),
            target("tested", ["tested"], observed=104, tolerance={"relative": 0.1}),
            target("pos", ["tested_positive"], observed=21, tolerance={"binomial_of": "tested"}),
            target("count", ["tested_positive"], observed=25, tolerance={"poisson": True}),
        ],
    )
    a, b, _, pos, count = hand.targets
    assert plots.reported_span(a, hand) == pytest.approx((90.0, 110.0))
    assert plots.reported_span(b, hand) == (0.0, 200.0)
    # 21 of 104: mean 21, sd sqrt(104 p (1 - p)) = 4.1, so about 21 -/+ 1.645 sd = 14.3 to 27.7
    assert plots.reported_span(pos, hand) == (14.0, 28.0)
    # a Poisson count of 25: 25 -/+ 1.645 x 5
    assert plots.reported_span(count, hand) == pytest.approx((25 - 8.224, 25 + 8.224), abs=1e-3)


def test_paired_differences_are_seed_by_seed(small_january: Run) -> None:
    scenario, runs = small_january
    no_checkpoints = sim.without_authorities(scenario, ["highway_checkpoints"])
    variants = {
        "as run": runs,
        "no checkpoints": [sim.run(no_checkpoints, seed=r.seed, threads=False) for r in runs],
    }
    outcomes = ["remitted", "moved_on_toward_mexico"]
    ax = only_axes(plots.paired_differences(variants, "as run", outcomes))
    dots = line(ax, "no checkpoints")
    for row, outcome in enumerate(outcomes):
        diffs = [
            v.outcomes[outcome] - b.outcomes[outcome]
            for v, b in zip(variants["no checkpoints"], runs, strict=True)
        ]
        assert dots.get_xdata()[row] == np.sort(diffs)[1]
    assert dots.get_xdata()[0] == -np.sort([r.outcomes["remitted"] for r in runs])[1]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Remitted (intercepted)",
        "Moved on toward Mexico",
    ]
    assert ax.get_xlabel().startswith("Difference from 'as run' (people; symmetric log scale")
    assert ax.get_xscale() == "symlog"


def test_paired_differences_need_the_same_seeds(small_january: Run) -> None:
    _, runs = small_january
    with pytest.raises(ValueError, match=r"variant 'b' ran seeds \[1, 2\], 'a' \[0, 1, 2\]"):
        plots.paired_differences({"a": runs, "b": runs[1:]}, "a", ["remitted"])
    with pytest.raises(ValueError, match="no variant named 'c'; variants: a, b"):
        plots.paired_differences({"a": runs, "b": runs}, "c", ["remitted"])


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------


def test_heatmap_cells_are_medians_over_runs(grid_sweep_dir: Path) -> None:
    runs = sim.load_sweep(grid_sweep_dir)
    fig = plots.sweep_heatmap(runs, "slip_chance_per_h", "blockade_duration_h", "remitted")
    ax = only_axes(fig)
    (image,) = [c for c in ax.get_children() if isinstance(c, AxesImage)]
    grid = image.get_array()
    assert grid.shape == (2, 3)  # durations x slip chances
    for j, hours in enumerate((12, 72)):
        for i, slip in enumerate((0.001, 0.01, 0.1)):
            cell = runs[
                (runs["slip_chance_per_h"] == slip) & (runs["blockade_duration_h"] == hours)
            ]
            assert len(cell) == 2  # the two replicates
            assert grid[j, i] == cell["remitted"].median()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.001", "0.01", "0.1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["12", "72"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Slip chance (per hour)", "Blockade duration (h)")
    assert ax.get_title() == "Remitted (intercepted)"
    assert len([t for t in ax.texts if t.get_text()]) == 6  # each cell's value written in it
    colorbar = next(a for a in fig.axes if a is not ax)
    assert colorbar.get_ylabel() == "People (median over runs)"


def test_heatmap_bins_a_continuous_parameter(sobol_sweep_dir: Path) -> None:
    runs = sim.load_sweep(sobol_sweep_dir)
    assert runs["walking_speed_kmh"].nunique() > plots.MAX_LEVELS
    fig = plots.sweep_heatmap(runs, "walking_speed_kmh", "intercept_chance", "remitted")
    (image,) = [c for c in only_axes(fig).get_children() if isinstance(c, AxesImage)]
    assert image.get_array().shape == (plots.BINS, plots.BINS)


def test_sweep_line_per_outcome_and_by_another_parameter(grid_sweep_dir: Path) -> None:
    runs = sim.load_sweep(grid_sweep_dir)
    outcomes = ["remitted", "returned_voluntarily"]
    ax = only_axes(plots.sweep_line(runs, "slip_chance_per_h", outcomes))
    assert [x.get_label() for x in ax.lines] == ["Remitted (intercepted)", "Returned voluntarily"]
    assert ax.get_xscale() == "log"  # 0.001 to 0.1
    remitted = line(ax, "Remitted (intercepted)")
    assert list(remitted.get_xdata()) == [0.001, 0.01, 0.1]
    expected = [
        runs[runs["slip_chance_per_h"] == s]["remitted"].median() for s in (0.001, 0.01, 0.1)
    ]
    assert list(remitted.get_ydata()) == expected
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Slip chance (per hour)", "People")

    ax = only_axes(
        plots.sweep_line(runs, "slip_chance_per_h", "remitted", by="blockade_duration_h")
    )
    labels = ["12", "72"]
    assert [x.get_label() for x in ax.lines] == labels
    assert ax.get_legend().get_title().get_text() == "Blockade duration (h)"
    at_72 = runs[runs["blockade_duration_h"] == 72]
    expected = [
        at_72[at_72["slip_chance_per_h"] == s]["remitted"].median() for s in (0.001, 0.01, 0.1)
    ]
    assert list(line(ax, labels[1]).get_ydata()) == expected


def test_sweep_plots_name_missing_columns(grid_sweep_dir: Path) -> None:
    runs = sim.load_sweep(grid_sweep_dir)
    with pytest.raises(ValueError, match="no column speed in the sweep; columns: run_id, "):
        plots.sweep_line(runs, "speed", ["remitted"])
    with pytest.raises(ValueError, match="with by='slip_chance_per_h', give one outcome, not 2"):
        plots.sweep_line(
            runs, "blockade_duration_h", ["remitted", "tested"], by="slip_chance_per_h"
        )


def test_sobol_bars_show_both_indices_of_each_parameter(sobol_sweep_dir: Path) -> None:
    indices = sobol_indices(sobol_sweep_dir).first
    ax = only_axes(plots.sobol_bars(indices, "remitted"))
    bars = list(ax.patches)
    assert len(bars) == 4  # S1 and ST of two parameters
    rows = indices[indices["outcome"] == "remitted"]
    heights = [b.get_height() for b in bars]
    assert heights == pytest.approx([*rows["S1"], *rows["ST"]])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Walking speed (km/h)",
        "Intercept chance (probability)",
    ]
    assert ax.get_ylabel() == "Sobol' index (share of variance)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["First order (S1)", "Total (ST)"]
    with pytest.raises(ValueError, match="no indices for outcome 'nothing'; outcomes: "):
        plots.sobol_bars(indices, "nothing")


def test_plots_draw_on_the_axes_they_are_given(small_january: Run) -> None:
    scenario, runs = small_january
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plots.timeseries(runs, ax=left) is fig
    assert plots.network_map(runs[0], scenario, ax=right) is fig
    assert len(fig.axes) == 2
    assert left.lines and right.collections


def test_no_figure_is_made_through_pyplot(small_january: Run) -> None:
    import matplotlib.pyplot as plt

    _, runs = small_january
    before = plt.get_fignums()
    plots.timeseries(runs)
    assert plt.get_fignums() == before  # nothing for a notebook to show twice, or leak


def test_a_run_directory_of_0_1_is_drawn_without_the_counters_added_since() -> None:
    from sim import figures

    run_0_1 = Path(__file__).resolve().parent / "baseline" / "run-0.1"
    drawn = figures.directory_figures(run_0_1).figures["timeseries.png"]
    labels = {line.get_label() for ax in drawn.axes for line in ax.get_lines()}
    assert "Returned voluntarily" in labels
    assert "Returned after entering Guatemala" not in labels
    now = sim.run(sim.load_run(run_0_1).scenario, seed=0)
    assert "cum_returned_after_entering" in now.series()  # a run of today has it
