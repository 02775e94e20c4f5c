"""Sobol' sensitivity indices of a finished Sobol-design sweep, computed with SALib.

Each outcome is averaged over a point's replicates (which share seeds across points, so the
average removes noise without adding any between points), then `SALib.analyze.sobol` gives
first-order (S1) and total (ST) indices with 95% bootstrap intervals, and second-order (S2)
ones when the design drew them. Indices are written beside the runs as `sensitivity.parquet`
(and `sensitivity-second-order.parquet`); they are recomputed identically from the same runs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.errors import CaravanError
from sim.sweep.columns import ID_COLUMNS
from sim.sweep.store import PROVENANCE_COLUMNS, load_sweep, write_parquet_atomic

FIRST_ORDER_FILE = "sensitivity.parquet"
SECOND_ORDER_FILE = "sensitivity-second-order.parquet"


def outcome_columns(runs: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    """The model outcomes among a sweep's columns (not ids, parameters or timings)."""
    labels = {p["label"] for p in manifest["design"]["parameters"]}
    skip = set(ID_COLUMNS) | labels | set(PROVENANCE_COLUMNS)
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


@dataclass(frozen=True)
class SobolIndices:
    first: pd.DataFrame  # outcome, parameter, S1, S1_conf, ST, ST_conf
    second: pd.DataFrame  # outcome, parameter_1, parameter_2, S2, S2_conf (second-order designs)
    constant: list[str]  # outcomes that do not vary across the design: they have no indices


def sobol_indices(path: str | Path) -> SobolIndices:
    """First-order and total indices of every outcome that varies, and second-order ones for a
    design that drew them."""
    runs = load_sweep(path)
    manifest: dict[str, Any] = runs.attrs["manifest"]
    design = manifest["design"]
    if design["kind"] != "sobol":
        raise CaravanError(
            f"{path}: a {design['kind']} design; Sobol' indices need a sweep with "
            "design: {kind: sobol, base_points: N}"
        )
    if design.get("points_in_file", design["points"]) != design["points"]:
        raise CaravanError(
            f"{path}: ran only the first {design['points']} of the design's "
            f"{design['points_in_file']} points (--limit); Sobol' indices need them all"
        )
    if len(runs) != manifest["runs_total"]:
        raise CaravanError(
            f"{path}: {len(runs)} of {manifest['runs_total']} runs recorded; finish the sweep "
            "(caravan sweep ... --resume) before computing indices"
        )
    from SALib.analyze import sobol as salib_sobol  # noqa: PLC0415 - only when asked for

    names = [p["label"] for p in design["parameters"]]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    means = runs.groupby("point_id").mean(numeric_only=True).sort_index()
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    constant: list[str] = []
    for outcome in outcome_columns(runs, manifest):
        y = means[outcome].to_numpy(dtype=np.float64)
        if np.ptp(y) == 0:
            constant.append(outcome)
            continue
        with warnings.catch_warnings():
            # SALib's bootstrap divides by the variance of resamples, which can be 0 for rare
            # outcomes; those intervals come out NaN, which is the honest answer.
            warnings.simplefilter("ignore", RuntimeWarning)
            found = salib_sobol.analyze(
                problem,
                y,
                calc_second_order=design["second_order"],
                # a Generator, not the int: SALib ignores a seed of 0 (`if seed:`)
                seed=np.random.default_rng(design["seed"]),
            )
        for j, name in enumerate(names):
            first.append(
                {
                    "outcome": outcome,
                    "parameter": name,
                    "S1": float(found["S1"][j]),
                    "S1_conf": float(found["S1_conf"][j]),
                    "ST": float(found["ST"][j]),
                    "ST_conf": float(found["ST_conf"][j]),
                }
            )
        if design["second_order"]:
            for j, a in enumerate(names):
                for k in range(j + 1, len(names)):
                    second.append(
                        {
                            "outcome": outcome,
                            "parameter_1": a,
                            "parameter_2": names[k],
                            "S2": float(found["S2"][j, k]),
                            "S2_conf": float(found["S2_conf"][j, k]),
                        }
                    )
    first_cols = ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    second_cols = ["outcome", "parameter_1", "parameter_2", "S2", "S2_conf"]
    return SobolIndices(
        pd.DataFrame(first, columns=first_cols), pd.DataFrame(second, columns=second_cols), constant
    )


def write_indices(path: str | Path, indices: SobolIndices) -> list[Path]:
    """Write the indices into the sweep directory (each file replaced whole, never half)."""
    out = [Path(path) / FIRST_ORDER_FILE]
    write_parquet_atomic(out[0], pa.Table.from_pandas(indices.first, preserve_index=False))
    if len(indices.second):
        out.append(Path(path) / SECOND_ORDER_FILE)
        write_parquet_atomic(out[1], pa.Table.from_pandas(indices.second, preserve_index=False))
    return out
