"""The columns that identify a run in a sweep's or calibration's results table (apart, so that
`caravan check` can name them without importing the worker, and through it the model)."""

from __future__ import annotations

ID_COLUMNS = ("run_id", "point_id", "replicate", "seed")
