"""A finished calibration read back from its directory (`sim.load_calibration`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.calibrate.runner import PAIR_STRIDE
from sim.errors import CaravanError
from sim.sweep.store import load_sweep


def phase_rows(sims: pd.DataFrame, phase: str, generation: int) -> pd.DataFrame:
    """The simulations of one phase for one generation (the predictive draws and checks of the
    last generation, say)."""
    return sims[(sims["phase"] == phase) & (sims["generation"] == generation)]


def by_summary_target(summary: Mapping[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` (of one phase) with a column `target.<key>` per target of the summary. A joint
    calibration names its targets `<caravan>/<id>` and runs every pair on the same particles:
    each pair's rows, in run id order, become the columns of its targets."""
    if "also" not in summary:
        return rows
    columns: dict[str, Any] = {}
    for key, target in summary["targets"].items():
        mine = rows[rows["run_id"] // PAIR_STRIDE == target["caravan"]].sort_values("run_id")
        columns[f"target.{key}"] = mine[f"target.{target['id']}"].to_numpy()
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class CalibrationResults:
    """A finished calibration, read back from its directory."""

    summary: dict[str, Any]  # summary.json
    posterior: pd.DataFrame  # the last generation's particles: values by label, weight
    generations: pd.DataFrame  # every generation's particles
    simulations: pd.DataFrame  # every simulation, one row each (phase abc/predictive/check)

    @property
    def labels(self) -> list[str]:
        return list(self.summary["parameters"])

    @property
    def predictive(self) -> pd.DataFrame:
        final = self.summary["generations"][-1]["generation"]
        return by_summary_target(self.summary, phase_rows(self.simulations, "predictive", final))


def load_calibration(path: str | Path) -> CalibrationResults:
    """Read the calibration in `path` (the `--out` of `caravan calibrate`)."""
    directory = Path(path)
    summary_path = directory / "summary.json"
    if not summary_path.is_file():
        raise CaravanError(
            f"{directory}: no summary.json: not a calibration directory, or a calibration that "
            "has not finished (continue it with --resume)"
        )
    return CalibrationResults(
        summary=json.loads(summary_path.read_text(encoding="utf-8")),
        posterior=pq.read_table(directory / "posterior.parquet").to_pandas(),
        generations=pq.read_table(directory / "generations.parquet").to_pandas(),
        simulations=load_sweep(directory),
    )
