"""What a finished calibration reports: posterior, fit to each target, files and a scenario.

Everything here is derived from the recorded simulations, so a resumed calibration writes the
same report. Files, in the calibration directory:

- `summary.json`: settings, the tolerance schedule and the simulations used; per parameter its
  prior and its posterior median and 90% credible interval; per target the observed figure,
  the posterior predictive 90% band and the calibrated scenario's median and 90% interval;
- `posterior.parquet`: the last generation's particles (parameter values, weight, distance);
- `generations.parquet`: every generation's particles, with its tolerance;
- `report.md`: the same as a short Markdown report;
- `calibrated.yaml`: a scenario that extends the calibrated one and sets the chosen point (the
  posterior medians, or the particle that reproduces the figures best; see `runner`);
- `pairs.png`, `predictive.png`: parameter pairs; the predictive check against the targets.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from sim import figures, package_version, packaged
from sim.calibrate.abc import Generation, weighted_quantiles
from sim.calibrate.plan import CalibrationPlan
from sim.calibrate.results import by_summary_target, phase_rows
from sim.calibrate.runner import PAIR_STRIDE, PER_CANDIDATE, CalibrationOutcome, ChosenPoint
from sim.results import interval, write_json
from sim.sweep.store import load_sweep, write_bytes_atomic, write_parquet_atomic
from sim.targets import Target
from sim.yamlio import parse_value

BAND = (0.05, 0.5, 0.95)  # 90% intervals and the median
CALIBRATED_SCENARIO = "calibrated.yaml"
CALIBRATED_BEHAVIOUR = "calibrated-behaviour.yaml"


def write_report(
    plan: CalibrationPlan,
    outcome: CalibrationOutcome,
    scenario_out: Path | None = None,
    behaviour_out: Path | None = None,
) -> dict[str, Any]:
    """Write every report file into the calibration directory; return the summary.

    Also, if given: the calibrated scenario to `scenario_out` (with `--also`, the calibrated
    behaviour), and the calibrated behaviour to `behaviour_out`; beside each, what reading the
    fit needs without the calibration directory (`companions`)."""
    out_dir = outcome.out_dir
    sims = load_sweep(out_dir)
    final = outcome.generations[-1]
    summary = _summary(plan, outcome, sims)
    write_json(summary, out_dir / "summary.json")
    _write_text(out_dir / "report.md", markdown_report(summary))
    posterior = _particles(plan, [final])
    write_parquet_atomic(out_dir / "posterior.parquet", posterior)
    write_parquet_atomic(out_dir / "generations.parquet", _particles(plan, outcome.generations))
    point = outcome.point.values
    header = _provenance(plan, outcome, summary)
    behaviour = behaviour_file(plan)
    # With --also, --write-scenario writes the calibrated behaviour: there is no one scenario.
    scenarios = [] if plan.joint else [out_dir / CALIBRATED_SCENARIO, scenario_out]
    behaviours = [
        out_dir / CALIBRATED_BEHAVIOUR,
        scenario_out if plan.joint else None,
        behaviour_out,
    ]
    for path in (p for p in scenarios if p is not None):
        _write_text(path, calibrated_scenario(plan, point, summary, path, header))
    if behaviour is not None:
        for path in (p for p in behaviours if p is not None):
            _write_text(path, calibrated_behaviour(plan, behaviour, point, summary, path, header))
    shipped = [p for p in (scenario_out, behaviour_out) if p is not None]
    if shipped:
        draws = _predictive_draws(plan, summary, phase_rows(sims, "predictive", final.index))
        for path in shipped:
            beside = companions(path)
            write_json(summary, beside["summary"])
            write_parquet_atomic(beside["posterior"], posterior)
            write_parquet_atomic(beside["predictive"], draws)
    _write_plots(summary, sims, final, plan, out_dir)
    return summary


def companions(calibrated: Path) -> dict[str, Path]:
    """The files written beside a calibrated scenario or behaviour `NAME.yaml`, small enough to
    ship with it: `NAME.summary.json` (priors, posterior medians and intervals, every target's
    figure and posterior predictive), `NAME.posterior.parquet` (the last generation's
    particles and weights) and `NAME.predictive.parquet` (the posterior predictive draws: per
    draw, its parameters and every target's value, as `target.<key>` of the summary)."""
    stem = calibrated.with_suffix("")
    return {
        kind: stem.with_name(f"{stem.name}.{kind}.{ext}")
        for kind, ext in (("summary", "json"), ("posterior", "parquet"), ("predictive", "parquet"))
    }


def _predictive_draws(
    plan: CalibrationPlan, summary: Mapping[str, Any], rows: pd.DataFrame
) -> pa.Table:
    """One row per posterior predictive draw: the first caravan's run id, point and seed, the
    parameters, and every target's value (`by_summary_target`: a joint calibration's draws
    run every caravan with the same particle)."""
    first = rows[rows["run_id"] // PAIR_STRIDE == 0].sort_values("run_id", ignore_index=True)
    draws = first[["run_id", "point_id", "seed", *plan.priors.labels]]
    targets = by_summary_target(summary, rows)
    if not plan.joint:
        targets = targets.sort_values("run_id", ignore_index=True)
    values = targets[[c for c in targets.columns if c.startswith("target.")]]
    return pa.Table.from_pandas(
        pd.concat([draws, values.reset_index(drop=True)], axis=1), preserve_index=False
    )


def behaviour_file(plan: CalibrationPlan) -> Path | None:
    """The file the first scenario `extends:` (the behaviour a caravan's context extends), or
    None if it extends none."""
    data = yaml.safe_load(plan.scenario_path.read_text(encoding="utf-8"))
    parent = data.get("extends") if isinstance(data, dict) else None
    if not isinstance(parent, str):
        return None
    return (plan.scenario_path.parent / parent).resolve()


def _summary(
    plan: CalibrationPlan, outcome: CalibrationOutcome, sims: pd.DataFrame
) -> dict[str, Any]:
    final = outcome.generations[-1]
    point = outcome.point
    parameters: dict[str, Any] = {}
    for j, prior in enumerate(plan.priors.priors):
        values = np.array([prior.value(float(x)) for x in final.fit[:, j]], dtype=np.float64)
        p05, median, p95 = weighted_quantiles(values, final.weights, BAND)
        prior_p05, prior_median, prior_p95 = prior.quantiles_of_values(BAND)
        parameters[prior.label] = {
            "keys": list(prior.keys),
            "prior": prior.spec.model_dump(mode="json", exclude={"also", "label"}),
            "prior_median": prior_median,
            "prior_p05": prior_p05,
            "prior_p95": prior_p95,
            "median": median,
            "p05": p05,
            "p95": p95,
            "calibrated_value": point.values[prior.label],
        }
    predictive = phase_rows(sims, "predictive", final.index)
    check = phase_rows(sims, "check", final.index)
    check = check[check["index"] // PER_CANDIDATE == point.check_slot]  # the chosen point's
    targets: dict[str, Any] = {}
    for k, (pair, label) in enumerate(zip(plan.pairs, plan.pair_labels, strict=True)):
        mine = predictive["run_id"] // PAIR_STRIDE == k
        checked = check["run_id"] // PAIR_STRIDE == k
        for reading in pair.readings:
            # a joint calibration's targets are named by their pair: ids may repeat
            key = f"{label}/{reading.target.id}" if plan.joint else reading.target.id
            joint = {"caravan": k, "id": reading.target.id} if plan.joint else {}
            targets[key] = joint | _target_summary(reading.target, predictive[mine], check[checked])
    counts = dict(outcome.simulations)
    also = {
        "also": [
            {
                "caravan": k,
                "scenario": p.scenario.name,
                "scenario_file": str(p.scenario_path),
                "target_set": p.targets.name,
            }
            for k, p in enumerate(plan.also, start=1)
        ]
    }
    return {
        **(also if plan.joint else {}),
        "scenario": plan.scenario.name,
        "scenario_file": str(plan.scenario_path),
        "overrides": list(plan.overrides),
        "target_set": plan.targets.name,
        "package_version": package_version(),
        "seed": plan.seed,
        "settings": plan.settings.model_dump(mode="json"),
        "stop_reason": outcome.stop_reason,
        "generations": [
            {
                "generation": g.index,
                "tolerance": None if math.isinf(g.tolerance) else g.tolerance,
                "simulations": g.simulations,
                "acceptance": g.acceptance,
                "effective_sample_size": g.effective_size,
                "median_distance": float(np.median(g.distances)),
            }
            for g in outcome.generations
        ],
        "simulations": {**counts, "total": sum(counts.values())},
        "parameters": parameters,
        "targets": targets,
        "check_replicates": len(check),
        "predictive_draws": len(predictive),
        "point": _point_summary(point, plan.settings.point_replicates),
    }


def _target_summary(t: Target, predictive: pd.DataFrame, check: pd.DataFrame) -> dict[str, Any]:
    column = f"target.{t.id}"
    return {
        "outcome": list(t.outcome),
        "observed": t.observed,
        "tolerance": describe_tolerance(t),
        "band": _json_band(t.band()),
        "source": t.source,
        "predictive": _interval(predictive[column]),
        "calibrated_scenario": _interval(check[column]),
        "median_discrepancy": float(
            np.median(check[f"discrepancy.{t.id}"]) if len(check) else math.nan
        ),
    }


def _point_summary(point: ChosenPoint, replicates: int) -> dict[str, Any]:
    return {
        "chosen": describe_point(point),
        "candidate": point.candidate,
        "particle_run_id": point.run_id,
        "candidates": len(point.median_distances) or 1,
        "replicates_per_candidate": replicates if point.median_distances else 0,
        "median_distances": point.median_distances,
        "search": {
            "points": len(point.search_objectives),
            "best": point.searched_best,
            "objectives": point.search_objectives,
            "from": point.search_from,
        },
    }


def describe_point(point: ChosenPoint) -> str:
    if point.candidate == 0:
        candidate = "the posterior medians"
    else:
        candidate = f"posterior particle {point.run_id} (the {_ordinal(point.candidate)} closest)"
    start = candidate if point.search_from is None else f"the values of {point.search_from}"
    if not point.searched_best and point.search_from is None:
        return candidate
    return (
        f"the {_ordinal(point.searched_best + 1)} of {len(point.search_objectives)} points a "
        f"local search tried from {start}"
    )


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _json_band(band: tuple[float, float] | None) -> list[float | None] | None:
    """A tolerance band for JSON: an open upper end is null (JSON has no infinity)."""
    if band is None:
        return None
    lo, hi = band
    return [lo, hi if math.isfinite(hi) else None]


def _interval(values: pd.Series) -> dict[str, float]:
    return interval(values.tolist()) if len(values) else {}


def describe_tolerance(target: Target) -> str:
    tol = target.tolerance
    if tol.relative is not None:
        return f"±{tol.relative:.0%}"
    if tol.range is not None:
        lo, hi = tol.range
        return f"{lo:,.0f}-{hi:,.0f}" if math.isfinite(hi) else f">= {lo:,.0f}"
    if tol.poisson:
        return "Poisson count"
    return f"binomial, of {tol.binomial_of}"


def _particles(plan: CalibrationPlan, generations: Sequence[Generation]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for g in generations:
        for k in range(g.size):
            row: dict[str, Any] = {
                "generation": g.index,
                "tolerance": g.tolerance,
                "run_id": int(g.run_ids[k]),
            }
            row.update(plan.priors.values(g.fit[k]))
            row.update(weight=float(g.weights[k]), distance=float(g.distances[k]))
            rows.append(row)
    return pa.Table.from_pylist(rows)


def _provenance(
    plan: CalibrationPlan, outcome: CalibrationOutcome, summary: Mapping[str, Any]
) -> list[str]:
    sims = summary["simulations"]
    last = summary["generations"][-1]
    settings = plan.settings
    sets = (
        f"the target set '{plan.targets.name}'"
        if not plan.joint
        else "the target sets "
        + ", ".join(f"'{p.targets.name}' ({p.scenario_path})" for p in plan.pairs)
        + " jointly"
    )
    text = (
        f"Calibrated by `caravan calibrate` to {sets} (run "
        f"directory {outcome.out_dir}, seed {plan.seed}, written "
        f"{datetime.now(UTC).date().isoformat()} by caravan-sim {package_version()}): "
        f"{len(outcome.generations)} ABC-SMC "
        f"generations, {sims['abc']} simulations, final tolerance {_fmt(last['tolerance'])}. "
        f"The values are {describe_point(outcome.point)}: of the posterior medians and the "
        f"{settings.point_candidates} particles closest to the figures, the point whose runs "
        f"with seeds 0-{settings.point_replicates - 1} came closest (median distance)"
        f"{_search_clause(outcome.point)}. Each comment gives the posterior median and 90% "
        "credible interval."
    )
    return textwrap.wrap(text, width=94)


def _calibrated_keys(
    plan: CalibrationPlan,
    point: Mapping[str, float | int],
    summary: Mapping[str, Any],
    *,
    with_fit_settings: bool,
) -> dict[str, Any]:
    """The keys a calibrated file sets, nested: the --set overrides the calibration ran with
    (without the fit's own `calibration.*` settings unless `with_fit_settings`), then each free
    key at the chosen point, commented with its posterior median and 90% interval."""
    nested: dict[str, Any] = {}
    for text in plan.overrides:  # the calibration ran with these: so does the file
        key, _, raw = text.partition("=")
        if not with_fit_settings and key.strip().startswith("calibration."):
            continue
        # read as the calibration read it (YAML 1.2: 014 is 14), so the file means the same
        value = parse_value(raw, f"--set {text}", key.strip())
        _put(nested, key.strip(), value, "as --set in the calibration")
    fitted_to = ", ".join(p.targets.name for p in plan.pairs)
    for prior in plan.priors.priors:
        stats = summary["parameters"][prior.label]
        comment = (
            f"calibrated ({fitted_to}): posterior median {_fmt(stats['median'])}, "
            f"90% interval [{_fmt(stats['p05'])}, {_fmt(stats['p95'])}]"
        )
        for key in prior.keys:
            _put(nested, key, point[prior.label], comment)
    return nested


def _extends(base: Path, path: Path) -> str:
    """What a file written at `path` says it extends: the shipped name of `base` if `base` is
    shipped and `path` lies outside the package (so the file does not point into an installed
    package's folders), else `base` relative to `path`'s folder."""
    name = packaged.shipped_name(base)
    if name is not None and not packaged.is_inside_data(path):
        return name
    return os.path.relpath(base.resolve(), path.resolve().parent)


def calibrated_scenario(
    plan: CalibrationPlan,
    point: Mapping[str, float | int],
    summary: Mapping[str, Any],
    path: Path,
    header: Sequence[str],
) -> str:
    """A scenario file at `path` that extends the calibrated scenario and sets each free key
    to the chosen point's value (by label in `point`), with a comment giving the posterior
    median and interval, and the calibration run in the header."""
    extends = _extends(plan.scenario_path, path)
    nested = _calibrated_keys(plan, point, summary, with_fit_settings=True)
    name = path.stem if path.stem != Path(CALIBRATED_SCENARIO).stem else _default_name(plan)
    lines = [f"# {line}" for line in header]
    lines += [f"name: {name}", f"extends: {extends}"]
    lines.append(
        f"description: >\n  {plan.scenario.name} calibrated to the '{plan.targets.name}' "
        "target set (seeds/targets/)."
    )
    lines += _yaml_lines(nested, 0)
    return "\n".join(lines) + "\n"


def calibrated_behaviour(
    plan: CalibrationPlan,
    behaviour: Path,
    point: Mapping[str, float | int],
    summary: Mapping[str, Any],
    path: Path,
    header: Sequence[str],
) -> str:
    """A behaviour file at `path` that extends `behaviour` (the file the first scenario
    extends) and sets each free key to the chosen point's value, with the posterior median and
    interval in a comment and the calibration run in the header. A context uses it with
    `--behaviour PATH` (its keys then win over the context's own, as the calibration set them
    in every scenario), or by extending it in place of `behaviour`."""
    extends = _extends(behaviour, path)
    what = " and ".join(f"'{p.targets.name}'" for p in plan.pairs)
    nested = _calibrated_keys(plan, point, summary, with_fit_settings=False)
    lines = [f"# {line}" for line in header]
    lines += [
        f"# The behaviour of {behaviour.name} calibrated to "
        + (
            f"the target sets {what} at once." if len(plan.pairs) > 1 else f"the target set {what}."
        ),
        f"# Use it with a caravan's context: caravan validate CONTEXT.yaml --behaviour {path.name}",
        "# (its keys replace the context's, as the calibration set them in every scenario).",
        f"extends: {extends}",
    ]
    lines += _yaml_lines(nested, 0)
    return "\n".join(lines) + "\n"


def _put(nested: dict[str, Any], key: str, value: Any, comment: str) -> None:
    node = nested
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = (value, comment)


def _default_name(plan: CalibrationPlan) -> str:
    return f"{plan.scenario.name}-{plan.targets.name}"


def _yaml_lines(node: Mapping[str, Any], depth: int) -> list[str]:
    lines: list[str] = []
    pad = "  " * depth
    for key, value in node.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines += _yaml_lines(value, depth + 1)
        else:
            number, comment = value
            text = yaml.safe_dump(number, default_flow_style=True, width=1000).strip()
            text = text.removesuffix("\n...").strip()
            lines.append(f"{pad}{key}: {text}  # {comment}")
    return lines


def _fmt(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:.4g}"


def markdown_report(summary: Mapping[str, Any]) -> str:
    """A short report: the fit, the parameters, the targets, the tolerance schedule."""
    sims = summary["simulations"]
    jointly = "".join(
        f" and `{p['scenario']}` to `{p['target_set']}`" for p in summary.get("also", [])
    )
    lines = [
        f"# Calibration of `{summary['scenario']}` to `{summary['target_set']}`{jointly}",
        "",
        f"Scenario file `{summary['scenario_file']}`, seed {summary['seed']}, caravan-sim "
        f"{summary.get('package_version', 'unknown')}. "
        f"ABC-SMC with {summary['settings']['particles']} particles per generation; "
        f"stopped because {summary['stop_reason']}.",
        f"Simulations: {sims['abc']} for the fit, {sims.get('predictive', 0)} posterior "
        f"predictive draws, {sims.get('check', 0)} replicates of the calibrated scenario "
        f"({sims['total']} in all).",
        "",
        "## Parameters",
        "",
        "| parameter | prior | prior 90% | posterior median | posterior 90% | calibrated value |",
        "|---|---|---|---|---|---|",
    ]
    for label, p in summary["parameters"].items():
        prior = p["prior"]
        lines.append(
            f"| {label} | {prior['prior']} [{_fmt(prior['range'][0])}, "
            f"{_fmt(prior['range'][1])}] | [{_fmt(p['prior_p05'])}, {_fmt(p['prior_p95'])}] | "
            f"{_fmt(p['median'])} | [{_fmt(p['p05'])}, {_fmt(p['p95'])}] | "
            f"{p['calibrated_value']} |"
        )
    lines += [
        "",
        "## Targets",
        "",
        f"Posterior predictive: {summary['predictive_draws']} draws, each a particle of the "
        "last generation drawn by weight and simulated with a new seed. Calibrated scenario: "
        f"{summary['point']['chosen']}, {summary['check_replicates']} replicates (seeds 0 and "
        "up).",
        "",
        _point_sentence(summary["point"]),
        "",
        "| target | observed | tolerance | predictive median [90%] | calibrated scenario "
        "median [90%] |",
        "|---|---|---|---|---|",
    ]
    for target_id, t in summary["targets"].items():
        observed = "-" if t["observed"] is None else f"{t['observed']:,.0f}"
        lines.append(
            f"| {target_id} | {observed} | {t['tolerance']} | {_band(t['predictive'])} | "
            f"{_band(t['calibrated_scenario'])} |"
        )
    lines += [
        "",
        "## Generations",
        "",
        "| generation | tolerance | simulations | acceptance | effective sample size |",
        "|---|---|---|---|---|",
    ]
    for g in summary["generations"]:
        lines.append(
            f"| {g['generation']} | {_fmt(g['tolerance'])} | {g['simulations']} | "
            f"{g['acceptance']:.1%} | {g['effective_sample_size']:.0f} |"
        )
    lines += [
        "",
        "Distance: the root mean square of the targets' discrepancies, each 0 at the observed "
        "figure and 1 at the edge of its tolerance.",
        "",
    ]
    return "\n".join(lines)


def _search_clause(point: ChosenPoint) -> str:
    """What the local search did, as the end of a sentence ('' without one)."""
    objectives = point.search_objectives
    if not objectives:
        return ""
    start = "it" if point.search_from is None else f"the values of {point.search_from}"
    return (
        f", then the best of {len(objectives)} points of a local search from {start} on the "
        f"replicates' medians (objective {min(objectives):.3g}; the start's "
        f"{objectives[0]:.3g})"
    )


def _point_sentence(point: Mapping[str, Any]) -> str:
    distances = point["median_distances"]
    search = point.get("search") or {"points": 0}
    text = f"The calibrated scenario sets {point['chosen']}."
    if distances:
        text += (
            f" Of {point['candidates']} candidate points (the posterior medians and the "
            f"particles closest to the figures), each run with seeds "
            f"0-{point['replicates_per_candidate'] - 1}, the one with the smallest median "
            f"distance ({min(distances):.3g}; the posterior medians: {distances[0]:.3g}) was "
            + (
                "where the local search started."
                if search["points"] and not search.get("from")
                else "chosen."
            )
        )
    if search["points"]:
        objectives = search["objectives"]
        if search.get("from"):
            text += f" A local search started from the values of {search['from']}."
        text += (
            f" The search tried {search['points']} points, each run with the same seeds, and "
            f"kept the one whose replicates' medians missed the figures least (objective "
            f"{min(objectives):.3g}; the start's {objectives[0]:.3g})."
        )
    return text


def _band(stats: Mapping[str, float]) -> str:
    if not stats or any(math.isnan(stats.get(k, math.nan)) for k in ("median", "p05", "p95")):
        return "-"
    return f"{stats['median']:,.0f} [{stats['p05']:,.0f}-{stats['p95']:,.0f}]"


def _write_text(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _write_plots(
    summary: Mapping[str, Any],
    sims: pd.DataFrame,
    final: Generation,
    plan: CalibrationPlan,
    out_dir: Path,
) -> None:
    posterior = _particles(plan, [final]).to_pandas()
    predictive = by_summary_target(summary, phase_rows(sims, "predictive", final.index))
    figures.save(figures.calibration_figures(summary, posterior, predictive), out_dir)
