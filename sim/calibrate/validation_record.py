"""A validation's result, and its file: what `caravan validate` computed, written as
`validation.json` and read back (`sim.load_validation`), apart from the running
(`sim.calibrate.validate`) so that the figures can read it without running anything."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import CaravanError

VALIDATION_JSON = "validation.json"
VALIDATION_PNG = "validation.png"
KIND = "caravan-validation"
FORMAT = 1


@dataclass(frozen=True)
class TargetCheck:
    """One figure against the model's replicates."""

    id: str
    outcome: tuple[str, ...]  # the outcome keys whose sum is compared
    reported: float | None  # the figure; None for a range with no number
    band: tuple[float, float] | None  # what the tolerance accepts (`Target.band`); hi may be inf
    tolerance: str  # the tolerance in words ("±10%", "7,000-9,000", ...)
    by: str | None  # the date the source gives the figure, as written (ISO)
    read_at: str  # the time the model's value is read: the end of the run or of `by`'s step
    values: tuple[float, ...]  # the model's value in each replicate, in seed order
    median: float
    p05: float
    p95: float
    discrepancy: float  # of the median (`Target.discrepancy`; 1 at the tolerance's edge)
    inside: bool  # the figure lies in [p05, p95] (a range with no number: overlaps it)
    within_tolerance: bool  # `Target.accepts`: inside a range, else discrepancy <= 1

    @property
    def reported_text(self) -> str:
        """The figure ("4,957"), or for a range with no number the range ("0-200", ">= 21")."""
        if self.reported is not None or self.band is None:
            return people(self.reported)
        lo, hi = self.band
        return f"{people(lo)}-{people(hi)}" if math.isfinite(hi) else f">= {people(lo)}"

    @property
    def model_text(self) -> str:
        """The model's median and 90% interval: "4,956 [4,805-5,233]" (the interval's ends
        rounded to whole people)."""
        return f"{people(self.median)} [{self.p05:,.0f}-{self.p95:,.0f}]"

    @property
    def relative_difference(self) -> float | None:
        """|median - reported| / reported; None without a reported number above 0."""
        if self.reported is None or self.reported <= 0:
            return None
        return abs(self.median - self.reported) / self.reported


@dataclass(frozen=True)
class Validation:
    """A scenario's replicates against every figure of a target set, with provenance."""

    scenario: str
    scenario_file: str
    overrides: tuple[str, ...]
    target_set: str  # the set's name
    targets: str  # as given on the command line: a shipped set's name or a path
    seed: int
    seeds: tuple[int, ...]  # replicate r ran with seeds[r]
    checks: tuple[TargetCheck, ...]  # one per figure, in the target set's order
    version: str  # of caravan-sim
    versions: dict[str, str]  # of Python and the libraries the runs depend on
    created: str  # UTC, ISO
    behaviour: str | None = None  # the behaviour file merged over the scenario, if any

    @property
    def replicates(self) -> int:
        return len(self.seeds)

    @property
    def with_number(self) -> tuple[TargetCheck, ...]:
        """The figures a relative difference is taken of: a reported number above 0."""
        return tuple(c for c in self.checks if c.relative_difference is not None)

    @property
    def mean_relative_difference(self) -> float | None:
        """Mean of |median - reported| / reported over `with_number`; None if there are none."""
        differences = [d for c in self.checks if (d := c.relative_difference) is not None]
        return math.fsum(differences) / len(differences) if differences else None

    @property
    def share_inside(self) -> float:
        """The share of figures inside the model's 90% interval."""
        return sum(c.inside for c in self.checks) / len(self.checks)

    def to_json(self) -> dict[str, Any]:
        """What `validation.json` holds (an open upper end of a band, and an infinite
        discrepancy, are written as null: JSON has no infinity)."""
        return {
            "format": FORMAT,
            "kind": KIND,
            "scenario": self.scenario,
            "scenario_file": self.scenario_file,
            "overrides": list(self.overrides),
            "behaviour": self.behaviour,
            "target_set": self.target_set,
            "targets": self.targets,
            "replicates": self.replicates,
            "seed": self.seed,
            "seeds": list(self.seeds),
            "version": self.version,
            "versions": dict(self.versions),
            "created": self.created,
            "summary": {
                "mean_relative_difference": self.mean_relative_difference,
                "figures_with_number": len(self.with_number),
                "share_inside": self.share_inside,
                "inside": sum(c.inside for c in self.checks),
                "figures": len(self.checks),
            },
            "checks": [_check_json(c) for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Validation:
        """The inverse of `to_json` (its summary is recomputed, not read)."""
        return cls(
            scenario=data["scenario"],
            scenario_file=data["scenario_file"],
            overrides=tuple(data["overrides"]),
            target_set=data["target_set"],
            targets=data["targets"],
            seed=int(data["seed"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            checks=tuple(_check_from_json(c) for c in data["checks"]),
            version=data["version"],
            versions=dict(data["versions"]),
            created=data["created"],
            behaviour=data.get("behaviour"),
        )


def people(value: float | None) -> str:
    """A count of people as text: 4,957; a median between two replicates keeps its half."""
    if value is None:
        return "?"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _check_json(check: TargetCheck) -> dict[str, Any]:
    band = None
    if check.band is not None:
        lo, hi = check.band
        band = [lo, hi if math.isfinite(hi) else None]
    return {
        "id": check.id,
        "outcome": list(check.outcome),
        "reported": check.reported,
        "band": band,
        "tolerance": check.tolerance,
        "by": check.by,
        "read_at": check.read_at,
        "median": check.median,
        "p05": check.p05,
        "p95": check.p95,
        "discrepancy": check.discrepancy if math.isfinite(check.discrepancy) else None,
        "inside": check.inside,
        "within_tolerance": check.within_tolerance,
        "relative_difference": check.relative_difference,
        "values": list(check.values),
    }


def _check_from_json(data: Mapping[str, Any]) -> TargetCheck:
    band = None
    if data["band"] is not None:
        lo, hi = data["band"]
        band = (float(lo), math.inf if hi is None else float(hi))
    discrepancy = data["discrepancy"]
    return TargetCheck(
        id=data["id"],
        outcome=tuple(data["outcome"]),
        reported=None if data["reported"] is None else float(data["reported"]),
        band=band,
        tolerance=data["tolerance"],
        by=data["by"],
        read_at=data["read_at"],
        values=tuple(float(v) for v in data["values"]),
        median=float(data["median"]),
        p05=float(data["p05"]),
        p95=float(data["p95"]),
        discrepancy=math.inf if discrepancy is None else float(discrepancy),
        inside=bool(data["inside"]),
        within_tolerance=bool(data["within_tolerance"]),
    )


def load_validation(path: str | Path) -> Validation:
    """Read a validation back from its directory (the `--out` of `caravan validate`) or from
    its `validation.json`."""
    file = Path(path)
    if file.is_dir():
        file = file / VALIDATION_JSON
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CaravanError(f"{file}: cannot read the validation: {e}") from e
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise CaravanError(f"{file}: not a validation (written by caravan validate)")
    return Validation.from_json(data)
