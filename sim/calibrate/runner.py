"""Running a calibration: ABC-SMC generations, then the posterior checks, stored as they finish.

The simulations go through the sweep machinery: `execute_runs` sends batches to an executor
(this process, local worker processes or a Dask cluster) and every finished batch is recorded
at once in a `SweepStore` (one row per simulation). Nothing else is state: the generations are
recomputed from the recorded simulations, because proposal i of generation t, and its
simulation, are the same whenever and wherever they are made (`sim.calibrate.abc`). So a
calibration stopped at any point resumes where it stopped, and ends with the same result as one
that was never stopped.

Phases (the `phase` column), each with its own run ids:
- "abc": generation t's proposal i (`generation` t, `index` i);
- "predictive": posterior predictive draws: a particle of the last generation drawn by weight,
  simulated anew (`generation`: the one drawn from);
- "candidate": the points the calibrated scenario may take, each run with seeds 0, 1, ...: the
  posterior medians, and the last generation's particles that came closest to the figures (a
  particle's joint values keep the correlations that separate medians lose);
- "search" (only with `point_search`): a local search from the candidate with the smallest
  median distance, each point it tries run with the candidates' seeds; it moves to lower
  `point_objective`, the misses of the replicates' median values (`_search_point`);
- "check": the calibrated scenario (that candidate, or the search's best point) run with
  seeds 0, 1, ..., as `caravan run --replicates R` would.
`generation` is, for the last three, the generation they come from: a resumed calibration that
gets further (a larger budget) checks its new last generation under new run ids. Every recorded
simulation a phase would run again is checked to be the same (seed and parameters).

A joint calibration (several scenario and target set pairs) runs each of those simulations once
per pair, with the same parameters and seed: pair k's run id is k x PAIR_STRIDE plus the first
pair's, and its row has a `caravan` column (k), its own targets' values and discrepancies, and
`distance`, its own targets' distance. What the fit compares with the tolerance is the combined
distance of all pairs' discrepancies (`combined_distance` over every target of every pair).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.optimize import minimize

from sim import package_version
from sim.calibrate import abc
from sim.calibrate.abc import FloatArray, Generation
from sim.calibrate.plan import CalibrationPair, CalibrationPlan
from sim.errors import CaravanError
from sim.progress import ProgressReporter
from sim.scenario.calibration import CalibrationSection
from sim.sweep.executors import Executor, ExecutorError
from sim.sweep.plan import RunSpec
from sim.sweep.runner import execute_runs, library_versions, settled_sessions, utc_now
from sim.sweep.store import DamagedPart, SweepStore, load_sweep, open_to_resume

RUN_ID_STRIDE = 10**9  # run id = phase-or-generation x stride + index
SEARCH = 96  # in place of the generation in the run ids of the local search's points
CANDIDATE = 97  # ... of candidate points
PREDICTIVE = 98  # ... of posterior predictive draws
CHECK = 99  # ... and of the calibrated scenario's replicates
PER_GENERATION = 10**6  # simulations of one of those phases for one last generation, at most
PER_CANDIDATE = 1000  # replicates of one candidate point, at most
# the check replicates of a point the local search found, apart from the candidates' (whose
# number is at most 998 plus the medians)
SEARCHED_SLOT = PER_GENERATION // PER_CANDIDATE - 1
# The search aims each figure with a number at this share of its tolerance (a range: inside
# it), so that the median of more replicates than it ran still lies within the tolerance.
SEARCH_AIM = 0.7
SEARCH_FIRST_STEP = 0.1  # the local search's first simplex: this share of each range
SEARCH_MIN_STEP = 0.01  # ... halved after each restart that found nothing better, down to this
SEARCH_STALL_PER_DIMENSION = 5  # restart after this many points per parameter without a better
PAIR_STRIDE = 10**12  # run id of pair k's simulation = k x stride + the first pair's
PAIR_COLUMN = "caravan"  # a joint calibration's rows: the pair (0, 1, ...) a row belongs to
MIN_ROUND = 16  # simulations: smaller rounds leave workers idle
ROUND_MARGIN = 1.2  # a round aims at 20% more than the acceptance rate says is needed
# A round is at most this many proposals per particle: a guess that is too low costs another
# round, one too high costs simulations that are never kept.
MAX_ROUND_PER_PARTICLE = 2

PHASES = ("abc", "predictive", "candidate", "search", "check")
SCENARIO_FILE = "scenario.yaml"
TARGETS_FILE = "targets.yaml"


@dataclass(frozen=True)
class CalibrationOutcome:
    """What a calibration session ended with."""

    out_dir: Path
    generations: tuple[Generation, ...]
    stop_reason: str
    simulations: dict[str, int]  # by phase
    simulations_now: int  # run by this session
    status: str  # "complete" or "interrupted"
    point: ChosenPoint
    damaged: tuple[DamagedPart, ...] = ()  # parts --resume set aside and simulated again


@dataclass(frozen=True)
class ChosenPoint:
    """The calibrated scenario's values, and how they were chosen."""

    values: dict[str, float | int]  # by label, as written (rounded)
    candidate: int  # 0: the posterior medians; k > 0: the k-th closest particle
    run_id: int | None  # the particle's simulation; None for the medians
    median_distances: list[float]  # of every candidate, over its replicates
    # the local search from that candidate: every point it tried, in order, by its
    # `point_objective` (the first is the candidate itself); empty without a search
    search_objectives: list[float] = field(default_factory=list)
    searched_best: int = 0  # the tried point whose values these are (0: the start's)
    search_from: str | None = None  # the file whose values started the search, if not the candidate

    @property
    def check_slot(self) -> int:
        """Where the check replicates' run ids put this point: the candidate's own slot, or
        SEARCHED_SLOT for a point the search found."""
        return SEARCHED_SLOT if self.searched_best or self.search_from else self.candidate


def run_id(generation: int, index: int) -> int:
    return generation * RUN_ID_STRIDE + index


def pair_of(run: int) -> int:
    """The pair (0 for the first scenario) whose simulation has run id `run`."""
    return run // PAIR_STRIDE


def combined_distance(discrepancies: Iterable[float]) -> float:
    """Root mean square of the targets' discrepancies: 1 when every target sits at the edge of
    its tolerance."""
    values = np.asarray(list(discrepancies), dtype=np.float64)
    values = np.where(np.isnan(values), np.inf, values)
    return float(np.sqrt(np.mean(values**2)))


def point_objective(discrepancies: Sequence[float], aims: Sequence[float]) -> float:
    """What the local search lowers: the sum of each figure's squared excess of discrepancy
    over its aim (0 for a range: anywhere outside it misses; `SEARCH_AIM` for a figure with a
    tolerance around a number), plus a hundredth of the mean squared discrepancy, so that of
    two points with every figure on aim the closer one wins. 0 only at the figures."""
    d = np.asarray(discrepancies, dtype=np.float64)
    if np.isnan(d).any():
        return math.inf
    excess = np.maximum(d - np.asarray(aims, dtype=np.float64), 0.0)
    return float(np.sum(excess**2) + 0.01 * np.mean(d**2))


class _Simulations:
    """The recorded simulations (a row of values each, by run id), and running more of them
    through the executor into the store. A simulation is named by the first pair's run id; in
    a joint calibration it is run once per pair."""

    def __init__(
        self,
        plan: CalibrationPlan,
        store: SweepStore,
        executor: Executor,
        batch_size: int | None,
    ) -> None:
        self.plan = plan
        self.pairs = plan.pairs
        self.store = store
        self.executor = executor
        self.batch_size = batch_size
        # per run id, what the fit reads again (a whole row is ~60 values; budgets run to 10^5)
        self.kept = ("phase", "generation", "seed", "distance", *plan.priors.labels)
        self.rows: dict[int, dict[str, Any]] = {}
        self.ran_now = 0
        recorded = load_sweep(store.dir)
        if len(recorded):
            columns = [c for c in recorded.columns if c.startswith(("discrepancy.", "target."))]
            for row in recorded[["run_id", *self.kept, *columns]].to_dict(orient="records"):
                self._keep(row)

    def _keep(self, row: dict[Any, Any]) -> None:
        run = int(row["run_id"])
        kept = {k: row[k] for k in self.kept}
        readings = self.pairs[pair_of(run)].readings
        kept["discrepancies"] = [row[f"discrepancy.{r.target.id}"] for r in readings]
        kept["values"] = [row[f"target.{r.target.id}"] for r in readings]
        self.rows[run] = kept

    def count(self, phase: str, generation: int | None = None) -> int:
        """Recorded simulations of `phase` (and of `generation`, if given), of every pair."""
        return sum(
            1
            for r in self.rows.values()
            if r["phase"] == phase and generation in (None, r["generation"])
        )

    def distance(self, run: int) -> float:
        """The distance of simulation `run` (a first-pair run id): the combined distance of
        every pair's discrepancies, which for one pair is its row's distance."""
        discrepancies = [
            d
            for k in range(len(self.pairs))
            for d in self.rows[k * PAIR_STRIDE + run]["discrepancies"]
        ]
        return combined_distance(discrepancies)

    def objective_of_medians(self, runs: Sequence[int]) -> float:
        """`point_objective` of the replicates `runs` (first-pair run ids of one point): each
        figure's discrepancy taken at the median of its values over the replicates, as
        `caravan validate` compares them."""
        discrepancies: list[float] = []
        aims: list[float] = []
        for k, pair in enumerate(self.pairs):
            values = np.array([self.rows[k * PAIR_STRIDE + r]["values"] for r in runs])
            medians = np.median(values, axis=0)
            ids = [r.target.id for r in pair.readings]
            by_id = pair.targets.discrepancies(dict(zip(ids, map(float, medians), strict=True)))
            discrepancies += [by_id[i] for i in ids]
            aims += [
                0.0 if r.target.tolerance.range is not None else SEARCH_AIM for r in pair.readings
            ]
        return point_objective(discrepancies, aims)

    def ensure(
        self, specs: Sequence[RunSpec], phase: str, generation: int, bar: ProgressReporter
    ) -> None:
        """Run the specs not yet recorded (for every pair), recording each batch as it
        finishes. A spec already recorded must be the same simulation (seed and parameters);
        otherwise the calibration directory holds another calibration's, or the libraries that
        draw proposals changed."""
        for k, pair in enumerate(self.pairs):
            pair_specs = [_for_pair(spec, k) for spec in specs]
            for spec in pair_specs:
                self._check_recorded(spec, phase)
            todo = [s for s in pair_specs if s.run_id not in self.rows]
            if not todo:
                continue
            labels = {s.run_id: self._labelled(s) for s in todo}
            results = execute_runs(
                pair.scenario, todo, self.executor, self.batch_size, at_steps=pair.at_steps
            )
            with closing(results):
                for batch in results:
                    table = self._annotated(batch.runs, labels, phase, generation, k)
                    self.ran_now += self.store.write_batch(table)
                    columns = [
                        c for c in table.column_names if c.startswith(("discrepancy.", "target."))
                    ]
                    for row in table.select(["run_id", *self.kept, *columns]).to_pylist():
                        self._keep(row)
                    bar.advance(table.num_rows)

    def _check_recorded(self, spec: RunSpec, phase: str) -> None:
        row = self.rows.get(spec.run_id)
        if row is not None and (
            row["seed"] != spec.seed
            or row["phase"] != phase
            or any(row[k] != v for k, v in self._labelled(spec).items())
        ):
            raise CaravanError(
                f"{self.store.dir}: the recorded simulation {spec.run_id} differs from the "
                f"one this calibration makes now ({phase}); were numpy or scipy upgraded? "
                "Start a new calibration with another --out"
            )

    def _labelled(self, spec: RunSpec) -> dict[str, Any]:
        """Parameter values by label (a tied parameter sets several keys to one value)."""
        return {p.label: spec.values[p.key] for p in self.plan.priors.priors}

    def _annotated(
        self,
        runs: pa.Table,
        labels: dict[int, dict[str, Any]],
        phase: str,
        generation: int,
        pair: int,
    ) -> pa.Table:
        """The worker's rows with phase, generation, parameters, target values and distance
        (of this pair's targets); in a joint calibration, with the pair."""
        rows = runs.to_pylist()
        plan = self.pairs[pair]
        for row in rows:
            values = plan.target_values(row)
            discrepancies = plan.targets.discrepancies(values)
            within_pair = row["run_id"] % PAIR_STRIDE
            row.update(
                phase=phase,
                generation=generation,
                index=within_pair % (RUN_ID_STRIDE if phase == "abc" else PER_GENERATION),
                **({PAIR_COLUMN: pair} if len(self.pairs) > 1 else {}),
                **labels[row["run_id"]],
                **{f"target.{k}": v for k, v in values.items()},
                **{f"discrepancy.{k}": v for k, v in discrepancies.items()},
                distance=combined_distance(discrepancies.values()),
            )
        return pa.Table.from_pylist(rows)


def _for_pair(spec: RunSpec, pair: int) -> RunSpec:
    """The first pair's simulation `spec` as pair `pair` runs it: same parameters and seed."""
    if pair == 0:
        return spec
    offset = pair * PAIR_STRIDE
    return RunSpec(
        run_id=spec.run_id + offset,
        point_id=spec.point_id + offset,
        replicate=spec.replicate,
        seed=spec.seed,
        values=spec.values,
    )


def run_calibration(
    plan: CalibrationPlan,
    out_dir: Path,
    executor: Executor,
    resume: bool = False,
    batch_size: int | None = None,
    progress: Callable[..., ProgressReporter] | None = None,
) -> CalibrationOutcome:
    """Fit `plan` in `out_dir` (new, or the same calibration when resuming), then run the
    posterior predictive draws and the calibrated scenario's replicates.

    Ctrl-C records every finished batch and re-raises KeyboardInterrupt; `resume=True`
    continues from what is recorded.
    """
    store = _open_store(plan, out_dir, resume)
    make_progress = progress or ProgressReporter
    with store:
        session: dict[str, Any] = {
            "started": utc_now(),
            "ended": None,
            "status": "running",
            "executor": executor.name,
            "runs": 0,
        }
        done_before = len(store.done_run_ids())
        sessions = [*settled_sessions(store.manifest.get("sessions", []), done_before), session]
        store.update_manifest(status="running", sessions=sessions, budget=plan.settings.budget)
        status = "failed"
        sims = _Simulations(plan, store, executor, batch_size)
        # the budget counts parameter sets; a joint calibration runs each on every scenario
        budget = plan.settings.budget * len(plan.pairs)
        what = " and ".join(f"{p.scenario.name} to {p.targets.name}" for p in plan.pairs)
        try:
            with make_progress(
                f"calibrate {what}",
                budget,
                min(sims.count("abc"), budget),
                unit="simulations",
            ) as bar:
                generations, stop_reason = _fit(plan, sims, bar)
            if not generations:
                raise CaravanError("the budget ran out before the first generation was complete")
            final = generations[-1]
            candidates = candidate_points(plan, final, sims)
            settings = plan.settings
            checks = settings.predictive_draws + settings.check_replicates
            checks += settings.point_replicates * len(candidates) if len(candidates) > 1 else 0
            checks += settings.point_replicates * settings.point_search  # at most
            checks *= len(plan.pairs)
            done = sum(sims.count(p, final.index) for p in ("predictive", "candidate", "check"))
            with make_progress(
                "posterior checks", checks, min(done, checks), unit="simulations"
            ) as bar:
                sims.ensure(predictive_specs(plan, final), "predictive", final.index, bar)
                point = _choose_point(plan, final, candidates, sims, bar)
                if settings.point_search:
                    point = _search_point(plan, final, point, sims, bar)
                sims.ensure(check_specs(plan, final, point), "check", final.index, bar)
            status = "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except ExecutorError:
            status = "executor lost"
            raise
        finally:
            ran_now = sims.ran_now
            session.update(ended=utc_now(), status=status, runs=ran_now)
            searched = plan.settings.point_search or sims.count("search")
            counts = {p: sims.count(p) for p in PHASES if p != "search" or searched}
            store.update_manifest(
                status=status,
                sessions=sessions,
                simulations=counts,
                runs_done=len(store.done_run_ids()),
                finished=session["ended"] if status == "complete" else None,
            )
        store.update_manifest(
            stop_reason=stop_reason,
            generations=[_generation_summary(g) for g in generations],
        )
    return CalibrationOutcome(
        out_dir,
        tuple(generations),
        stop_reason,
        counts,
        ran_now,
        status,
        point,
        store.damaged_on_open,
    )


def _fit(
    plan: CalibrationPlan, sims: _Simulations, bar: ProgressReporter
) -> tuple[list[Generation], str]:
    """Generations until a stopping rule holds; returns them and the rule that stopped them."""
    settings = plan.settings
    generations: list[Generation] = []
    previous: Generation | None = None
    used = 0  # simulations of complete generations
    for g in range(settings.generations):
        tolerance = math.inf
        if previous is not None:
            tolerance = abc.next_tolerance(previous, settings.quantile, settings.min_tolerance)
            if tolerance >= previous.tolerance:
                return generations, (
                    f"the tolerance stopped falling ({tolerance:.3g}): more generations would "
                    "not sharpen the fit"
                )
        generation, stop = _generation(plan, sims, bar, previous, g, tolerance, used)
        if generation is None:
            return generations, stop
        generations.append(generation)
        used += generation.simulations
        bar.note(
            f"generation {g}: tolerance {tolerance:.3g}; {generation.within_tolerance} of "
            f"{generation.simulations} proposals within it ({generation.acceptance:.1%}), the "
            f"first {generation.size} kept; effective sample size {generation.effective_size:.0f}"
        )
        previous = generation
        if tolerance <= settings.min_tolerance:
            return generations, f"reached the minimum tolerance {settings.min_tolerance:g}"
        if generation.acceptance < settings.min_acceptance:
            return generations, (
                f"acceptance fell to {generation.acceptance:.2%}, below "
                f"{settings.min_acceptance:.2%}"
            )
    return generations, f"ran all {settings.generations} generations"


def _generation(
    plan: CalibrationPlan,
    sims: _Simulations,
    bar: ProgressReporter,
    previous: Generation | None,
    g: int,
    tolerance: float,
    used: int,
) -> tuple[Generation | None, str]:
    """Propose and simulate in rounds until `particles` proposals are accepted (the first ones
    by index). None, with the reason, if the budget or the acceptance rate runs out first."""
    settings = plan.settings
    n = settings.particles
    accepted: list[int] = []
    proposals: dict[int, np.ndarray] = {}
    tried = 0
    within = 0
    while len(accepted) < n:
        if previous is not None and tried >= n / settings.min_acceptance:
            return None, (
                f"generation {g} accepted {len(accepted)} of {tried} proposals, less than "
                f"{settings.min_acceptance:.2%}; the fit stops at generation {g - 1}"
            )
        size = min(
            _round_size(g, n, len(accepted), tried, _expected_rate(settings, previous)),
            MAX_ROUND_PER_PARTICLE * n,
        )
        size = min(size, settings.budget - used - tried)
        if size <= 0:
            return None, (
                f"the budget of {settings.budget} simulations ran out in generation {g}; "
                f"the fit stops at generation {g - 1}"
            )
        indices = range(tried, tried + size)
        for i in indices:
            proposals[i] = abc.propose(plan.priors, previous, plan.seed, g, i)
        specs = [
            RunSpec(
                run_id=run_id(g, i),
                point_id=run_id(g, i),
                replicate=0,
                seed=abc.simulation_seed(plan.seed, g, i),
                values=plan.priors.scenario_values(proposals[i]),
            )
            for i in indices
        ]
        sims.ensure(specs, "abc", g, bar)
        for i in indices:
            if sims.distance(run_id(g, i)) <= tolerance:
                within += 1
                if len(accepted) < n:
                    accepted.append(i)
        tried += size
    fit = np.array([proposals[i] for i in accepted])
    distances = np.array([sims.distance(run_id(g, i)) for i in accepted])
    if previous is None:
        weights = np.full(n, 1.0 / n)
    else:
        weights = abc.importance_weights(plan.priors, fit, previous)
    ids = np.array([run_id(g, i) for i in accepted], dtype=np.int64)
    return Generation(g, tolerance, fit, weights, distances, ids, tried, within), ""


def _expected_rate(settings: CalibrationSection, previous: Generation | None) -> float:
    """A first guess at a generation's acceptance: about the quantile that sets the tolerance
    at first, then a little below the last generation's (it tends to fall)."""
    if previous is None or previous.index == 0:
        return settings.quantile
    return max(0.8 * previous.acceptance, settings.min_acceptance)


def _round_size(g: int, n: int, accepted: int, tried: int, expected_rate: float) -> int:
    """How many proposals to simulate next: depends only on counts, never on the executor, so
    the same proposals are simulated whatever runs them."""
    if g == 0:
        return n - accepted  # no tolerance yet: every draw is kept
    if tried == 0:
        rate = expected_rate
    elif accepted == 0:
        rate = 0.5 / tried  # none yet: at most about one in `tried`
    else:
        rate = accepted / tried
    return max(MIN_ROUND, math.ceil((n - accepted) / rate * ROUND_MARGIN))


def posterior_medians(plan: CalibrationPlan, final: Generation) -> dict[str, float | int]:
    """Each parameter's weighted median, rounded to 4 significant digits as the calibrated
    scenario writes it, by label."""
    out: dict[str, float | int] = {}
    for j, prior in enumerate(plan.priors.priors):
        values = np.array([prior.value(float(x)) for x in final.fit[:, j]], dtype=np.float64)
        median = abc.weighted_quantiles(values, final.weights, (0.5,))[0]
        out[prior.label] = prior.value_rounded(median)
    return out


def predictive_specs(plan: CalibrationPlan, final: Generation) -> list[RunSpec]:
    """Posterior predictive draws: particle k drawn by weight, simulated with a new seed."""
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, PREDICTIVE, final.index]))
    picks = rng.choice(final.size, size=plan.settings.predictive_draws, p=final.weights)
    ids = [run_id(PREDICTIVE, final.index * PER_GENERATION + k) for k in range(len(picks))]
    return [
        RunSpec(
            run_id=ids[k],
            point_id=ids[k],
            replicate=0,
            seed=abc.simulation_seed(plan.seed, PREDICTIVE, ids[k]),
            values=plan.priors.scenario_values(final.fit[j]),
        )
        for k, j in enumerate(picks)
    ]


def candidate_points(
    plan: CalibrationPlan, final: Generation, sims: _Simulations
) -> list[tuple[dict[str, float | int], int | None]]:
    """Points the calibrated scenario may take, as (values by label, rounded as written; the
    particle's run id or None): the posterior medians first, then the last generation's
    `point_candidates` particles whose own simulation came closest to the figures."""
    points: list[tuple[dict[str, float | int], int | None]] = [
        (posterior_medians(plan, final), None)
    ]
    distances = np.array([sims.distance(int(r)) for r in final.run_ids])
    closest = np.argsort(distances, kind="stable")[: plan.settings.point_candidates]
    for k in closest:
        values = {
            p.label: p.value_rounded(p.value(float(x)))
            for p, x in zip(plan.priors.priors, final.fit[k], strict=True)
        }
        points.append((values, int(final.run_ids[k])))
    return points


def _point_specs(
    plan: CalibrationPlan,
    values: dict[str, float | int],
    phase: int,
    first: int,
    replicates: int,
) -> list[RunSpec]:
    """A point run with seeds 0 .. replicates-1 (as `caravan run --replicates` would)."""
    scenario_values = {k: values[p.label] for p in plan.priors.priors for k in p.keys}
    ids = [run_id(phase, first + r) for r in range(replicates)]
    return [RunSpec(ids[r], ids[0], r, r, scenario_values) for r in range(replicates)]


def _choose_point(
    plan: CalibrationPlan,
    final: Generation,
    candidates: list[tuple[dict[str, float | int], int | None]],
    sims: _Simulations,
    bar: ProgressReporter,
) -> ChosenPoint:
    """The candidate with the smallest median distance over `point_replicates` seeds (the same
    seeds for every candidate, so the comparison is the points', not the seeds'); the first
    on a tie, which is the medians if they tie."""
    if len(candidates) == 1:
        values, particle = candidates[0]
        return ChosenPoint(values, 0, particle, [])
    replicates = plan.settings.point_replicates
    medians: list[float] = []
    for c, (values, _) in enumerate(candidates):
        first = final.index * PER_GENERATION + c * PER_CANDIDATE
        specs = _point_specs(plan, values, CANDIDATE, first, replicates)
        sims.ensure(specs, "candidate", final.index, bar)
        medians.append(float(np.median([sims.distance(s.run_id) for s in specs])))
    best = int(np.argmin(medians))
    values, particle = candidates[best]
    return ChosenPoint(values, best, particle, medians)


class _SearchSpentError(Exception):
    """The local search has tried `point_search` points."""


class _SearchStalledError(Exception):
    """The local search has tried SEARCH_STALL_PER_DIMENSION points per parameter since it last
    found a better one."""


def _search_point(
    plan: CalibrationPlan,
    final: Generation,
    start: ChosenPoint,
    sims: _Simulations,
    bar: ProgressReporter,
) -> ChosenPoint:
    """A local search from the chosen candidate (or from `plan.search_from`, a file's values)
    for a point whose replicates' medians meet
    every figure: Nelder-Mead (scipy) within the priors' ranges, scaled to a unit cube in fit
    space (a loguniform parameter on its log), on `point_objective` of each point run with
    seeds 0 .. `point_replicates`-1. The same seeds for every point make the objective a
    deterministic function of the values, so the search moves on the points and not on the
    noise, and a resumed calibration retraces it over its recorded runs. Values are rounded as
    written before they run.

    Nelder-Mead in a dozen dimensions settles, or crawls, well before it has seen the best
    nearby, so the search restarts from the best point so far, with a new first simplex, when a
    run converges or has found nothing better for SEARCH_STALL_PER_DIMENSION points per
    parameter; the simplex is a tenth of each range, halved after each restart that found
    nothing better, until SEARCH_MIN_STEP. It stops there or after `point_search` distinct
    points; the best tried (the first on a tie, so the candidate itself if nothing beat it) is
    the calibrated point."""
    priors = plan.priors.priors
    low = np.array([p.bounds[0] for p in priors])
    span = np.array([p.bounds[1] for p in priors]) - low
    replicates = plan.settings.point_replicates
    stall_after = SEARCH_STALL_PER_DIMENSION * len(priors)
    tried: list[tuple[dict[str, float | int], float, FloatArray]] = []
    objective_by_values: dict[tuple[float | int, ...], float] = {}
    since_best = 0

    def objective(unit: FloatArray) -> float:
        nonlocal since_best
        unit = np.clip(unit, 0.0, 1.0)
        fit = low + unit * span
        values = {
            p.label: p.value_rounded(p.value(float(x))) for p, x in zip(priors, fit, strict=True)
        }
        key = tuple(values.values())
        if key not in objective_by_values:
            if len(tried) == plan.settings.point_search:
                raise _SearchSpentError
            if since_best >= stall_after:
                raise _SearchStalledError
            first = final.index * PER_GENERATION + len(tried) * PER_CANDIDATE
            specs = _point_specs(plan, values, SEARCH, first, replicates)
            sims.ensure(specs, "search", final.index, bar)
            value = sims.objective_of_medians([s.run_id for s in specs])
            better = not tried or value < min(o for _, o, _ in tried)
            since_best = 0 if better else since_best + 1
            objective_by_values[key] = value
            tried.append((values, value, unit))
        return objective_by_values[key]

    start_values = start.values if plan.search_from is None else plan.search_from.values
    start_fit = [
        math.log(start_values[p.label]) if p.log_scale else float(start_values[p.label])
        for p in priors
    ]
    centre = np.clip((np.array(start_fit) - low) / span, 0.0, 1.0)
    step = SEARCH_FIRST_STEP
    while step >= SEARCH_MIN_STEP:
        best_before = min((o for _, o, _ in tried), default=math.inf)
        # the first simplex: `step` of each range from the centre, toward the inside
        steps = np.where(centre + step <= 1.0, step, -step)
        simplex = np.vstack([centre, centre + np.diag(steps)])
        since_best = 0
        try:
            minimize(
                objective,
                centre,
                method="Nelder-Mead",
                bounds=[(0.0, 1.0)] * len(priors),
                options={
                    "initial_simplex": simplex,
                    "maxfev": 20 * plan.settings.point_search,  # tried again: not run again
                    "xatol": 1e-4,
                    "fatol": 0.0,
                    "adaptive": True,  # parameters scaled to the dimension (Gao and Han)
                },
            )
        except _SearchSpentError:
            break
        except _SearchStalledError:
            pass
        best = int(np.argmin([o for _, o, _ in tried]))
        if tried[best][1] >= best_before:
            step /= 2
        centre = tried[best][2]
    objectives = [o for _, o, _ in tried]
    best = int(np.argmin(objectives))
    return ChosenPoint(
        tried[best][0] if best else start_values,
        start.candidate,
        start.run_id,
        start.median_distances,
        objectives,
        best,
        None if plan.search_from is None else str(plan.search_from.path),
    )


def check_specs(plan: CalibrationPlan, final: Generation, point: ChosenPoint) -> list[RunSpec]:
    """The calibrated scenario with seeds 0 .. R-1, as `caravan run --replicates R` runs it."""
    first = final.index * PER_GENERATION + point.check_slot * PER_CANDIDATE
    return _point_specs(plan, point.values, CHECK, first, plan.settings.check_replicates)


def _generation_summary(g: Generation) -> dict[str, Any]:
    return {
        "generation": g.index,
        "tolerance": None if math.isinf(g.tolerance) else g.tolerance,
        "accepted": g.size,
        "within_tolerance": g.within_tolerance,
        "simulations": g.simulations,
        "acceptance": g.acceptance,
        "effective_sample_size": g.effective_size,
    }


def _open_store(plan: CalibrationPlan, out_dir: Path, resume: bool) -> SweepStore:
    fingerprints = plan.fingerprints()
    if not resume:
        return SweepStore.create(
            out_dir,
            _manifest(plan, fingerprints),
            files={
                SCENARIO_FILE: plan.scenario.to_yaml(),
                TARGETS_FILE: plan.targets_text,
                **{f"scenario-{k}.yaml": p.scenario.to_yaml() for k, p in _others(plan)},
                **{f"targets-{k}.yaml": p.targets_text for k, p in _others(plan)},
            },
            design=plan.priors_table(),
        )
    what = {
        "scenario": "the scenario (or its --set values)",
        "targets": "the target set",
        "settings": "the calibration settings or the seed",
    }
    return open_to_resume(
        out_dir,
        "caravan-calibration",
        fingerprints,
        what,
        f"resume with the same inputs (see {out_dir / SCENARIO_FILE}; only --budget may change), "
        "or start a new calibration with another --out",
    )


def _others(plan: CalibrationPlan) -> list[tuple[int, CalibrationPair]]:
    """A joint calibration's pairs after the first, with their numbers (1, 2, ...)."""
    return list(enumerate(plan.also, start=1))


def _manifest(plan: CalibrationPlan, fingerprints: dict[str, str]) -> dict[str, Any]:
    joint = {
        "also": [
            {
                "caravan": k,
                "scenario_file": str(p.scenario_path),
                "targets": p.targets_name,
                "target_set": p.targets.name,
                "files": [f"scenario-{k}.yaml", f"targets-{k}.yaml"],
            }
            for k, p in _others(plan)
        ]
    }
    return {
        **(joint if plan.joint else {}),
        "format": 1,
        "kind": "caravan-calibration",
        "name": plan.scenario.name,
        "scenario_file": str(plan.scenario_path),
        "overrides": list(plan.overrides),
        "targets": plan.targets_name,
        "target_set": plan.targets.name,
        "package_version": package_version(),
        "versions": library_versions(),
        "created": utc_now(),
        "finished": None,
        "status": "running",
        "seed": plan.seed,
        "settings": plan.settings.model_dump(mode="json"),
        "parameters": [
            {"label": p.label, "keys": list(p.keys), **p.spec.model_dump(mode="json")}
            for p in plan.priors.priors
        ],
        "fingerprints": fingerprints,
        "sessions": [],
    }
