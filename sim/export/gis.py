"""A run as a GeoPackage for QGIS and other GIS (`caravan export gis`), and a scenario's road
network as GeoJSON (`caravan export geojson`).

The GeoPackage (longitude and latitude on WGS 84, EPSG:4326) has six layers:

    places         points: every place of the network with its attributes, and the run's
                   totals there (the most people at the place and held there at the end of any
                   step, the people who entered Guatemala or returned there)
    roads          lines from place to place: length, highway, how the length was obtained,
                   the authorities that close the road, the most people on it at once
    place_counts   points: the counts at each place in each period (an hour, or a day)
    road_counts    lines: the people on each road at the end of each period
    authorities    points: each authority at each place where it acts, with its kind, its
                   window (start and end times), its size (force, vehicle capacity) and its
                   other settings as JSON
    borders        multipolygons: the country and department borders the maps draw
                   (`sim.borders`: level, country code and name, department)

A GeoPackage layer holds one kind of geometry, so the counts are two layers, one of points and
one of lines. Each count row has `start_time` and `end_time`, datetime fields for QGIS's
temporal controller ("separate fields for start and end date/time"); flows (`people_entered_*`,
`people_returned_*`) count the people of the whole period, stocks the people at its end.
GeoPackage stores datetimes in UTC, so a scenario whose clock has a UTC offset gets its times
converted to UTC there (the same instants), and its local clock beside them as text
(`local_start_time`, e.g. `2021-01-13T19:00:00-06:00`); a scenario without an offset keeps
its wall clock, with no zone.

Writing the GeoPackage needs pyogrio and shapely (`pip install 'caravan-sim[gis]'`); the
GeoJSON needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sim import package_version
from sim.borders import borders
from sim.errors import CaravanError, OutputExistsError
from sim.results_schema import Counter
from sim.scenario import Scenario, entry_crossings_of

if TYPE_CHECKING:
    from sim.results import Results
    from sim.rundir import SavedRun

Every = Literal["hour", "day"]
EVERY: tuple[Every, ...] = ("hour", "day")
GIS_EXTRA = "pip install 'caravan-sim[gis]'"
CRS = "EPSG:4326"
MIN_GDAL = (3, 8, 0)  # pyogrio writes Arrow tables from GDAL 3.8 on
LAYERS = ("places", "roads", "place_counts", "road_counts", "authorities")
ON_ROAD = "people_on_road"
# Settings that say how big an authority is, by the key of its scenario entry.
SIZE_FIELDS = {"force": "force_people", "capacity_per_h": "capacity_people_per_h"}
_PLACE_KEYS = {"kind", "active", "place", "places"}  # fields of their own in `authorities`


@dataclass(frozen=True)
class Layer:
    """One layer to write: its rows (with a WKB `geometry` column), geometry type, meaning."""

    name: str
    table: pa.Table
    geometry_type: Literal["Point", "LineString", "MultiPolygon"]
    description: str


# --------------------------------------------------------------------------------------------
# The network: rows shared by the GeoPackage and the GeoJSON
# --------------------------------------------------------------------------------------------


def place_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """One row per place: its network attributes and its role in the scenario."""
    entries = set(entry_crossings_of(scenario.network.places))
    origins = set(scenario.population.origins())
    destinations = set(scenario.route_choice.destinations)
    return [
        {
            "place_id": p.id,
            "place_name": p.name or p.id,
            "country_code": p.country,
            "place_kinds": ", ".join(p.kind),
            "departure_origin": p.id in origins,
            "crossing_into_guatemala": p.id in entries,
            "destination": p.id in destinations,
            "longitude_deg": p.lon,
            "latitude_deg": p.lat,
            "coordinate_uncertainty_km": p.coord_uncertainty_km,
            "coordinate_source": p.coord_source,
        }
        for p in scenario.network.places
    ]


def road_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """One row per road: its ends, length and sources, and the authorities that close it."""
    names = {p.id: p.name or p.id for p in scenario.network.places}
    closed_by: dict[frozenset[str], list[str]] = {}
    for authority, spec in scenario.authorities.items():
        for _, ends in spec.named_roads():
            closed_by.setdefault(frozenset(ends), []).append(authority)
    return [
        {
            "road_index": i,
            "from_place_id": road.between[0],
            "to_place_id": road.between[1],
            "from_place_name": names[road.between[0]],
            "to_place_name": names[road.between[1]],
            "length_km": road.length_km,
            "length_uncertainty_km": road.uncertainty_km,
            "highway": road.highway,
            "length_method": road.method,
            "length_source": road.source,
            "closed_by_authorities": ", ".join(closed_by.get(frozenset(road.between), [])),
        }
        for i, road in enumerate(scenario.network.roads)
    ]


def _road_coordinates(scenario: Scenario) -> list[list[list[float]]]:
    """Each road as [[lon, lat], [lon, lat]] from its first place to its second."""
    at = {p.id: [p.lon, p.lat] for p in scenario.network.places}
    return [[at[road.between[0]], at[road.between[1]]] for road in scenario.network.roads]


def network_geojson(scenario: Scenario) -> dict[str, Any]:
    """The network as one GeoJSON FeatureCollection (RFC 7946: [longitude, latitude] on
    WGS 84): a Point per place, then a LineString per road, with `place_rows` and `road_rows`
    as properties (`feature` tells which)."""
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [row["longitude_deg"], row["latitude_deg"]],
            },
            "properties": {"feature": "place", **row},
        }
        for row in place_rows(scenario)
    ]
    features += [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": line},
            "properties": {"feature": "road", **row},
        }
        for row, line in zip(road_rows(scenario), _road_coordinates(scenario), strict=True)
    ]
    return {"type": "FeatureCollection", "scenario": scenario.name, "features": features}


def write_geojson(scenario: Scenario, out: Path, overwrite: bool) -> None:
    """Write `network_geojson` to `out` whole (refusing an existing file unless `overwrite`)."""
    refuse_existing(out, overwrite)
    text = json.dumps(network_geojson(scenario), indent=1, ensure_ascii=False) + "\n"
    replace_atomically(out, lambda path: path.write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Periods and counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Periods:
    """The run's steps grouped into hours or days of the scenario's clock (by when each step
    starts): the first and last step of each period, 0-based, and its start and end times."""

    first_step: npt.NDArray[np.intp]
    last_step: npt.NDArray[np.intp]
    start: list[datetime]
    end: list[datetime]

    def __len__(self) -> int:
        return len(self.start)

    def aggregate(self, values: npt.NDArray[np.int64], kind: str) -> npt.NDArray[np.int64]:
        """Per-step values ([step, ...]) per period: flows summed over the period's steps,
        stocks as they were at its end."""
        if kind == "flow":
            summed: npt.NDArray[np.int64] = np.add.reduceat(values, self.first_step, axis=0)
            return summed
        return values[self.last_step]


def periods(start: datetime, step_h: float, n_steps: int, every: Every) -> Periods:
    """The steps of a run starting at `start` grouped by the hour or day in which they start."""
    step_starts = [start + timedelta(hours=s * step_h) for s in range(n_steps)]
    keys = [_period_key(t, every) for t in step_starts]
    first = [s for s in range(n_steps) if s == 0 or keys[s] != keys[s - 1]]
    last = [s - 1 for s in first[1:]] + [n_steps - 1]
    return Periods(
        first_step=np.array(first, dtype=np.intp),
        last_step=np.array(last, dtype=np.intp),
        start=[step_starts[s] for s in first],
        end=[step_starts[s] + timedelta(hours=step_h) for s in last],
    )


def _period_key(when: datetime, every: Every) -> date:
    if every == "day":
        return when.date()
    return when.replace(minute=0, second=0, microsecond=0)


def count_field(c: Counter) -> str:
    """A per-place counter's field name in words, its unit first: `people_held`."""
    return f"{c.unit}_{_words(c.label)}"


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _time_columns(times: Sequence[datetime], prefix: str, aware: bool) -> dict[str, pa.Array]:
    """`<prefix>_time` as a datetime and, where the scenario's clock has a UTC offset
    (`aware`), in UTC, with `local_<prefix>_time` beside it as text in the scenario's clock."""
    if not aware:
        return {f"{prefix}_time": pa.array(list(times), type=pa.timestamp("s"))}
    return {
        f"{prefix}_time": pa.array(
            [t.astimezone(UTC) for t in times], type=pa.timestamp("s", "UTC")
        ),
        f"local_{prefix}_time": pa.array([t.isoformat() for t in times], type=pa.string()),
    }


def _period_columns(p: Periods, step_h: float, repeat: int) -> dict[str, pa.Array]:
    """The columns that say when a count row is: each period's repeated `repeat` times."""
    aware = p.start[0].tzinfo is not None
    columns = {
        **_time_columns(p.start, "start", aware),
        **_time_columns(p.end, "end", aware),
        "elapsed_h": pa.array((p.last_step + 1) * step_h, type=pa.float64()),
        "first_step": pa.array(p.first_step + 1, type=pa.int32()),
        "last_step": pa.array(p.last_step + 1, type=pa.int32()),
    }
    index = np.repeat(np.arange(len(p)), repeat)
    return {name: column.take(pa.array(index)) for name, column in columns.items()}


def place_counts_table(scenario: Scenario, results: Results, p: Periods) -> pa.Table:
    """One row per period and place (periods first), with every per-place counter the run has."""
    n_places = len(results.place_ids)
    names = [row["place_name"] for row in place_rows(scenario)]
    columns: dict[str, Any] = {
        "place_id": pa.array(list(results.place_ids) * len(p), type=pa.string()),
        "place_name": pa.array(names * len(p), type=pa.string()),
        **_period_columns(p, results.step_h, n_places),
    }
    for c in results.layout.place_counters:
        values = p.aggregate(results.at_places(c.column), c.kind)
        columns[count_field(c)] = pa.array(values.ravel(), type=pa.int64())
    columns["geometry"] = _points(results.place_lon, results.place_lat) * len(p)
    return pa.table(columns)


def road_counts_table(scenario: Scenario, results: Results, p: Periods) -> pa.Table:
    """One row per period and road (periods first): the people on the road at its end."""
    n_roads = len(results.road_ends)
    ends = results.road_ends
    columns: dict[str, Any] = {
        "road_index": pa.array(list(range(n_roads)) * len(p), type=pa.int32()),
        "from_place_id": pa.array([a for a, _ in ends] * len(p), type=pa.string()),
        "to_place_id": pa.array([b for _, b in ends] * len(p), type=pa.string()),
        **_period_columns(p, results.step_h, n_roads),
        ON_ROAD: pa.array(p.aggregate(results.roads, "stock").ravel(), type=pa.int64()),
        "geometry": _lines(_road_coordinates(scenario)) * len(p),
    }
    return pa.table(columns)


# --------------------------------------------------------------------------------------------
# Places, roads and authorities with the run's totals
# --------------------------------------------------------------------------------------------


def places_table(scenario: Scenario, results: Results) -> pa.Table:
    """`place_rows`, and per counter: the most at the place at the end of any step (stocks) or
    everyone it counted over the run (flows)."""
    table = pa.Table.from_pylist(place_rows(scenario))
    for c in results.layout.place_counters:
        values = results.at_places(c.column)
        total = values.max(axis=0) if c.kind == "stock" else values.sum(axis=0)
        name = f"{'most' if c.kind == 'stock' else 'total'}_{count_field(c)}"
        table = table.append_column(name, pa.array(total, type=pa.int64()))
    return table.append_column("geometry", pa.array(_points(results.place_lon, results.place_lat)))


def roads_table(scenario: Scenario, results: Results) -> pa.Table:
    """`road_rows`, and the most people on each road at the end of any step."""
    table = pa.Table.from_pylist(road_rows(scenario))
    most = results.roads.max(axis=0)
    table = table.append_column(f"most_{ON_ROAD}", pa.array(most, type=pa.int64()))
    return table.append_column("geometry", pa.array(_lines(_road_coordinates(scenario))))


def borders_table() -> pa.Table:
    """The shipped country and department borders (`sim.borders`), countries first: the
    outlines the package's maps draw, so a GIS map of the run has them without a download."""
    shapely = _shapely()
    shipped = borders()
    rows = [*shipped.countries, *shipped.departments]
    outlines = [shapely.multipolygons([shapely.polygons(ring) for ring in b.rings]) for b in rows]
    return pa.table(
        {
            "level": pa.array([b.level for b in rows]),
            "country_code": pa.array([b.country for b in rows]),
            "country": pa.array([b.name for b in rows]),
            "department": pa.array([b.department for b in rows], type=pa.string()),
            "geometry": pa.array(list(shapely.to_wkb(outlines))),
        }
    )


def authorities_table(scenario: Scenario) -> pa.Table:
    """One row per authority and place where it acts (both ends of a road it closes): kind,
    window, size, and the entry's other settings as JSON (null: taken from `behaviour`)."""
    at = {p.id: p for p in scenario.network.places}
    rows: list[dict[str, Any]] = []
    starts: list[datetime] = []
    ends: list[datetime] = []
    for name, spec in scenario.authorities.items():
        settings = spec.model_dump(mode="json", exclude=_PLACE_KEYS)
        for place in dict.fromkeys(spec.place_ids()):
            rows.append(
                {
                    "authority_name": name,
                    "authority_kind": spec.kind,
                    "place_id": place,
                    "place_name": at[place].name or place,
                    **{field: getattr(spec, key, None) for key, field in SIZE_FIELDS.items()},
                    "settings_json": json.dumps(settings, sort_keys=True),
                }
            )
            starts.append(spec.active.start)
            ends.append(spec.active.end)
    schema = pa.schema(
        [
            ("authority_name", pa.string()),
            ("authority_kind", pa.string()),
            ("place_id", pa.string()),
            ("place_name", pa.string()),
            ("force_people", pa.int64()),
            ("capacity_people_per_h", pa.float64()),
            ("settings_json", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    aware = scenario.time.start.tzinfo is not None  # and so every time of the scenario
    windows = {
        **_time_columns(starts, "window_start", aware),
        **_time_columns(ends, "window_end", aware),
    }
    for column, values in windows.items():
        table = table.append_column(column, values)
    places = [at[row["place_id"]] for row in rows]
    lon = np.array([p.lon for p in places], dtype=np.float64)
    lat = np.array([p.lat for p in places], dtype=np.float64)
    return table.append_column("geometry", pa.array(_points(lon, lat), type=pa.binary()))


# --------------------------------------------------------------------------------------------
# Geometries and writing
# --------------------------------------------------------------------------------------------


# pyogrio and shapely are an optional extra (caravan-sim[gis]): imported when used.


def _pyogrio() -> Any:
    import pyogrio  # noqa: PLC0415

    return pyogrio


def _shapely() -> Any:
    import shapely  # noqa: PLC0415

    return shapely


def _points(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> list[bytes]:
    shapely = _shapely()
    return list(shapely.to_wkb(shapely.points(lon, lat)))


def _lines(coordinates: list[list[list[float]]]) -> list[bytes]:
    shapely = _shapely()
    return list(shapely.to_wkb(shapely.linestrings(coordinates)))


def require_gis() -> None:
    """Raise CaravanError, saying how to install them, unless pyogrio (with GDAL 3.8 or newer)
    and shapely can be imported."""
    try:
        pyogrio = _pyogrio()
        _shapely()
    except ImportError as exc:
        raise CaravanError(
            f"caravan export gis needs pyogrio and shapely ({exc.name} is not installed); "
            f"install them with: {GIS_EXTRA}"
        ) from exc
    gdal = tuple(pyogrio.__gdal_version__)
    if gdal < MIN_GDAL:
        raise CaravanError(
            f"caravan export gis needs GDAL {'.'.join(map(str, MIN_GDAL))} or newer; pyogrio "
            f"uses GDAL {pyogrio.__gdal_version_string__}; install its wheel with: {GIS_EXTRA}"
        )


def gis_layers(saved: SavedRun, replicate: int, every: Every) -> list[Layer]:
    """The GeoPackage's layers for one replicate of a run directory."""
    scenario = saved.scenario
    results = saved.replicates[replicate]
    p = periods(scenario.time.start, results.step_h, results.n_steps, every)
    per = "hour" if every == "hour" else "day"
    return [
        Layer(
            "places",
            places_table(scenario, results),
            "Point",
            "The network's places: attributes, and the run's most people at the place and "
            "held there at the end of any step, and everyone who entered Guatemala or returned "
            "there.",
        ),
        Layer(
            "roads",
            roads_table(scenario, results),
            "LineString",
            "The network's roads: length, sources, closing authorities, the most people on "
            "the road at the end of any step.",
        ),
        Layer(
            "place_counts",
            place_counts_table(scenario, results, p),
            "Point",
            f"Counts at each place per {per} (start_time to end_time, for QGIS's temporal "
            "controller): people at the place, held, waiting for transport at the end of the "
            f"{per}; people who entered Guatemala or returned here during it.",
        ),
        Layer(
            "road_counts",
            road_counts_table(scenario, results, p),
            "LineString",
            f"People on each road at the end of each {per} (start_time to end_time).",
        ),
        Layer(
            "authorities",
            authorities_table(scenario),
            "Point",
            "Each authority at each place where it acts: kind, window, size, settings.",
        ),
        Layer(
            "borders",
            borders_table(),
            "MultiPolygon",
            f"Country and department borders ({borders().source}), simplified as the "
            "package's maps draw them.",
        ),
    ]


def write_geopackage(
    saved: SavedRun, out: Path, replicate: int, every: Every, overwrite: bool
) -> list[Layer]:
    """Write `gis_layers` to the GeoPackage `out`, whole: into a file beside it, renamed into
    place at the end. Refuses an existing `out` unless `overwrite`. Returns the layers."""
    require_gis()
    pyogrio = _pyogrio()
    refuse_existing(out, overwrite)
    layers = gis_layers(saved, replicate, every)
    results = saved.replicates[replicate]
    about = {
        "scenario": saved.scenario.name,
        "run_directory": str(saved.path),
        "replicate": str(replicate),
        "seed": str(results.seed),
        "caravan_sim_version": package_version(),
        "counts_every": every,
        "scenario_start": saved.scenario.time.start.isoformat(),
    }

    def write(path: Path) -> None:
        for k, layer in enumerate(layers):
            pyogrio.write_arrow(
                layer.table,
                str(path),
                layer=layer.name,
                driver="GPKG",
                geometry_name="geometry",
                geometry_type=layer.geometry_type,
                crs=CRS,
                dataset_metadata=about if k == 0 else None,
                layer_metadata={"description": layer.description},
            )

    replace_atomically(out, write)
    return layers


def refuse_existing(out: Path, overwrite: bool) -> None:
    """Refuse to write over a file unless told to, and a directory in any case."""
    if out.is_dir():
        raise CaravanError(f"--out {out}: is a directory; give a file name")
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"{out}: already exists; choose another --out, or pass --overwrite to replace it"
        )


def replace_atomically(out: Path, write: Callable[[Path], object]) -> None:
    """Let `write` fill a file beside `out`, then rename it to `out`: a reader never sees a
    half-written file, and a failed write leaves `out` as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}{out.suffix}")
    partial.unlink(missing_ok=True)
    try:
        write(partial)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
