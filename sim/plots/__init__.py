"""Plots: pure functions, data in and a matplotlib Figure out.

Every function draws on the `ax` it is given, or on a new Figure of its own, and returns the
Figure; none reads a file, runs a model or shows a window. Figures are made without pyplot, so
importing this package chooses no backend: scripts save them (`fig.savefig`), notebooks display
them. Counts are people; times are the scenario's local clock. Use every name as
`sim.plots.<name>` (the modules are not the API); where each is defined, by subject:

- `curves`: `timeseries` (curves over time with the median and 90% band over replicates,
  reported figures overlaid), the `Curve` it draws and the curve sets `PEOPLE_BY_STATE`,
  `CUMULATIVE` and `HEALTH` (labelled from `sim.results_schema`).
- `maps`: `network_map` (people at places and on roads at one time, over the borders of
  `sim.borders`, with a scale bar and a north arrow), `NetworkMap` (the same map redrawn step by
  step, for animations) and `MapGeometry` (what maps of one run share, computed once for maps
  drawn side by side); `map_labels` sets the labels clear of markers and of one another.
- `targets`: `outcomes_vs_targets` (a run's outcomes beside each target set), drawn one set at
  a time by `target_comparison`, and `reported_span` (the range a reported figure stands for).
- `counterfactuals`: `compare_series` (one curve under several variants) and
  `paired_differences` (each variant against a baseline, seed by seed).
- `sweeps`: `sweep_heatmap` (an outcome over two parameters), `sweep_line` (over one), and
  `sobol_bars` (Sobol' indices).
- `calibration`: `posterior_pairs` (the posterior as parameter pairs), `predictive_check` (each
  target's posterior predictive distribution against the reported figure), and
  `compare_posteriors` (parameters under several target sets, on the priors' scale).
- `validation`: `validation_intervals` (each figure of a target set beside the model's median
  and 90% interval over a validation's replicates, each row relative to its figure) and
  `row_reference` (what a row is scaled by).
- `style`: the one style every figure is drawn in (`style.RC`, `style.styled`, the palette)
  and the words figures use for outcomes, targets and parameters (`style.outcome_words`,
  `style.target_words`, `style.parameter_words`), imported as `sim.plots.style`.
- `_common`: what they share, such as `root_figure` (the Figure an axes is drawn in).
"""

from __future__ import annotations

from sim.plots._common import root_figure
from sim.plots.calibration import compare_posteriors, posterior_pairs, predictive_check
from sim.plots.counterfactuals import compare_series, paired_differences
from sim.plots.curves import (
    CUMULATIVE,
    HEALTH,
    PEOPLE_BY_STATE,
    REPORTED_MARKERS,
    Curve,
    timeseries,
)
from sim.plots.maps import (
    INACTIVE_ALPHA,
    LABEL_SHARE,
    MAX_PLACE_AREA_PT2,
    MAX_ROAD_WIDTH_PT,
    MIN_ROAD_WIDTH_PT,
    SEA_COLOR,
    STATUS_BOX_WIDTH_IN,
    STATUS_CAPTIONS,
    STATUS_FONT_PT,
    STATUS_LINE_PT,
    MapGeometry,
    NetworkMap,
    degrees_of_longitude,
    network_map,
    place_label,
    scale_bar_km,
)
from sim.plots.sweeps import BINS, MAX_LEVELS, sobol_bars, sweep_heatmap, sweep_line
from sim.plots.targets import outcomes_vs_targets, reported_span, target_comparison
from sim.plots.validation import row_reference, validation_intervals

__all__ = [
    "BINS",
    "CUMULATIVE",
    "HEALTH",
    "INACTIVE_ALPHA",
    "LABEL_SHARE",
    "MAX_LEVELS",
    "MAX_PLACE_AREA_PT2",
    "MAX_ROAD_WIDTH_PT",
    "MIN_ROAD_WIDTH_PT",
    "PEOPLE_BY_STATE",
    "REPORTED_MARKERS",
    "SEA_COLOR",
    "STATUS_BOX_WIDTH_IN",
    "STATUS_CAPTIONS",
    "STATUS_FONT_PT",
    "STATUS_LINE_PT",
    "Curve",
    "MapGeometry",
    "NetworkMap",
    "compare_posteriors",
    "compare_series",
    "degrees_of_longitude",
    "network_map",
    "outcomes_vs_targets",
    "paired_differences",
    "place_label",
    "posterior_pairs",
    "predictive_check",
    "reported_span",
    "root_figure",
    "row_reference",
    "scale_bar_km",
    "sobol_bars",
    "sweep_heatmap",
    "sweep_line",
    "target_comparison",
    "timeseries",
    "validation_intervals",
]
