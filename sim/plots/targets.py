"""Outcomes against target sets: `target_comparison` (each target of a set: the reported figure
and its tolerance beside the model's value), `outcomes_vs_targets` (several sets side by side),
and `reported_span` (the range a reported figure stands for, as `timeseries` draws it too).
Each figure is named in words: what it counts and the time it is dated to
(`sim.plots.style.target_words`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import style
from sim.plots._common import _figure_and_axes, root_figure
from sim.results import INTERVAL_PERCENTILES, Results
from sim.targets import Target, TargetSet


def reported_span(target: Target, target_set: TargetSet) -> tuple[float, float]:
    """The range a reported figure stands for: its tolerance, as people.

    What the tolerance accepts (`Target.band`: observed x (1 -/+ r) for `relative`, the range
    as given, whose upper end may be inf, or a Poisson count's 90% band); for a binomial count,
    the 90% interval of a binomial with the observed number of trials and rate (how much a
    count as small as 21 of 104 varies by chance).
    """
    band = target.band()
    if band is not None:
        return band
    tol = target.tolerance
    assert target.observed is not None  # the schema requires it without a range
    trials = next(t.observed for t in target_set.targets if t.outcome == [tol.binomial_of])
    assert trials is not None  # load_target_set checks the trials are observed
    # scipy.special's binomial CDF, not scipy.stats' binom.ppf: the same quantiles (checked on
    # 3,000 cases) without importing scipy.stats, a second of a run's figures.
    from scipy.special import bdtr  # noqa: PLC0415 - only for sets with a binomial target

    n = round(trials)
    cdf = bdtr(np.arange(n + 1), n, target.observed / trials)
    lo, hi = np.searchsorted(cdf, [0.05, 0.95])  # the least k whose CDF reaches each level
    return float(lo), float(hi)


@style.styled
def target_comparison(
    runs: Results | Sequence[Results] | Sequence[Mapping[str, float]],
    target_set: TargetSet,
    ax: Axes | None = None,
    rows: int | None = None,
    place_names: Mapping[str, str] | None = None,
    legend: bool = True,
) -> Figure:
    """One row per target: the reported figure (a white diamond) and its tolerance (a grey bar)
    beside the model's value (a dot at the median over replicates, a line for the 90% interval).
    People on a log scale, so 21 positives and 8,000 departures both show; zero sits at the
    left edge. A target whose outcome the run lacks is marked "not in this run". `rows` (at
    least the number of targets) spaces the rows as for that many, so panels side by side
    line up. Rows are named in words, places by `place_names` (id -> name) where given;
    `legend=False` leaves the legend to the caller (one for several panels)."""
    per_replicate = _outcomes(runs)
    n_rows = max(rows or 0, len(target_set.targets))
    fig, ax = _figure_and_axes(ax, (8, 0.4 * n_rows + 1.5))
    reported_x: list[float] = []
    reported_y: list[int] = []
    model_x: list[float] = []
    model_y: list[int] = []
    for row, target in enumerate(target_set.targets):
        lo, hi = reported_span(target, target_set)
        ax.plot(
            [lo, min(hi, 1e9)],
            [row, row],
            color=style.LIGHT_GREY,
            linewidth=7,
            solid_capstyle="butt",
        )
        if target.observed is not None:
            reported_x.append(target.observed)
            reported_y.append(row)
        try:
            values = [target.value_from(o) for o in per_replicate]
        except KeyError:
            ax.text(1.0, row, " not in this run", va="center", fontsize="small", color="0.4")
            continue
        p05, median, p95 = np.percentile(values, INTERVAL_PERCENTILES)
        ax.plot([p05, p95], [row, row], color=style.COLORS["blue"], linewidth=2)
        model_x.append(float(median))
        model_y.append(row)
    ax.plot(
        model_x,
        model_y,
        linestyle="none",
        marker="o",
        color=style.COLORS["blue"],
        label=f"Model: median and 90% interval of {_runs(len(per_replicate))}",
    )
    # Hollow and on top, so a model dot on the reported figure shows through.
    ax.plot(
        reported_x,
        reported_y,
        linestyle="none",
        marker="D",
        markersize=8,
        markerfacecolor="none",
        markeredgecolor="black",
        label="Reported figure (grey: its tolerance)",
        zorder=3,
    )
    names = [style.target_words(t.outcome, t.by, place_names) for t in target_set.targets]
    ax.set_yticks(range(len(target_set.targets)), names)
    ax.set_ylim(n_rows - 0.5, -0.5)  # first target on top
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
    finite = [x for x in (*reported_x, *model_x) if x > 0]
    ax.set_xlim(0, 3 * max(finite, default=10.0))
    ax.set_xlabel("People (log scale)")
    ax.set_title(f"Target set '{target_set.name}'")
    ax.grid(True, axis="x")
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    return fig


def _runs(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs"


@style.styled
def outcomes_vs_targets(
    runs: Results | Sequence[Results] | Sequence[Mapping[str, float]],
    target_sets: Sequence[TargetSet],
    axes: Sequence[Axes] | None = None,
    place_names: Mapping[str, str] | None = None,
) -> Figure:
    """`target_comparison` for each target set (on `axes`, one per set). On a Figure of its
    own, the sets are stacked on one people axis, each panel as tall as its rows (no empty
    rows), with one legend below them all."""
    if axes is None:
        rows = [len(s.targets) for s in target_sets]
        fig = Figure(figsize=(9, 0.32 * sum(rows) + 0.75 * len(rows) + 1.0), layout="constrained")
        grid = fig.subplots(
            len(rows), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": rows}
        )
        drawn = list(grid[:, 0])
        for ax, target_set in zip(drawn, target_sets, strict=True):
            target_comparison(runs, target_set, ax=ax, place_names=place_names, legend=False)
        drawn[0].set_xlim(0, max(ax.get_xlim()[1] for ax in drawn))  # shared: the widest
        for ax in drawn[:-1]:
            ax.set_xlabel("")
        handles, labels = drawn[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
        return fig
    if len(axes) != len(target_sets):
        raise ValueError(f"{len(target_sets)} target sets need as many axes, got {len(axes)}")
    tallest = max(len(s.targets) for s in target_sets)
    for ax, target_set in zip(axes, target_sets, strict=True):
        target_comparison(runs, target_set, ax=ax, rows=tallest, place_names=place_names)
    return root_figure(axes[0])


def _outcomes(
    runs: Results | Sequence[Results] | Sequence[Mapping[str, float]],
) -> list[Mapping[str, float]]:
    if isinstance(runs, Results):
        return [runs.outcomes]
    return [r.outcomes if isinstance(r, Results) else r for r in runs]
