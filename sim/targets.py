"""Target sets: the reported figures a run is compared with, read from `seeds/`.

`seeds/sources.yaml` lists who reported what; `seeds/targets/<name>.yaml` holds one target set.
Every target names the model outcome keys whose sum it is compared with, the observed figure,
its source, and a tolerance that says how exact the figure is (see `Tolerance`). The model never
reads these files: they serve calibration and plots only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sim import packaged
from sim.errors import Problem, ScenarioError
from sim.results_schema import FAMILIES, FIXED_OUTCOME_KEYS, is_known_key
from sim.validation import did_you_mean, validate_model
from sim.yamlio import Document, KeyPath, load_yaml

Z_90 = 1.6448536269514722
"""A standard normal's 95th percentile: half-width of a 90% band in standard deviations."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ISO_DAY = r"\d{4}-\d{2}-\d{2}"
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _known_outcome(key: str) -> str:
    """An outcome some run can report; which places a given scenario reports is checked where
    a target set meets a scenario (calibration, `caravan run`'s table)."""
    if not is_known_key(key):
        # The caller's error report adds "(got 'key')"; the hint and where to look are ours.
        families = ", ".join(f"{f.prefix}<place>{f.suffix}" for f in FAMILIES)
        raise ValueError(
            f"unknown outcome key{did_you_mean(key, set(FIXED_OUTCOME_KEYS))}; "
            f"the keys are those of sim.results_schema.OUTCOMES, and per place {families}"
        )
    return key


OutcomeKey = Annotated[str, AfterValidator(_known_outcome)]


def _date_text(value: Any) -> Any:
    """YAML reads an unquoted 2021-01-22 as a date; keep it as the ISO text that was written."""
    return value.isoformat() if isinstance(value, date) else value


def _check_date(text: str) -> str:
    if re.fullmatch(_ISO_DAY, text):
        date.fromisoformat(text)  # a ValueError here names the impossible day
        return text
    if re.fullmatch(f"{_ISO_DAY}/{_ISO_DAY}", text):
        first, last = (date.fromisoformat(part) for part in text.split("/"))
        if first > last:
            raise ValueError("date range ends before it starts; write it as first/last")
        return text
    # Sources the reference leaves undated are described in words, but at least the year.
    if not _YEAR.search(text):
        raise ValueError(
            "expected an ISO date (2021-01-16), a range (2021-01-16/2021-01-18), "
            "or words that name the year ('January 2021 (undated)')"
        )
    return text


class _Frozen(BaseModel):
    """Unknown keys are errors (a misspelt key must not fall back to a default); values frozen.

    Sequences are lists, not tuples: on `tuple[X, ...]` the error reporting in sim.scenario
    cannot find the model an unknown key belongs to, and pydantic adds a spurious "too short".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Frozen):
    """Who reported a figure, when, through whom, and what (one line in the project's words)."""

    outlet: str = Field(min_length=1)
    date: Annotated[str, BeforeValidator(_date_text), AfterValidator(_check_date)]
    via: str = ""
    what: str = Field(min_length=1)


class Tolerance(_Frozen):
    """How exact an observed figure is; exactly one of the three kinds is given.

    - `relative`: the figure is right to within this fraction of itself (0.10 = ±10%).
    - `range`: the true value lies in [lo, hi]; `.inf` as hi for "at least lo".
    - `binomial_of`: the figure is a count of successes out of another target's count (21
      positives out of 104 tested); compare the proportions, not the raw counts, since small
      counts are noisy.
    - `poisson: true`: the figure is a small count with counting noise of about its square
      root (21 positives: roughly 14-29 at 90%); compared as such.

    `discrepancy` turns each kind into one scale: 0 is a perfect match, 1 the edge of what the
    tolerance allows (for `binomial_of` and `poisson`, the edge of a 90% band). A range has no
    preferred value: 0 anywhere inside it, and 1 more for each half-width outside.
    """

    relative: float | None = Field(default=None, gt=0.0)
    range: tuple[float, float] | None = None
    binomial_of: OutcomeKey | None = None
    poisson: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Tolerance:
        given = [self.relative, self.range, self.binomial_of, self.poisson]
        if sum(kind is not None for kind in given) != 1:
            raise ValueError(
                "give exactly one of 'relative', 'range', 'binomial_of' or 'poisson: true'"
            )
        if self.range is not None:
            lo, hi = self.range
            if not math.isfinite(lo) or math.isnan(hi) or lo > hi:
                raise ValueError("range must be [lo, hi] with a finite lo <= hi (hi may be .inf)")
        return self


class Target(_Frozen):
    """One reported figure and the model outcomes whose sum is compared with it.

    `observed` may be left out only when the tolerance is a range (a source that says "dozens"
    gives bounds, not a number). `by` is the local wall-clock time the source dates the figure to;
    without it the figure is compared with the end of the run.
    """

    id: str = Field(pattern=_ID.pattern)
    outcome: list[OutcomeKey] = Field(min_length=1)
    observed: float | None = Field(default=None, ge=0.0)
    source: str = Field(min_length=1)
    see_also: list[str] = []
    note: str = Field(min_length=1)
    tolerance: Tolerance
    by: datetime | None = None

    @model_validator(mode="after")
    def _observed_fits_tolerance(self) -> Target:
        band = self.tolerance.range
        if self.observed is None and band is None:
            raise ValueError("missing 'observed'; it may be left out only with a range tolerance")
        if self.observed is not None and band is not None:
            lo, hi = band
            if not lo <= self.observed <= hi:
                raise ValueError(f"observed {self.observed:g} lies outside its range [{lo}, {hi}]")
        return self

    def discrepancy(self, value: float, trials: tuple[float, float] | None = None) -> float:
        """How far the model's `value` is from the figure, in units of its tolerance (0: a match,
        1: the edge of the tolerance). `trials` is (observed, model) for `binomial_of`: the
        number of trials the figure and the model's value are counts out of."""
        tol, observed = self.tolerance, self.observed
        if tol.range is not None:
            lo, hi = tol.range
            # beyond a finite band: in half-widths; beyond "at least lo": in units of lo
            scale = (hi - lo) / 2 if math.isfinite(hi) and hi > lo else max(abs(lo), 1.0)
            return max(lo - value, value - hi, 0.0) / scale
        assert observed is not None  # only a range may leave it out
        if tol.relative is not None:
            return abs(value - observed) / (tol.relative * max(observed, 1.0))
        if tol.poisson:
            return abs(value - observed) / (Z_90 * math.sqrt(max(observed, 1.0)))
        if trials is None:
            raise ValueError(f"target '{self.id}' compares proportions: give the trials")
        n_observed, n_model = trials
        p_observed = observed / n_observed
        if n_model <= 0:  # nobody tested in the model: compare with a proportion of 0
            spread = p_observed * (1 - p_observed) / n_observed
            return p_observed / (Z_90 * math.sqrt(spread)) if spread > 0 else float(observed > 0)
        p_model = value / n_model
        pooled = (observed + value) / (n_observed + n_model)
        spread = pooled * (1 - pooled) * (1 / n_observed + 1 / n_model)
        if spread <= 0:  # both proportions 0 or both 1
            return 0.0 if p_model == p_observed else math.inf
        # two-sample test of proportions: 1 at the edge of a 90% band
        return abs(p_model - p_observed) / (Z_90 * math.sqrt(spread))

    def accepts(self, discrepancy: float) -> bool:
        """Whether a value with this `discrepancy` is within the tolerance: inside a range (a
        range's discrepancy grows from 0 at its edges, to rank values outside it), otherwise
        at most 1."""
        return discrepancy <= (0.0 if self.tolerance.range is not None else 1.0)

    def band(self) -> tuple[float, float] | None:
        """The values the tolerance accepts: a range itself, otherwise those whose discrepancy
        is at most 1. None for `binomial_of`, whose band moves with the model's number of
        trials."""
        tol, observed = self.tolerance, self.observed
        if tol.range is not None:
            return tol.range
        assert observed is not None
        if tol.relative is not None:
            half = tol.relative * max(observed, 1.0)
        elif tol.poisson:
            half = Z_90 * math.sqrt(max(observed, 1.0))
        else:
            return None
        return (max(observed - half, 0.0), observed + half)

    def value_from(self, outcomes: Mapping[str, float]) -> float:
        """The model's value for this target: the sum of its outcome keys in `outcomes`."""
        missing = [key for key in self.outcome if key not in outcomes]
        if missing:
            raise KeyError(f"target '{self.id}' needs outcome(s) {missing} that the run lacks")
        return float(sum(outcomes[key] for key in self.outcome))


class TargetSet(_Frozen):
    """A named set of targets, e.g. the seed article's figures or the official ones."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    targets: list[Target] = Field(min_length=1)

    def trials_of(self, target: Target) -> Target | None:
        """For a `binomial_of` target, the target in this set that counts its trials."""
        of = target.tolerance.binomial_of
        if of is None:
            return None
        return next((t for t in self.targets if t.outcome == [of]), None)

    def discrepancies(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each target's discrepancy (`Target.discrepancy`), given the model's value of every
        target by id."""
        out: dict[str, float] = {}
        for target in self.targets:
            trials = None
            counted = self.trials_of(target)
            if counted is not None:
                assert counted.observed is not None  # checked when the set was loaded
                trials = (counted.observed, values[counted.id])
            out[target.id] = target.discrepancy(values[target.id], trials)
        return out


class _SourcesFile(_Frozen):
    sources: dict[str, Source] = Field(min_length=1)


def seeds_dir() -> Path:
    """The shipped `seeds/` directory (reported figures, sources, target sets): package data,
    the repository's `seeds/` in a clone."""
    return packaged.seeds_dir()


def _targets_dir() -> Path:
    return seeds_dir() / "targets"


COMPARED_SETS = ("seed-article", "official")
"""The shipped target sets a run is compared with, in the order tables and plots show them."""


def load_compared_sets(names: Sequence[str] = COMPARED_SETS) -> list[TargetSet]:
    """The target sets `names` (default: COMPARED_SETS), loaded and checked, each once (a
    name given twice is loaded once, where it first appears)."""
    return [load_target_set(name) for name in dict.fromkeys(names)]


def available_target_sets() -> list[str]:
    """Names of the target sets shipped in `seeds/targets/`, sorted."""
    return sorted(path.stem for path in _targets_dir().glob("*.yaml"))


def describe_target(target: Target) -> str:
    """The reported figure in a few characters: "4,957", "2,000-4,500", ">= 21", with its date."""
    tol = target.tolerance
    if target.observed is not None:
        text = f"{target.observed:,.0f}"
    elif tol.range is not None:
        lo, hi = tol.range
        text = f"{lo:,.0f}-{hi:,.0f}" if hi != float("inf") else f">= {lo:,.0f}"
    else:
        text = "?"
    if target.by is not None:  # compared at that time, not at the end of the run
        text += f" by {target.by:%d %b %H:%M}"
    return text


SOURCES = "sources.yaml"


def load_sources(path: Path | None = None) -> dict[str, Source]:
    """Read and check a sources file (default: the shipped `seeds/sources.yaml`); raise
    ScenarioError naming file and line if invalid."""
    doc = load_yaml(path or seeds_dir() / SOURCES)
    parsed: _SourcesFile = validate_model(_SourcesFile, doc.data, doc, ())
    problems = [
        doc.problem(("sources", key), f"source id '{key}' must be lower case, digits, - or _")
        for key in parsed.sources
        if not _ID.match(key)
    ]
    if problems:
        raise ScenarioError(problems)
    return dict(parsed.sources)


def load_target_set(name: str | Path) -> TargetSet:
    """Load a target set by name ("seed-article", "official") or from a path to a YAML file.

    Checks the schema, that every source id is in its sources file (`sources_path_for`), and
    that target ids are unique and `binomial_of` refers to a target of the same set; raises one
    ScenarioError with file and line for every problem found.
    """
    path = target_set_path(name)
    doc = load_yaml(path)
    target_set: TargetSet = validate_model(TargetSet, doc.data, doc, ())
    sources_path = sources_path_for(path)
    problems = _cross_problems(target_set, load_sources(sources_path), doc, sources_path)
    if problems:
        raise ScenarioError(problems)
    return target_set


def sources_path_for(target_set_file: Path) -> Path:
    """The sources file a target set's source ids refer to: a `sources.yaml` beside the file or
    one folder up (the layout of `seeds/targets/<name>.yaml` and `seeds/sources.yaml`, which
    `caravan init` copies), else the shipped one."""
    for folder in (target_set_file.parent, target_set_file.parent.parent):
        if (folder / SOURCES).is_file():
            return folder / SOURCES
    return seeds_dir() / SOURCES


def target_set_path(name: str | Path) -> Path:
    if isinstance(name, str) and name in available_target_sets():
        return _targets_dir() / f"{name}.yaml"
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    known = ", ".join(available_target_sets())
    raise ScenarioError(
        [
            Problem(
                str(name),
                None,
                "",
                f"unknown target set{did_you_mean(str(name), set(available_target_sets()))}; "
                f"expected one of: {known}, or a path to a YAML file",
            )
        ]
    )


def _cross_problems(
    target_set: TargetSet, sources: Mapping[str, Source], doc: Document, sources_path: Path
) -> list[Problem]:
    """Checks between targets and against the sources, which one target alone cannot make."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, target in enumerate(target_set.targets):
        if target.id in seen:
            problems.append(doc.problem(("targets", i, "id"), f"target '{target.id}' given twice"))
        seen.add(target.id)
        cited: list[tuple[KeyPath, str]] = [(("targets", i, "source"), target.source)]
        cited += [(("targets", i, "see_also", j), s) for j, s in enumerate(target.see_also)]
        for path, source_id in cited:
            if source_id not in sources:
                problems.append(
                    doc.problem(
                        path,
                        f"unknown source id '{source_id}'{did_you_mean(source_id, set(sources))}"
                        f"; add it to {sources_path}",
                    )
                )
        # A binomial count needs its number of trials observed in the same set.
        of = target.tolerance.binomial_of
        if of is None:
            continue
        trials = next((t.observed for t in target_set.targets if t.outcome == [of]), None)
        if trials is None:
            problems.append(
                doc.problem(
                    ("targets", i, "tolerance", "binomial_of"),
                    f"no target in this set gives an observed count of '{of}' alone",
                )
            )
        elif target.observed is not None and target.observed > trials:
            problems.append(
                doc.problem(
                    ("targets", i, "observed"), f"{target.observed:g} successes out of {trials:g}"
                )
            )
    return problems
