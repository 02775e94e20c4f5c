"""Regenerate sim/data/borders/central-america.geojson, the country and department borders the
maps draw, from Natural Earth as QGIS ships it (see sim/data/borders/README.md for the source,
its version and licence).

Usage (needs shapely and pyyaml, which the package itself does not depend on):

    apt-get download qgis-common=3.22.16+dfsg-1
    dpkg-deb -x qgis-common_3.22.16+dfsg-1_all.deb qgis-common
    python tools/make_borders.py qgis-common/usr/share/qgis/resources/data/world_map.gpkg

The extract is clipped to the box around every place of the shipped networks plus
MARGIN_DEG, and written with coordinates rounded to COORD_DECIMALS, one feature a line, in a
fixed order, so that running it again on the same source gives the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry import mapping
from shapely.ops import polylabel

REPO = Path(__file__).resolve().parents[1]
NETWORKS = REPO / "sim" / "data" / "scenarios" / "networks"
OUT = REPO / "sim" / "data" / "borders" / "central-america.geojson"

SOURCE_SHA256 = "ff5cceefc4b27abea094fa82459d8aef9417023236c326a666978b62ffe85db2"
COUNTRIES = ("BZ", "GT", "HN", "MX", "NI", "SV")  # ISO 3166-1 alpha-2
DEPARTMENT_COUNTRIES = ("GT", "HN", "MX", "SV")  # their admin-1 units too
MARGIN_DEG = 1.0  # beyond the places, so that the maps' edges never show the clip
SIMPLIFY_DEG = 0.002  # about 200 m: finer than a map of the region can show
COORD_DECIMALS = 4  # about 11 m


def network_box(margin_deg: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) around every place of the shipped networks, plus a margin."""
    lons: list[float] = []
    lats: list[float] = []
    for path in sorted(NETWORKS.glob("*.yaml")):
        for place in yaml.safe_load(path.read_text(encoding="utf-8"))["places"]:
            lons.append(float(place["lon"]))
            lats.append(float(place["lat"]))
    return (
        round(min(lons) - margin_deg, 2),
        round(min(lats) - margin_deg, 2),
        round(max(lons) + margin_deg, 2),
        round(max(lats) + margin_deg, 2),
    )


def gpkg_geometry(blob: bytes) -> shapely.Geometry:
    """A GeoPackage geometry blob: 'GP', version, flags, SRS id, an envelope, then WKB."""
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry")
    envelope_code = (blob[3] >> 1) & 0b111
    envelope_bytes = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[envelope_code]
    return shapely.from_wkb(blob[8 + envelope_bytes :])


def tidy(geometry: shapely.Geometry, box: tuple[float, float, float, float]) -> Any:
    """Clipped to the box, simplified, rounded; None when nothing is left."""
    clipped = shapely.clip_by_rect(geometry, *box)
    simple = shapely.set_precision(
        clipped.simplify(SIMPLIFY_DEG, preserve_topology=True), 10**-COORD_DECIMALS
    )
    polygons = [
        part
        for part in getattr(simple, "geoms", [simple])
        if isinstance(part, shapely.Polygon) and not part.is_empty
    ]
    if not polygons:
        return None
    return mapping(shapely.MultiPolygon(polygons))


def label_point(geometry: shapely.Geometry, places_box: tuple[float, ...]) -> list[float] | None:
    """Where a map names the country: the point farthest inside the largest part of it that lies
    in the box of the places (so on every map of the network); None when none does."""
    inside = shapely.clip_by_rect(geometry, *places_box)
    parts = [p for p in getattr(inside, "geoms", [inside]) if isinstance(p, shapely.Polygon)]
    if not parts:
        return None
    point = polylabel(max(parts, key=lambda p: p.area), tolerance=0.01)
    return [round(point.x, 2), round(point.y, 2)]


def features(gpkg: Path, box: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    """Countries, then departments, each sorted by country code and name."""
    places_box = network_box(0.0)
    db = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    found: list[dict[str, Any]] = []
    marks = ",".join("?" * len(COUNTRIES))
    rows = db.execute(
        f"SELECT iso_a2, NAME, geom FROM countries WHERE iso_a2 IN ({marks})", COUNTRIES
    )
    for code, name, blob in sorted(rows):
        whole = gpkg_geometry(blob)
        geometry = tidy(whole, box)
        if geometry is not None:
            props = {"level": "country", "country": code, "name": name}
            props["label_at"] = label_point(whole, places_box)
            found.append({"type": "Feature", "properties": props, "geometry": geometry})
    marks = ",".join("?" * len(DEPARTMENT_COUNTRIES))
    rows = db.execute(
        "SELECT iso_a2, admin, name, geom FROM states_provinces"
        f" WHERE iso_a2 IN ({marks}) AND name IS NOT NULL",
        DEPARTMENT_COUNTRIES,
    )
    for code, country, name, blob in sorted(rows):
        geometry = tidy(gpkg_geometry(blob), box)
        if geometry is not None:
            props = {"level": "department", "country": code, "name": country, "department": name}
            found.append({"type": "Feature", "properties": props, "geometry": geometry})
    return found


def rounded(value: Any) -> Any:
    """Coordinates rounded to COORD_DECIMALS (set_precision leaves float noise)."""
    if isinstance(value, float):
        return round(value, COORD_DECIMALS)
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gpkg", type=Path, help="world_map.gpkg of qgis-common 3.22.16+dfsg-1")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    digest = hashlib.sha256(args.gpkg.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        print(f"{args.gpkg}: sha256 {digest}, expected {SOURCE_SHA256}", file=sys.stderr)
        return 2
    box = network_box(MARGIN_DEG)
    lines = []
    for feature in features(args.gpkg, box):
        feature["geometry"]["coordinates"] = rounded(feature["geometry"]["coordinates"])
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    header = {
        "type": "FeatureCollection",
        "bbox": list(box),
        "source": "Natural Earth 1:10m Admin 0 and Admin 1 v4.1.0, generalised by QGIS "
        "(world_map.gpkg, Debian qgis-common 3.22.16+dfsg-1); public domain",
    }
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[:-1]
    text = head + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(lines)} features, {len(text.encode()):,} bytes, box {box}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
