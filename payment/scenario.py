"""What-if scenarios for planners: a base policy + sparse overrides, grid sweeps, Monte Carlo.

Pricing is done once. Each scenario then recomputes only what its parameters touch:

* **settlement keys** (``settlement.*``, ``point_value.reimbursement_ratio`` …) re-run only the
  cents kernel on the per-hospital aggregates (:func:`payment.settlement.prepare`, done once);
  a grid is encoded as one base row plus the few slots each override changes;
* **what-if keys** (``whatif.volume_growth``, ``whatif.cost_growth``, ``whatif.upcoding_share``,
  ``whatif.level_shift_share``) recombine basis sums taken once per hospital × month ×
  alliance × quantity × what-if term (:class:`WhatIfCells`) and settle; no case is touched
  again, and a draw costs O(hospitals × months);
* any **other policy key** (weights, outliers, special review …) re-prices the cases with
  ``payment.price`` — correct, and as slow as pricing.

What-ifs are exact for volume growth and for the settlement keys; cost growth keeps each
case's class and points (points come from the weights, fixed before the year), upcoding moves
points by the ratio of the groups' mean base points, and the level shift re-prices moved cases
with the destination level's mean coefficient and cost per base point. Monte Carlo draws the
what-if parameters from seeded distributions (``numpy.random.default_rng(seed)``) and reports
percentiles; the same seed gives the same draws.
"""


from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import _settle_kernels as K
from .monte_carlo import Distribution, MonteCarloResult, MonteCarloSpec, monte_carlo
from .overrides import SETTLEMENT_PV_KEYS, override_policy
from .overrides import is_settlement_key as _is_settlement_key
from .policy import validation_error
from .settlement import SettlementInputs, SettlementParams, encode
from .settlement_policy import SettlementPolicy
from .tiered_care import LevelShift
from .tiered_settlement import ShiftMonteCarlo
from .whatif import (
    SUMMARY_COLUMNS,
    WHATIF_BOUNDS,
    WHATIF_KEYS,
    WhatIfCells,
    _summary_frame,
    build_cells,
    demo_whatif,
    run_whatifs,
)
from .whatif import _check_whatifs as _check_whatifs

__all__ = [
    "Distribution",
    "MonteCarloResult",
    "MonteCarloSpec",
    "Scenario",
    "WhatIfCells",
    "build_cells",
    "demo_whatif",
    "load_scenario",
    "monte_carlo",
    "override_policy",
    "run_whatifs",
    "sweep",
    "sweep_settlement",
    "SETTLEMENT_PV_KEYS",
    "SUMMARY_COLUMNS",
    "WHATIF_BOUNDS",
    "WHATIF_KEYS",
    "SimulationResult",
    "load_base_policy",
    "load_benefits",
    "read_priced_cases",
    "simulate",
]

# ------------------------------------------------------------------------------ settlement-only grid


def _encode_with(inputs: SettlementInputs, policy: Any, over: dict[str, Any],
                 encode_kw: dict[str, Any]) -> SettlementParams:
    """Encode ``policy`` + ``over``; a bare SettlementPolicy takes point-value keys as arguments."""
    kw = dict(encode_kw)
    if isinstance(policy, SettlementPolicy):
        for key in ("reimbursement_ratio", "reserve_withheld"):
            if f"point_value.{key}" in over:
                over = dict(over)
                kw[key] = over.pop(f"point_value.{key}")
        bad = [k for k in over if k.startswith("point_value.")]
        if bad:
            raise ValueError(f"{bad}: a bare settlement policy has no [point_value] table")
    pol = override_policy(policy, over) if over else policy
    return encode(inputs, pol, **kw)


_PARAM_FIELDS = ("p", "tiers", "rel", "al_budget", "al_tiers", "al_nt", "scores")


def _pad(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _stack(params: list[SettlementParams]) -> dict[str, np.ndarray]:
    """Stack per-scenario kernel arrays into batch arrays (tier tables zero-padded)."""
    out: dict[str, np.ndarray] = {}
    for f in _PARAM_FIELDS:
        arrs = [np.asarray(getattr(x, f)) for x in params]
        shape = tuple(max(s) for s in zip(*(a.shape for a in arrs), strict=True))
        out[f] = np.stack([_pad(a, shape) for a in arrs])
    out["ntiers"] = np.array([x.ntiers for x in params], dtype=np.int64)
    out["nrel"] = np.array([x.nrel for x in params], dtype=np.int64)
    return out


def sweep_settlement(
    inputs: SettlementInputs,
    policy: Any,
    grid: dict[str, list[Any]],
    **encode_kw: Any,
) -> pd.DataFrame:
    """Every combination of settlement-only ``grid`` values, settled in one parallel batch.

    Each key's values are validated and encoded once (k keys × n values, not the product);
    a combination is the base row with each key's changed slots written in. When two keys
    change the same slot (or the encoding does not separate) the combination is encoded in full.
    Returns one row per combination: the grid values, then the summary columns.
    """
    keys = list(grid)
    base = encode(inputs, policy, **encode_kw)
    sizes = [len(grid[k]) for k in keys]
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij"), -1).reshape(
        -1, len(keys))  # itertools.product order
    ns = len(idx)
    try:
        per_key = [[_encode_with(inputs, policy, {k: v}, encode_kw) for v in grid[k]]
                   for k in keys]
    except ValueError:
        per_key = []  # a value valid only together with another key's: encode in full
    batch: dict[str, np.ndarray] | None = None
    if per_key:
        # Base row + every key's values, stacked to one padded shape.
        flat = [base] + [x for vals in per_key for x in vals]
        st = _stack(flat)
        offs = np.cumsum([1] + sizes[:-1])
        fields = list(_PARAM_FIELDS) + ["ntiers", "nrel"]
        masks = []
        for k, off in enumerate(offs):
            sl = slice(off, off + sizes[k])
            masks.append({f: (st[f][sl] != st[f][0]).any(axis=0) for f in fields})
        clash = any((masks[i][f] & masks[j][f]).any()
                    for i, j in itertools.combinations(range(len(keys)), 2) for f in fields)
        if not clash:
            batch = {f: np.repeat(st[f][:1], ns, axis=0) for f in fields}
            for k, off in enumerate(offs):
                st_rows = off + idx[:, k]
                for f in fields:
                    m = masks[k][f]
                    if m.any():
                        batch[f][:, m] = st[f][st_rows][:, m]
    if batch is None:
        batch = _stack([
            _encode_with(inputs, policy, {k: grid[k][i] for k, i in zip(keys, c, strict=True)},
                         encode_kw)
            for c in idx
        ])
    b = batch
    out = K.settle_batch(inputs.hd, inputs.md, inputs.ad, inputs.member_of, b["scores"], b["p"],
                         b["tiers"], b["ntiers"], b["rel"], b["nrel"], b["al_budget"],
                         b["al_tiers"], b["al_nt"])
    table = pd.DataFrame({k: np.asarray(grid[k], dtype=object)[idx[:, j]]
                          for j, k in enumerate(keys)})
    return pd.concat([table, _summary_frame(out, inputs)], axis=1)



# ------------------------------------------------------------------------------ mixed sweeps


def sweep(
    grid: dict[str, list[Any]],
    policy: Any,
    *,
    cells: WhatIfCells,
    reprice: Callable[[Any], pd.DataFrame] | None = None,
    progress: Callable[[int], None] | None = None,
    **encode_kw: Any,
) -> pd.DataFrame:
    """Every combination of ``grid`` (dotted keys), each through the cheapest exact path.

    Settlement keys only → :func:`sweep_settlement`; with what-if keys → cell re-aggregation;
    with other policy keys → ``reprice(policy)`` (a function returning priced cases) and a full
    settlement. Returns one row per combination.
    """
    keys = list(grid)
    if not keys:
        return pd.DataFrame()
    wkeys = [k for k in keys if k in WHATIF_KEYS]
    pkeys = [k for k in keys if k not in WHATIF_KEYS and not _is_settlement_key(k)]
    if not wkeys and not pkeys:
        out = sweep_settlement(cells.inputs, policy, grid, **encode_kw)
        if progress is not None:
            progress(len(out))
        return out
    if pkeys and reprice is None:
        raise ValueError(f"grid keys {pkeys} are read by pricing: re-pricing needs the raw "
                         "cases (a scenario with `cases =`, or pass reprice=)")
    rows = []
    combos = list(itertools.product(*[grid[k] for k in keys]))
    for combo in combos:
        over = dict(zip(keys, combo, strict=True))
        pol_over = {k: v for k, v in over.items() if k not in WHATIF_KEYS}
        pol = policy
        if pkeys:
            pol = override_policy(policy, {k: over[k] for k in pkeys})
        w = np.zeros((1, K.W))
        for k in wkeys:
            w[0, WHATIF_KEYS[k]] = float(over[k])
        if pkeys:
            assert reprice is not None
            c = build_cells(reprice(pol), pol)
        elif any(k.startswith("settlement.alliances") or k == "settlement.exclude_classes"
                 for k in pol_over):
            raise ValueError("settlement.alliances / exclude_classes change the aggregation of "
                             "the cases: set them in the base policy, not in the grid")
        else:
            c = cells
        set_over = {k: v for k, v in pol_over.items() if k not in pkeys}
        summ, _ = run_whatifs(c, _encode_with(c.inputs, pol, set_over, encode_kw), w)
        rows.append(summ.assign(**{k: [v] for k, v in over.items()}))
        if progress is not None:
            progress(1)
    out = pd.concat(rows, ignore_index=True)
    return out[keys + [c for c in out.columns if c not in keys]]


# ------------------------------------------------------------------------------ scenario file


class Scenario(BaseModel):
    """A scenario TOML: base policy + overrides, optional grid sweep and Monte Carlo.

    Paths are relative to the scenario file. ``cases`` are raw cases (grouped with ``scheme``,
    weights from the years before ``year``, priced) or ``priced_cases`` already priced.
    """

    # overrides stay free-form here (the policy validates them strictly); the numbers are strict
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = "scenario"
    description: str = ""
    policy: str = "national_drg"
    cases: str | None = None
    priced_cases: str | None = None
    scheme: str | None = None
    year: int | None = Field(None, ge=1900, le=2200, strict=True)
    prior_year_actual: float | None = Field(None, ge=0.0, le=1e15, strict=True,
                                            description="last year's actual spending, yuan")
    overrides: dict[str, Any] = Field(default_factory=dict)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    monte_carlo: MonteCarloSpec | None = None
    #: benefit policy (preset name or TOML path): settlement's patient payments are then the §9
    #: engine's (total_cost − basic), so one scenario shows both sides (domain.md §9)
    benefits: str | None = None
    #: a tiered-care shift of cases between levels (分级诊疗, §9 last paragraph): the year is
    #: re-priced and re-settled with the moved cases (:func:`payment.tiered_settlement.
    #: shift_settlement`); needs raw ``cases`` (the moved cases are re-priced on the weights)
    tiered_shift: LevelShift | None = None
    #: seeded Monte Carlo over the shift's share and cost growth (needs ``tiered_shift``)
    tiered_shift_monte_carlo: ShiftMonteCarlo | None = None
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _source(self) -> Scenario:
        if self.cases is None and self.priced_cases is None:
            raise ValueError("scenario needs `cases` (raw cases file) or `priced_cases`")
        if self.tiered_shift is not None and self.cases is None:
            raise ValueError("tiered_shift: re-pricing the moved cases needs raw `cases` "
                             "(grouped and weighed by drgsim simulate), not `priced_cases`")
        if self.tiered_shift_monte_carlo is not None and self.tiered_shift is None:
            raise ValueError("tiered_shift_monte_carlo: give the [tiered_shift] it draws over")
        for k, v in self.sweep.items():
            if not isinstance(v, list) or not v:
                raise ValueError(f"sweep.{k}: give a non-empty list of values")
        return self

    def path(self, rel: str) -> Path:
        """A path of the scenario resolved against the scenario file's folder."""
        p = Path(rel)
        return p if p.is_absolute() else self.base_dir / p


def load_scenario(path: str | Path) -> Scenario:
    """Parse and validate a scenario TOML (errors name the file, the key and the allowed values)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    data = dict(data)
    data["base_dir"] = path.parent
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        # one line per problem naming the file, the dotted key and what is allowed
        raise validation_error(exc, str(path), Scenario) from None


def load_benefits(scn: Scenario) -> Any:
    """The scenario's benefit policy (``benefits``: preset name or path), or None."""
    if scn.benefits is None:
        return None
    from .benefit_policy import load_benefit_policy

    cand = scn.path(scn.benefits)
    return load_benefit_policy(cand if cand.suffix == ".toml" and cand.exists() else scn.benefits)


def load_base_policy(scn: Scenario) -> Any:
    """The scenario's policy (preset name or path) with its overrides applied."""
    from . import load_policy

    src = scn.policy
    cand = scn.path(src)
    pol = load_policy(cand if cand.suffix == ".toml" and cand.exists() else src)
    return override_policy(pol, scn.overrides) if scn.overrides else pol



# ------------------------------------------------------------------------------ a whole run


def read_priced_cases(scn: Scenario) -> pd.DataFrame:
    """The scenario's ``priced_cases`` file (csv, parquet or xlsx), read relative to the file.

    A scenario with raw ``cases`` is grouped and priced by the application layer
    (:func:`drgsim.pipeline.simulate_scenario`): payment knows groups as codes, not the grouper.
    """
    if scn.priced_cases is None:
        raise ValueError(f"{scn.name}: the scenario has raw `cases`, not `priced_cases`: "
                         "group and price them first (drgsim simulate does)")
    p = scn.path(scn.priced_cases)
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix == ".xlsx":
        df = pd.read_excel(p)
    else:
        df = pd.read_csv(p)
    # `drgsim price` writes Chinese (or --lang en) headers: read them back as column names
    from .columns import PRICED_OUTPUT_COLUMNS
    from .labels import column_label

    back: dict[str, str] = {}
    for c in PRICED_OUTPUT_COLUMNS:
        for h in (c.header_zh, column_label(c.name, "en")):
            back.setdefault(h, c.name)
    return df.rename(columns={h: back[h] for h in df.columns
                              if h in back and back[h] != h and back[h] not in df.columns})


@dataclass(frozen=True)
class SimulationResult:
    """Everything one scenario file produces: baseline tables, sweep, Monte Carlo, inputs."""

    scenario: Scenario
    priced: pd.DataFrame
    baseline: Any  # payment.settlement.SettlementResult
    scenarios: pd.DataFrame  # one summary row per scenario (baseline first, then the grid)
    sweep: pd.DataFrame
    monte_carlo: MonteCarloResult | None
    #: the patient side (§9 summaries by name) when the scenario has ``benefits``
    benefits: dict[str, pd.DataFrame] | None = None
    #: the hospital side of ``tiered_shift`` (a payment.tiered_settlement.ShiftSettlement)
    tiered_shift: Any = None
    #: (draws, hospitals) of ``tiered_shift_monte_carlo`` (payment.tiered_settlement.shift_monte_carlo)
    tiered_shift_mc: tuple[pd.DataFrame, pd.DataFrame] | None = None


def simulate(scn: Scenario, *, priced: pd.DataFrame | None = None, policy: Any = None,
             reprice: Callable[[Any], pd.DataFrame] | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> SimulationResult:
    """Run a scenario: settle the baseline, sweep the grid, run the Monte Carlo.

    ``priced`` are the scenario's priced cases (read from ``priced_cases`` when not given);
    ``reprice(policy)`` re-prices them under another policy, needed only when the grid has
    keys that pricing reads (the application layer passes one that groups and prices the raw
    cases). ``progress(stage, done, total)`` reports work as it finishes (for a progress bar).
    """
    from .settlement import settle_inputs

    def tick(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    policy = load_base_policy(scn) if policy is None else policy
    tick("pricing", 0, 1)
    benefits = load_benefits(scn)
    if priced is None:
        priced = read_priced_cases(scn)
        if benefits is not None:  # a priced file with the §9 inputs: patient payments from §9
            from .tiered_settlement import with_patient_paid

            priced = with_patient_paid(priced, benefits)
    tick("pricing", 1, 1)
    patient_side = None
    if benefits is not None:
        from .benefit_summary import summaries

        patient_side = summaries(priced, _shares(priced, benefits))
    mc = scn.monte_carlo
    cells = build_cells(priced, policy,
                        simple_max_points=mc.simple_max_points if mc else 100.0)
    kw = {"prior_year_actual": scn.prior_year_actual}
    params = encode(cells.inputs, policy, **kw)
    baseline = settle_inputs(cells.inputs, params)
    tick("baseline", 1, 1)

    n_grid = int(np.prod([len(v) for v in scn.sweep.values()])) if scn.sweep else 0
    done = [0]

    def grid_tick(n: int) -> None:
        done[0] += n
        tick("sweep", done[0], n_grid)

    grid = sweep(scn.sweep, policy, cells=cells, reprice=reprice, progress=grid_tick,
                 **kw) if scn.sweep else pd.DataFrame()
    base_row = pd.DataFrame([{k: baseline.summary[k] for k in
                              list(SUMMARY_COLUMNS) + ["fund_balance", "largest_loss_hospital"]}])
    base_row.insert(0, "scenario", "baseline")
    rows = [base_row]
    if not grid.empty:
        keys = list(scn.sweep)
        labels = [", ".join(f"{k.rsplit('.', 1)[-1]}={r[k]}" for k in keys)
                  for _, r in grid.iterrows()]
        g = grid.drop(columns=keys)
        g.insert(0, "scenario", labels)
        rows.append(g)
    scenarios = pd.concat(rows, ignore_index=True)
    result_mc = None
    if mc is not None:
        step = max(1, min(100, mc.draws // 10 or 1))
        mdone = [0]

        def mc_tick(n: int) -> None:
            mdone[0] += n
            tick("monte carlo", mdone[0], mc.draws)

        result_mc = monte_carlo(cells, params, mc, chunk=step, progress=mc_tick)
    return SimulationResult(scn, priced, baseline, scenarios, grid, result_mc, patient_side)


def _shares(priced: pd.DataFrame, benefits: Any) -> pd.DataFrame:
    from .cost_sharing import cost_sharing

    return cost_sharing(priced, benefits)
