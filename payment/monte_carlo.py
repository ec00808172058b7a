"""Monte Carlo for planners: seeded draws of the what-if inputs, settled on the what-if cells.

Draws come from ``numpy.random.default_rng(seed)``: the same spec gives the same draws, and the
result reports percentiles of the summary and of each hospital's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import _settle_kernels as K
from .settlement import SettlementParams
from .whatif import WhatIfCells, run_whatifs

__all__ = ["Distribution", "MonteCarloResult", "MonteCarloSpec", "monte_carlo"]


#: an uncertain fraction (growth, share): finite, within ±100 (±10,000 %)
Fraction = Annotated[float, Field(ge=-100.0, le=100.0)]


class Distribution(BaseModel):
    """An uncertain input: fixed value, normal(mean, sd), uniform(low, high) or triangular."""

    # strict and finite like the policy: "0.4" or inf in a scenario file is an error, not a value
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    dist: Literal["fixed", "normal", "uniform", "triangular"] = "fixed"
    value: Fraction = 0.0
    mean: Fraction = 0.0
    sd: float = Field(0.0, ge=0.0, le=100.0)
    low: Fraction = 0.0
    mode: Fraction | None = None
    high: Fraction = 0.0

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        if self.dist in ("uniform", "triangular") and self.low > self.high:
            raise ValueError(f"{self.dist}: low ({self.low}) must not exceed high ({self.high})")
        if self.dist == "triangular":
            m = self.mode if self.mode is not None else (self.low + self.high) / 2
            if not self.low <= m <= self.high:
                raise ValueError("triangular: mode must lie in [low, high]")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (fractions)."""
        if self.dist == "normal":
            return rng.normal(self.mean, self.sd, n)
        if self.dist == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.dist == "triangular":
            if self.low == self.high:
                return np.full(n, self.low)
            m = self.mode if self.mode is not None else (self.low + self.high) / 2
            return rng.triangular(self.low, m, self.high, n)
        return np.full(n, self.value)


class MonteCarloSpec(BaseModel):
    """Uncertain inputs of a Monte Carlo run (issue 5 item 4); shares are clipped to [0, 1]."""

    # containers stay lax (a TOML list is a tuple here); every number is strict and finite
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    draws: int = Field(1000, ge=1, le=1_000_000, strict=True)
    seed: int = Field(0, ge=0, le=2**63 - 1, strict=True)
    volume_growth: Distribution = Distribution()
    cost_growth: Distribution = Distribution()
    upcoding_share: Distribution = Distribution()
    level_shift_share: Distribution = Distribution()
    simple_max_points: float = Field(100.0, gt=0.0, le=1e6, strict=True)
    percentiles: tuple[Annotated[float, Field(ge=0.0, le=100.0, strict=True)], ...] = (
        5.0, 25.0, 50.0, 75.0, 95.0)

    def sample(self) -> np.ndarray:
        """The draws as an array [draws, W] (seeded; the same spec gives the same array)."""
        rng = np.random.default_rng(self.seed)
        w = np.zeros((self.draws, K.W))
        w[:, K.W_VOLUME] = np.maximum(self.volume_growth.draw(rng, self.draws), -0.99)
        w[:, K.W_COST] = np.maximum(self.cost_growth.draw(rng, self.draws), -0.99)
        w[:, K.W_UPCODE] = np.clip(self.upcoding_share.draw(rng, self.draws), 0.0, 1.0)
        w[:, K.W_SHIFT] = np.clip(self.level_shift_share.draw(rng, self.draws), 0.0, 1.0)
        return w


@dataclass(frozen=True)
class MonteCarloResult:
    """Draws (inputs and summary per draw), percentiles of the summary and per hospital."""

    draws: pd.DataFrame
    percentiles: pd.DataFrame
    hospitals: pd.DataFrame


def monte_carlo(cells: WhatIfCells, params: SettlementParams, spec: MonteCarloSpec,
                chunk: int | None = None,
                progress: Callable[[int], None] | None = None) -> MonteCarloResult:
    """Seeded Monte Carlo over the what-if inputs; ``progress(n)`` is called per finished chunk."""
    w = spec.sample()
    chunk = chunk or spec.draws
    frames, results = [], []
    for start in range(0, spec.draws, chunk):
        f, r = run_whatifs(cells, params, w[start:start + chunk])
        frames.append(f)
        results.append(r)
        if progress is not None:
            progress(len(f))
    summ = pd.concat(frames, ignore_index=True)
    res = np.vstack(results)
    inputs = pd.DataFrame(w, columns=["volume_growth", "cost_growth", "upcoding_share",
                                      "level_shift_share"])
    draws = pd.concat([inputs, summ], axis=1)
    draws.insert(0, "draw", np.arange(spec.draws))
    q = list(spec.percentiles)
    numeric = [c for c in draws.columns if c not in ("draw", "largest_loss_hospital")]
    pct = draws[numeric].quantile(np.array(q) / 100.0).T
    pct.columns = [f"p{p:g}" for p in q]
    pct.insert(0, "mean", draws[numeric].mean())
    pct.index.name = "metric"
    hosp = pd.DataFrame(np.percentile(res, q, axis=0).T, columns=[f"p{p:g}" for p in q])
    hosp.insert(0, "mean", res.mean(axis=0))
    hosp.insert(0, "p_loss", (res < 0).mean(axis=0))
    hosp.insert(0, "hospital_id", cells.inputs.hospital_ids)
    return MonteCarloResult(draws, pct.reset_index(), hosp)


