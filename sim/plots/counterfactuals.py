"""Counterfactuals: variants of one scenario, run with the same seeds, side by side.
`compare_series` draws one curve over time under each variant; `paired_differences` how much
each variant changes each outcome against a baseline, seed by seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import style
from sim.plots._common import _as_list, _cycle_colors, _figure_and_axes
from sim.plots.curves import Curve, _bands, _curve_values, _date_axis
from sim.results import INTERVAL_PERCENTILES, Results


@style.styled
def compare_series(
    variants: Mapping[str, Sequence[Results]], curve: Curve, ax: Axes | None = None
) -> Figure:
    """One curve under several variants of a scenario: a median line and a 90% band over
    replicates per variant (colours in the order given)."""
    fig, ax = _figure_and_axes(ax, (10, 5))
    colors = _cycle_colors(len(variants))
    start = None
    for (name, runs), color in zip(variants.items(), colors, strict=True):
        replicates = _as_list(runs)
        lo, median, hi = _bands(_curve_values(replicates, curve))
        times = replicates[0].times
        start = replicates[0].start
        ax.plot(times, median, color=color, label=name)  # type: ignore[arg-type]
        if len(replicates) > 1:
            ax.fill_between(times, lo, hi, color=color, alpha=0.15, linewidth=0)  # type: ignore[arg-type]
    if start is not None:
        _date_axis(ax, start)
    ax.set_ylabel(style.PEOPLE_AXIS)
    ax.set_ylim(bottom=0)
    ax.set_title(f"{style.sentence(curve.label)}: median and 90% band over replicates")
    ax.grid(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


@style.styled
def paired_differences(
    variants: Mapping[str, Sequence[Results]],
    baseline: str,
    outcomes: Sequence[str],
    ax: Axes | None = None,
) -> Figure:
    """How much each variant changes each outcome against `baseline`, seed by seed.

    The variants must have run the same seeds (common random numbers), so each difference is
    the policy's, not the dice's: a dot at the median difference over seeds, a line for its
    90% interval. Rows are outcomes; variants are offset within a row, coloured as in
    `compare_series` (the baseline takes the first colour and is not drawn). The axis is
    linear within 10 people of zero and logarithmic beyond, so a change of 50 shows beside one
    of 5,000."""
    if baseline not in variants:
        raise ValueError(f"no variant named '{baseline}'; variants: {', '.join(variants)}")
    base = _as_list(variants[baseline])
    base_seeds = [r.seed for r in base]
    others = [name for name in variants if name != baseline]
    for name in others:
        seeds = [r.seed for r in _as_list(variants[name])]
        if seeds != base_seeds:
            raise ValueError(
                f"variant '{name}' ran seeds {seeds}, '{baseline}' {base_seeds}: pair them by "
                "running every variant with the same seeds"
            )
    fig, ax = _figure_and_axes(ax, (9, 0.2 * len(outcomes) * max(len(others), 1) + 2.0))
    colors = _cycle_colors(len(variants))[1:]
    height = 0.8 / max(len(others), 1)
    for k, (name, color) in enumerate(zip(others, colors, strict=True)):
        xs, ys = [], []
        for row, outcome in enumerate(outcomes):
            y = row - 0.4 + height * (k + 0.5)
            diffs = [
                r.outcomes.get(outcome, np.nan) - b.outcomes.get(outcome, np.nan)
                for r, b in zip(_as_list(variants[name]), base, strict=True)
            ]
            if np.isnan(diffs).any():
                continue  # the outcome does not exist in one of the two (no such authority)
            p05, median, p95 = np.percentile(diffs, INTERVAL_PERCENTILES)
            ax.plot([p05, p95], [y, y], color=color, linewidth=2)
            xs.append(float(median))
            ys.append(y)
        ax.plot(xs, ys, linestyle="none", marker="o", color=color, label=name)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    for row in range(1, len(outcomes)):
        ax.axhline(row - 0.5, color="0.85", linewidth=0.8)
    ax.set_yticks(range(len(outcomes)), [style.outcome_words(o) for o in outcomes])
    ax.set_ylim(len(outcomes) - 0.5, -0.5)
    ax.set_xscale("symlog", linthresh=10.0, linscale=0.5)
    ax.set_xlabel(
        f"Difference from '{baseline}' (people; symmetric log scale; median and 90% interval "
        "over seeds)"
    )
    ax.set_title(f"Paired by seed: {len(base)} seeds per variant")
    ax.grid(True, axis="x")
    ax.legend(loc="best")
    return fig
