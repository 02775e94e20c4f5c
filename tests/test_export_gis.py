"""`caravan export gis` and `caravan export geojson`: the GeoPackage of a January 2021 run read
back with pyogrio (layers, fields, row counts, datetimes, counts that add up to the run's
totals), the grouping of steps into hours and days by hand, the network as GeoJSON against the
network file, and the commands' input errors."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from pyogrio import raw

from sim.borders import borders
from sim.cli import main
from sim.export import gis
from sim.model import run
from sim.rundir import write_run

EXIT_INPUT_ERROR = 2
CST = timezone(timedelta(hours=-6))
NETWORK_FILE = (
    Path(__file__).resolve().parent.parent / "scenarios" / "networks" / "central-america.yaml"
)
# By hand from the network file and scenarios/january-2021-base.yaml: 43 places, 47 roads;
# authorities: three border forces and a blockade at one place each, checkpoints at 12 places,
# health posts at 6: 22 rows. 174 hourly steps from 13 January 18:00 to 21 January 00:00,
# which start on 8 days (13 to 20 January).
N_PLACES, N_ROADS, N_AUTHORITY_PLACES, N_STEPS, N_DAYS = 43, 47, 22, 174, 8
N_BORDERS = 6 + 58  # countries, and departments or states (sim/data/borders/README.md)
PERIOD_FIELDS = [
    "start_time",
    "local_start_time",
    "end_time",
    "local_end_time",
    "elapsed_h",
    "first_step",
    "last_step",
]
PLACE_COUNTS = [
    "people_at_the_place",
    "people_held",
    "people_entered_guatemala_here",
    "people_returned_here",
]
FIELDS = {
    "places": [
        "place_id",
        "place_name",
        "country_code",
        "place_kinds",
        "departure_origin",
        "crossing_into_guatemala",
        "destination",
        "longitude_deg",
        "latitude_deg",
        "coordinate_uncertainty_km",
        "coordinate_source",
        "most_people_at_the_place",
        "most_people_held",
        "total_people_entered_guatemala_here",
        "total_people_returned_here",
    ],
    "roads": [
        "road_index",
        "from_place_id",
        "to_place_id",
        "from_place_name",
        "to_place_name",
        "length_km",
        "length_uncertainty_km",
        "highway",
        "length_method",
        "length_source",
        "closed_by_authorities",
        "most_people_on_road",
    ],
    "place_counts": ["place_id", "place_name", *PERIOD_FIELDS, *PLACE_COUNTS],
    "road_counts": ["road_index", "from_place_id", "to_place_id", *PERIOD_FIELDS, "people_on_road"],
    "authorities": [
        "authority_name",
        "authority_kind",
        "place_id",
        "place_name",
        "force_people",
        "capacity_people_per_h",
        "settings_json",
        "window_start_time",
        "local_window_start_time",
        "window_end_time",
        "local_window_end_time",
    ],
    "borders": ["level", "country_code", "country", "department"],
}


def caravan(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out.replace("\n", ""), err.replace("\n", " ").strip()


def read_layer(path: Path, layer: str) -> pd.DataFrame:
    """A layer's fields (datetimes as GDAL writes them: text) and its geometry as shapely."""
    meta, _, geometry, values = raw.read(path, layer=layer, datetime_as_string=True)
    frame = pd.DataFrame(dict(zip(meta["fields"], values, strict=True)))
    frame["geometry"] = shapely.from_wkb(geometry)
    return frame


@pytest.fixture(scope="module")
def gpkg(small_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Replicate 1 of the small January 2021 run, counts per hour and per day."""
    out = tmp_path_factory.mktemp("gis")
    paths = {every: out / f"january-{every}.gpkg" for every in gis.EVERY}
    for every, path in paths.items():
        args = ["export", "gis", small_run_dir, "--out", path, "--every", every]
        assert main([str(a) for a in [*args, "--replicate", "1"]]) == 0
    return paths


@pytest.fixture(scope="module")
def summary(small_run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((small_run_dir / "summary.json").read_text())
    return data


def test_layers_fields_and_row_counts(gpkg: dict[str, Path]) -> None:
    path = gpkg["hour"]
    assert pyogrio.list_layers(path).tolist() == [
        ["places", "Point"],
        ["roads", "LineString"],
        ["place_counts", "Point"],
        ["road_counts", "LineString"],
        ["authorities", "Point"],
        ["borders", "MultiPolygon"],
    ]
    rows = {
        "places": N_PLACES,
        "roads": N_ROADS,
        "place_counts": N_PLACES * N_STEPS,
        "road_counts": N_ROADS * N_STEPS,
        "authorities": N_AUTHORITY_PLACES,
        "borders": N_BORDERS,
    }
    for layer, fields in FIELDS.items():
        info = pyogrio.read_info(path, layer=layer)
        assert info["fields"].tolist() == fields, layer
        assert info["features"] == rows[layer], layer
        assert info["crs"] == "EPSG:4326"
    daily = {layer: pyogrio.read_info(gpkg["day"], layer=layer)["features"] for layer in rows}
    assert daily == rows | {"place_counts": N_PLACES * N_DAYS, "road_counts": N_ROADS * N_DAYS}
    assert pyogrio.read_info(path, layer="places")["dataset_metadata"]["replicate"] == "1"


def test_places_and_roads_are_the_network_files(gpkg: dict[str, Path]) -> None:
    network = yaml.safe_load(NETWORK_FILE.read_text(encoding="utf-8"))
    places = read_layer(gpkg["hour"], "places")
    assert places["place_id"].tolist() == [p["id"] for p in network["places"]]
    assert [(g.x, g.y) for g in places["geometry"]] == [
        (p["lon"], p["lat"]) for p in network["places"]
    ]
    assert places["country_code"].tolist() == [p["country"] for p in network["places"]]
    roads = read_layer(gpkg["hour"], "roads")
    at = {p["id"]: (p["lon"], p["lat"]) for p in network["places"]}
    assert [list(g.coords) for g in roads["geometry"]] == [
        [at[r["between"][0]], at[r["between"][1]]] for r in network["roads"]
    ]
    assert roads["length_km"].tolist() == [float(r["length_km"]) for r in network["roads"]]
    origin = places.set_index("place_id").loc["san_pedro_sula"]
    assert (origin["departure_origin"], origin["place_kinds"]) == (True, "origin, city")


def test_counts_add_up_to_the_runs_totals(
    gpkg: dict[str, Path], summary: dict[str, Any], small_run_dir: Path
) -> None:
    """Entries and returns in the counts are the replicate's outcomes (nobody lost or counted
    twice), per crossing too; at the end of every period, the people at places and on roads are
    everyone travelling (on the road, off it, or held)."""
    outcomes = summary["per_replicate"][1]
    series = pd.read_parquet(small_run_dir / "timeseries.parquet").query("replicate == 1")
    travelling = series[["n_moving", "n_dispersed", "n_held_border", "n_held_blockade"]].sum(axis=1)
    for every, path in gpkg.items():
        at_places = read_layer(path, "place_counts")
        on_roads = read_layer(path, "road_counts")
        assert at_places["people_entered_guatemala_here"].sum() == outcomes["entered_guatemala"]
        assert at_places["people_returned_here"].sum() == outcomes["returned_voluntarily"]
        entries = at_places.groupby("place_id")["people_entered_guatemala_here"].sum()
        for crossing in ("el_florido_border", "corinto_hn", "agua_caliente_border"):
            assert entries[crossing] == outcomes[f"entered_guatemala_via_{crossing}"], every
        on_place = at_places.groupby("last_step")["people_at_the_place"].sum()
        on_road = on_roads.groupby("last_step")["people_on_road"].sum()
        expected = travelling.to_numpy()[on_place.index - 1]
        assert (on_place + on_road).tolist() == expected.tolist(), every
        assert expected.max() > 0
    hourly = read_layer(gpkg["hour"], "place_counts")
    most_held = hourly.groupby("place_id")["people_held"].max()
    for place in ("el_florido_border", "vado_hondo"):
        assert most_held[place] == outcomes[f"held_at_{place}_peak"] > 0


def test_days_are_the_hours_grouped(gpkg: dict[str, Path]) -> None:
    """A day's flows are its hours' summed, its stocks those of its last hour."""
    hourly = read_layer(gpkg["hour"], "place_counts")
    daily = read_layer(gpkg["day"], "place_counts")
    day_of = hourly["local_start_time"].str[:10]
    summed = hourly.groupby([day_of, "place_id"])["people_entered_guatemala_here"].sum()
    daily_key = [daily["local_start_time"].str[:10], daily["place_id"]]
    by_day = daily.set_index(daily_key)["people_entered_guatemala_here"]
    assert by_day.sort_index().equals(summed.sort_index())
    assert summed.sum() > 0
    last_hours = hourly[hourly["last_step"].isin(daily["last_step"])]
    assert daily["people_held"].tolist() == last_hours["people_held"].tolist()


def test_times_are_datetimes_in_utc_beside_the_local_clock(gpkg: dict[str, Path]) -> None:
    info = pyogrio.read_info(gpkg["hour"], layer="place_counts")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["start_time"] == types["end_time"] == "OFTDateTime"
    hourly = read_layer(gpkg["hour"], "place_counts")
    first = hourly.iloc[0]
    # 13 January 18:00 at UTC-06:00 is midnight UTC
    assert (first["start_time"], first["end_time"]) == (
        "2021-01-14T00:00:00Z",
        "2021-01-14T01:00:00Z",
    )
    assert first["local_start_time"] == "2021-01-13T18:00:00-06:00"
    assert first["elapsed_h"] == 1.0
    last = hourly.iloc[-1]
    assert (last["local_end_time"], last["last_step"]) == ("2021-01-21T00:00:00-06:00", N_STEPS)
    daily = read_layer(gpkg["day"], "place_counts").drop_duplicates("first_step")
    assert daily["local_start_time"].tolist()[:2] == [
        "2021-01-13T18:00:00-06:00",
        "2021-01-14T00:00:00-06:00",
    ]
    assert daily["local_end_time"].tolist()[:2] == [
        "2021-01-14T00:00:00-06:00",
        "2021-01-15T00:00:00-06:00",
    ]
    _, table = pyogrio.read_arrow(gpkg["hour"], layer="place_counts", max_features=1)
    assert table.column("start_time").to_pylist() == [datetime(2021, 1, 13, 18, tzinfo=CST)]


def test_authorities_with_their_windows_kinds_and_sizes(gpkg: dict[str, Path]) -> None:
    authorities = read_layer(gpkg["hour"], "authorities").set_index(["authority_name", "place_id"])
    force = authorities.loc[("el_florido_force", "el_florido_border")]
    assert force["authority_kind"] == "border_control"
    assert force["force_people"] == 1500
    assert force["window_start_time"] == "2021-01-15T12:00:00Z"
    assert force["local_window_end_time"] == "2021-01-18T00:00:00-06:00"
    assert (force["geometry"].x, force["geometry"].y) == (-89.235, 14.857)
    checkpoints = authorities.loc["highway_checkpoints"]
    assert len(checkpoints) == 12
    assert checkpoints["force_people"].isna().all()
    assert json.loads(checkpoints["settings_json"].iloc[0])["intercept_chance"] == 0.1415


def test_a_scenario_without_utc_offset_keeps_its_wall_clock(
    make_scenario: Any, tmp_path: Path
) -> None:
    """The micro scenario (conftest: one person from A by B to C, naive times, health posts at B
    for hours 1-3): times without zone and no local text; the one person is at a place or on
    a road at the end of every hour until they reach C, and enters Guatemala once."""
    changes = {
        "authorities": {
            "tests": {
                "kind": "health_posts",
                "places": ["B"],
                "active": [1, 3],
                "test_chance_on_arrival": 0.0,
            }
        }
    }
    scenario = make_scenario(changes)
    run_dir = tmp_path / "run"
    write_run(run_dir, scenario, [run(scenario, seed=0, threads=False)])
    out = tmp_path / "micro.gpkg"
    assert main(["export", "gis", str(run_dir), "--out", str(out)]) == 0
    counts = read_layer(out, "place_counts")
    assert "local_start_time" not in counts.columns
    assert counts["start_time"].iloc[:3].tolist() == [
        "2021-01-01T00:00:00",
        "2021-01-01T00:00:00",
        "2021-01-01T00:00:00",
    ]
    on_roads = read_layer(out, "road_counts").groupby("last_step")["people_on_road"].sum()
    travelling = counts.groupby("last_step")["people_at_the_place"].sum() + on_roads
    assert counts["people_entered_guatemala_here"].sum() == 1
    # travelling from the first hour until they reach C, then never again
    assert travelling.iloc[0] == 1
    assert travelling.iloc[-1] == 0
    assert travelling.is_monotonic_decreasing
    authorities = read_layer(out, "authorities")
    assert authorities["window_start_time"].tolist() == ["2021-01-01T01:00:00"]


def test_a_scenario_without_authorities_has_an_empty_authorities_layer(
    make_scenario: Any, tmp_path: Path
) -> None:
    scenario = make_scenario()
    run_dir = tmp_path / "run"
    write_run(run_dir, scenario, [run(scenario, seed=0, threads=False)])
    out = tmp_path / "micro.gpkg"
    assert main(["export", "gis", str(run_dir), "--out", str(out), "--every", "day"]) == 0
    info = pyogrio.read_info(out, layer="authorities")
    assert info["features"] == 0
    assert "window_start_time" in info["fields"].tolist()
    assert "local_window_start_time" not in info["fields"].tolist()
    # 12 hours of one day: one row per place (A, B, C) and per road (A-B, B-C)
    assert pyogrio.read_info(out, layer="place_counts")["features"] == 3
    assert pyogrio.read_info(out, layer="road_counts")["features"] == 2


def test_geojson_is_the_network_in_lon_lat(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_run_dir: Path
) -> None:
    out = tmp_path / "network.geojson"
    code, printed, _ = caravan(capsys, "export", "geojson", "january-2021", "--out", out)
    assert code == 0
    assert printed == f"wrote {out}: 43 places and 47 roads of 'january-2021'"
    data = json.loads(out.read_text(encoding="utf-8"))
    network = yaml.safe_load(NETWORK_FILE.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    features = data["features"]
    assert {f["type"] for f in features} == {"Feature"}
    points = [f for f in features if f["geometry"]["type"] == "Point"]
    lines = [f for f in features if f["geometry"]["type"] == "LineString"]
    assert len(points) + len(lines) == len(features)
    assert [f["geometry"]["coordinates"] for f in points] == [
        [p["lon"], p["lat"]] for p in network["places"]
    ]
    at = {p["id"]: [p["lon"], p["lat"]] for p in network["places"]}
    assert [f["geometry"]["coordinates"] for f in lines] == [
        [at[r["between"][0]], at[r["between"][1]]] for r in network["roads"]
    ]
    assert [f["properties"]["length_km"] for f in lines] == [
        r["length_km"] for r in network["roads"]
    ]
    assert {f["properties"]["feature"] for f in points} == {"place"}
    from_run = tmp_path / "from-run.geojson"
    assert main(["export", "geojson", str(small_run_dir), "--out", str(from_run)]) == 0
    assert json.loads(from_run.read_text(encoding="utf-8")) == data


def test_the_same_run_gives_the_same_geopackage(
    gpkg: dict[str, Path], small_run_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.gpkg"
    args = ["export", "gis", str(small_run_dir), "--out", str(again), "--replicate", "1"]
    assert main(args) == 0
    for layer in FIELDS:
        assert read_layer(again, layer).equals(read_layer(gpkg["hour"], layer)), layer


# --------------------------------------------------------------------------------------------
# Input errors
# --------------------------------------------------------------------------------------------


def test_an_existing_file_is_replaced_only_with_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_run_dir: Path
) -> None:
    out = tmp_path / "run.gpkg"
    out.write_text("mine", encoding="utf-8")
    code, _, err = caravan(capsys, "export", "gis", small_run_dir, "--out", out)
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {out}: already exists; choose another --out, or pass --overwrite to replace it",
    )
    assert out.read_text(encoding="utf-8") == "mine"
    assert caravan(capsys, "export", "gis", small_run_dir, "--out", out, "--overwrite")[0] == 0
    assert pyogrio.read_info(out, layer="places")["features"] == N_PLACES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.gpkg"]  # nothing partial left
    geojson = tmp_path / "net.geojson"
    geojson.write_text("mine", encoding="utf-8")
    code, _, err = caravan(capsys, "export", "geojson", "january-2021", "--out", geojson)
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {geojson}: already exists; choose another --out, or pass --overwrite to "
        "replace it",
    )


@pytest.mark.parametrize(
    ("make_dir", "message"),
    [
        (lambda d: d / "missing", "{d}: not a run directory (no such directory)"),
        (
            lambda d: d,
            "{d}: not a run directory (it has no summary.json; `caravan run` writes one)",
        ),
    ],
)
def test_a_bad_run_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make_dir: Any, message: str
) -> None:
    run_dir = make_dir(tmp_path)
    code, _, err = caravan(capsys, "export", "gis", run_dir, "--out", tmp_path / "x.gpkg")
    assert (code, err) == (EXIT_INPUT_ERROR, "error: " + message.format(d=run_dir))


def test_a_run_directory_missing_a_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_run_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(small_run_dir, run_dir)
    (run_dir / "roads.parquet").unlink()
    code, _, err = caravan(capsys, "export", "gis", run_dir, "--out", tmp_path / "x.gpkg")
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {run_dir / 'roads.parquet'}: missing; the run was written with "
        "output.place_counts: false; rerun it with --set output.place_counts=true",
    )


def test_bad_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_run_dir: Path
) -> None:
    code, _, err = caravan(capsys, "export", "gis", small_run_dir, "--out", tmp_path / "x.shp")
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: --out {tmp_path / 'x.shp'}: expected a file name ending in .gpkg",
    )
    folder = tmp_path / "folder.gpkg"
    folder.mkdir()
    code, _, err = caravan(capsys, "export", "gis", small_run_dir, "--out", folder, "--overwrite")
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: --out {folder}: is a directory; give a file name",
    )
    out = tmp_path / "x.gpkg"
    code, _, err = caravan(capsys, "export", "gis", small_run_dir, "--out", out, "--replicate", 3)
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: --replicate 3: {small_run_dir} holds 3 replicate(s), 0 to 2",
    )
    assert not out.exists()
    code, _, err = caravan(capsys, "export", "geojson", tmp_path, "--out", tmp_path / "n.geojson")
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {tmp_path}: a directory, but not a run directory (it has no summary.json); "
        "give a scenario or a run directory",
    )


@pytest.mark.parametrize("module", ["pyogrio", "shapely"])
def test_without_the_gis_extra(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    small_run_dir: Path,
    module: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    out = tmp_path / "x.gpkg"
    code, _, err = caravan(capsys, "export", "gis", small_run_dir, "--out", out)
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: caravan export gis needs pyogrio and shapely ({module} is not installed); "
        "install them with: pip install 'caravan-sim[gis]'",
    )
    assert not out.exists()
    # the GeoJSON needs neither
    assert (
        caravan(capsys, "export", "geojson", "january-2021", "--out", tmp_path / "n.geojson")[0]
        == 0
    )


# --------------------------------------------------------------------------------------------
# Periods by hand
# --------------------------------------------------------------------------------------------


def test_half_hour_steps_grouped_by_hour() -> None:
    """Six steps of 30 min from 18:30 start in the hours 18, 19, 19, 20, 20, 21."""
    p = gis.periods(datetime(2021, 1, 13, 18, 30, tzinfo=CST), 0.5, 6, "hour")
    assert p.first_step.tolist() == [0, 1, 3, 5]
    assert p.last_step.tolist() == [0, 2, 4, 5]
    assert [t.strftime("%H:%M") for t in p.start] == ["18:30", "19:00", "20:00", "21:00"]
    assert [t.strftime("%H:%M") for t in p.end] == ["19:00", "20:00", "21:00", "21:30"]
    values = np.array([[1], [2], [3], [4], [5], [6]], dtype=np.int64)
    assert p.aggregate(values, "flow").ravel().tolist() == [1, 5, 9, 6]
    assert p.aggregate(values, "stock").ravel().tolist() == [1, 3, 5, 6]


def test_hourly_steps_grouped_by_day() -> None:
    """Steps starting 22:00, 23:00, then 00:00 and 01:00 of the next day: two days."""
    p = gis.periods(datetime(2021, 1, 13, 22), 1.0, 4, "day")
    assert (p.first_step.tolist(), p.last_step.tolist()) == ([0, 2], [1, 3])
    assert p.start == [datetime(2021, 1, 13, 22), datetime(2021, 1, 14, 0)]
    assert p.end == [datetime(2021, 1, 14, 0), datetime(2021, 1, 14, 2)]


def test_the_borders_are_the_shipped_ones(gpkg: dict[str, Path]) -> None:
    shipped = borders()
    _, _, geometry, fields = raw.read(gpkg["hour"], layer="borders")
    level, code, _, department = fields
    assert level.tolist() == ["country"] * len(shipped.countries) + ["department"] * len(
        shipped.departments
    )
    assert code.tolist()[: len(shipped.countries)] == shipped.country_codes()
    assert department.tolist()[0] is None
    guatemala = shapely.from_wkb(geometry[code.tolist().index("GT")])
    # Guatemala City (14.63 N, 90.51 W) in Guatemala, San Pedro Sula (15.5 N, 88.03 W) not
    assert guatemala.contains(shapely.Point(-90.51, 14.63))
    assert not guatemala.contains(shapely.Point(-88.03, 15.5))
