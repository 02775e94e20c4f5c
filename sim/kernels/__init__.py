"""The migrant kernel: every migrant's step, compiled with numba.

- `step`: the entry points (`step_migrants_serial`, `step_migrants_parallel`), chunks, tallies;
- `passes`: the two passes over a chunk that make one step (what each does, in order);
- `rules`: what happens to one migrant, as small functions of numbers and one place's effects
  (`sim.rules.effects`), applied without knowing which rule wrote them;
- `rng`: the compiled copy of `sim.rng.uniform`;
- `cache`: where numba keeps the compiled code (named by a fingerprint of these sources).

Counter columns come from `sim.results_schema`.
"""

from __future__ import annotations

from sim.kernels.cache import kernel_cache

with kernel_cache():  # before any compiled function of the kernel is defined
    from sim.kernels.step import (
        CHUNK,
        StepInputs,
        StepParams,
        Tallies,
        empty_tallies,
        infect,
        step_migrants_parallel,
        step_migrants_serial,
    )

__all__ = [
    "CHUNK",
    "StepInputs",
    "StepParams",
    "Tallies",
    "empty_tallies",
    "infect",
    "step_migrants_parallel",
    "step_migrants_serial",
]
