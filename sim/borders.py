"""Country and department borders of the model's region, shipped with the package
(`sim/data/borders/central-america.geojson`: Natural Earth, public domain; its README says how it
was made and how close to the true borders it is). The maps draw them; anything that needs them
(a GIS export, the lab) reads them here. Plain numpy, no plotting or GIS library.

`borders()` reads the file once and caches it. Each `Border` is one country or one department:
its codes and names, and its outline as rings of (longitude, latitude) in degrees (WGS 84).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

BORDERS_FILE = "central-america.geojson"
Level = Literal["country", "department"]


@dataclass(frozen=True)
class Border:
    """One country or department. `rings` are its outlines, each an (n, 2) array of longitude and
    latitude in degrees whose last point repeats the first (outer rings; the extract has no
    holes). `label_at` is where a map names a country (inside it and inside the box of the
    shipped networks' places), None for departments and countries outside that box."""

    level: Level
    country: str  # ISO 3166-1 alpha-2, e.g. "GT"
    name: str  # the country's name, e.g. "Guatemala"
    department: str | None  # the department's (or Mexican state's) name; None for a country
    rings: tuple[npt.NDArray[np.float64], ...]
    label_at: tuple[float, float] | None

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the point lies inside (even-odd rule over the rings; a point on an edge may
        go either way)."""
        inside = False
        for ring in self.rings:
            x0, y0 = ring[:-1, 0], ring[:-1, 1]
            x1, y1 = ring[1:, 0], ring[1:, 1]
            crosses = (y0 > lat) != (y1 > lat)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
            inside ^= bool(np.count_nonzero(crosses & (lon < x_at)) % 2)
        return inside


@dataclass(frozen=True)
class Borders:
    """The shipped extract: countries and departments, and the box it was clipped to."""

    countries: tuple[Border, ...]
    departments: tuple[Border, ...]
    bbox: tuple[float, float, float, float]  # west, south, east, north (degrees)
    source: str

    def country(self, code: str) -> Border:
        """The country of ISO code `code`; KeyError naming the codes there are."""
        for border in self.countries:
            if border.country == code:
                return border
        raise KeyError(f"no country {code!r} in the borders; there are {self.country_codes()}")

    def country_codes(self) -> list[str]:
        """The countries' ISO codes, in the file's order (sorted)."""
        return [border.country for border in self.countries]


@cache
def borders() -> Borders:
    """The borders shipped with the package, read once."""
    text = (resources.files("sim") / "data" / "borders" / BORDERS_FILE).read_text("utf-8")
    return parse(json.loads(text))


def parse(collection: dict[str, Any]) -> Borders:
    """Borders from a GeoJSON FeatureCollection as `tools/make_borders.py` writes it."""
    read = [_border(feature) for feature in collection["features"]]
    west, south, east, north = (float(v) for v in collection["bbox"])
    return Borders(
        countries=tuple(b for b in read if b.level == "country"),
        departments=tuple(b for b in read if b.level == "department"),
        bbox=(west, south, east, north),
        source=str(collection.get("source", "")),
    )


def _border(feature: dict[str, Any]) -> Border:
    props = feature["properties"]
    geometry = feature["geometry"]
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    rings = tuple(np.asarray(ring, dtype=np.float64) for polygon in polygons for ring in polygon)
    label_at = props.get("label_at")
    return Border(
        level=props["level"],
        country=props["country"],
        name=props["name"],
        department=props.get("department"),
        rings=rings,
        label_at=None if label_at is None else (float(label_at[0]), float(label_at[1])),
    )
