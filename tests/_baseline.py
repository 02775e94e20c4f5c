"""The golden baseline: run each case of `tests/baseline/cases.yaml` and describe the run
directory it writes, column by column, so that a later version can be compared with it exactly.

A case's record (`tests/baseline/<case>.json`) holds its outcomes and, for every column of every
table of the run directory, a SHA-256 digest of its values; `series: true` cases also keep their
hourly flows and stocks as CSV (`<case>.csv`), to read a difference by eye. Only public entry
points are used (`sim.load`, `sim.derive`, `sim.without_authorities`, `sim.run`, `write_run`), so
the baseline describes what users get, not how the model is built.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

import sim
from sim.rundir import write_run

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "tests" / "baseline"
CASES_FILE = BASELINE / "cases.yaml"
TABLES = ("timeseries", "places", "roads", "events")


def cases() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return dict(data["cases"])


def scenario_of(case: dict[str, Any]) -> sim.Scenario:
    scenario = sim.load(REPO / case["scenario"], overrides=list(case.get("sets", [])))
    if case.get("without"):
        scenario = sim.without_authorities(scenario, case["without"])
    if case.get("derive"):
        scenario = sim.derive(scenario, case["derive"])
    return scenario


def _column_digest(column: pa.ChunkedArray) -> str:
    """SHA-256 of a column's values, independent of how Arrow chunks or encodes them."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        values = np.asarray(column.cast(pa.int64()).to_numpy(), dtype="<i8").tobytes()
        tag = f"timestamp[{kind.unit}, {kind.tz}]"
    elif pa.types.is_integer(kind):
        values = np.asarray(column.to_numpy(), dtype="<i8").tobytes()
        tag = "int"
    elif pa.types.is_floating(kind):
        values = np.asarray(column.to_numpy(), dtype="<f8").tobytes()
        tag = "float"
    else:
        values = "\x1f".join(map(str, column.to_pylist())).encode()
        tag = str(kind)
    digest = hashlib.sha256(tag.encode() + b"\0" + values).hexdigest()
    return f"{tag}:{len(column)}:{digest[:32]}"


def record(name: str, case: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The case's record, and its hourly series as CSV text (for `series: true` cases)."""
    scenario = sim.derive(scenario_of(case), {"output.plots": False})
    results = sim.run(scenario, seed=int(case["seed"]))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        write_run(out, scenario, [results])
        tables = {t: pq.read_table(out / f"{t}.parquet") for t in TABLES}
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    digests = {
        table_name: {c: _column_digest(table.column(c)) for c in table.column_names}
        for table_name, table in tables.items()
    }
    data = {
        "case": name,
        "scenario": scenario.name,
        "seed": int(case["seed"]),
        "n_steps": scenario.n_steps,
        "outcomes": summary["outcomes"],
        "partition": summary["partition"],
        "columns": digests,
    }
    csv = None
    if case.get("series"):
        series = tables["timeseries"]
        names = [c for c in series.column_names if c.startswith(("new_", "n_"))]
        rows = [",".join(["step", *names])]
        columns = [series.column(c).to_pylist() for c in ["step", *names]]
        rows += [",".join(str(v) for v in row) for row in zip(*columns, strict=True)]
        csv = "\n".join(rows) + "\n"
    return data, csv


def stored(name: str) -> tuple[dict[str, Any], str | None]:
    data = json.loads((BASELINE / f"{name}.json").read_text(encoding="utf-8"))
    csv_path = BASELINE / f"{name}.csv"
    return data, csv_path.read_text(encoding="utf-8") if csv_path.exists() else None
