"""ABC-SMC, the algorithm alone: proposals, tolerances and importance weights (no I/O).

Population Monte Carlo ABC (Beaumont, Cornuet, Marin and Robert 2009; Toni et al. 2009), with an
adaptive tolerance (Del Moral, Doucet and Jasra 2012): generation 0 draws from the prior and
keeps every draw; generation t > 0 sets its tolerance to a quantile of generation t-1's
distances, proposes by picking a particle of t-1 by weight and moving it with a Gaussian kernel
of twice the population's weighted covariance, and keeps the first N proposals whose simulation
lands within the tolerance; each kept particle is weighted by prior / proposal density.

Determinism on any number of workers: proposal i of generation t is drawn from its own random
stream, keyed by (seed, t, i), and simulated with its own seed, so its parameters and outcome do
not depend on which proposals were simulated before it, or where. A generation keeps the first N
accepted proposals *by index*, so the order in which simulations finish does not matter either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

from sim.calibrate.priors import PriorSet
from sim.errors import CaravanError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_PROPOSAL_TRIES = 10_000
"""Kernel moves tried for one proposal before giving up (each lands outside the prior's range)."""

_STREAM_PROPOSAL = 0
_STREAM_SEED = 1


@dataclass(frozen=True)
class Generation:
    """The particles one generation accepted."""

    index: int
    tolerance: float  # inf for generation 0
    fit: FloatArray  # [N, D] fit-space parameters (see sim.calibrate.priors)
    weights: FloatArray  # [N], sum to 1
    distances: FloatArray  # [N]
    run_ids: IntArray  # [N] the simulation each particle came from
    simulations: int  # how many proposals the generation simulated
    within_tolerance: int  # how many of those landed within the tolerance (N were kept)

    @property
    def size(self) -> int:
        return int(self.fit.shape[0])

    @property
    def acceptance(self) -> float:
        """The share of simulated proposals that landed within the tolerance."""
        return self.within_tolerance / self.simulations if self.simulations else 0.0

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size of the weights."""
        return float(1.0 / np.sum(self.weights**2))

    @cached_property
    def kernel_cov(self) -> FloatArray:
        """Twice the weighted covariance (Beaumont et al. 2009), kept positive definite."""
        cov = 2.0 * np.atleast_2d(np.cov(self.fit, rowvar=False, aweights=self.weights))
        # a parameter every particle agrees on (or a whole-number one) must still move a little
        floor = 1e-12 + 1e-10 * np.abs(np.diag(cov)).max(initial=0.0)
        return np.asarray(cov + np.eye(cov.shape[0]) * floor, dtype=np.float64)

    @cached_property
    def kernel_chol(self) -> FloatArray:
        return np.asarray(np.linalg.cholesky(self.kernel_cov), dtype=np.float64)


def _rng(seed: int, generation: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, generation, index, stream]))


def simulation_seed(seed: int, generation: int, index: int) -> int:
    """The model seed for proposal `index` of `generation` (independent of every other's)."""
    state = np.random.SeedSequence([seed, generation, index, _STREAM_SEED]).generate_state(1)
    return int(state[0])


def propose(
    priors: PriorSet, previous: Generation | None, seed: int, generation: int, index: int
) -> FloatArray:
    """Proposal `index` of `generation`: a prior draw in generation 0, then a kernel move of a
    particle of `previous` picked by weight, retried until it lands inside the prior's range."""
    rng = _rng(seed, generation, index, _STREAM_PROPOSAL)
    if previous is None:
        return priors.sample(rng)
    chol = previous.kernel_chol
    for _ in range(MAX_PROPOSAL_TRIES):
        parent = previous.fit[rng.choice(previous.size, p=previous.weights)]
        moved: FloatArray = parent + chol @ rng.standard_normal(priors.dim)
        if priors.inside(moved):
            return moved
    raise CaravanError(
        f"generation {generation}: {MAX_PROPOSAL_TRIES} moves in a row left the prior's range; "
        "the posterior presses against a prior bound, so widen that prior's range"
    )


def importance_weights(priors: PriorSet, fit: FloatArray, previous: Generation) -> FloatArray:
    """Weights of newly accepted particles: prior density over the density of the proposal
    (the previous population moved by the kernel), normalised to sum to 1."""
    cov = previous.kernel_cov
    inv = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    diff = fit[:, None, :] - previous.fit[None, :, :]  # [new, old, D]
    mahalanobis = np.einsum("nod,de,noe->no", diff, inv, diff)
    log_kernel = -0.5 * (mahalanobis + logdet + priors.dim * np.log(2 * np.pi))
    log_proposal = logsumexp(log_kernel + np.log(previous.weights)[None, :], axis=1)
    log_w = priors.logpdf(fit) - log_proposal
    w = np.exp(log_w - log_w.max())
    return np.asarray(w / w.sum(), dtype=np.float64)


def next_tolerance(previous: Generation, quantile: float, min_tolerance: float) -> float:
    """The `quantile` of the previous generation's distances, but not below `min_tolerance`."""
    return max(float(np.quantile(previous.distances, quantile)), min_tolerance)


def weighted_quantiles(
    values: FloatArray, weights: FloatArray, probabilities: tuple[float, ...]
) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted distribution function)."""
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    picks = np.searchsorted(cdf, np.asarray(probabilities) - 1e-12, side="left")
    return [float(values[order][min(i, len(values) - 1)]) for i in picks]
