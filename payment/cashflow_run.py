"""A cash-flow scenario file end to end: price, settle per fund, ledger, what-ifs, Monte Carlo.

A cash-flow scenario is a ``drgsim simulate`` scenario (name, policy, cases, year, overrides;
see :mod:`payment.scenario`) plus a ``[cashflow]`` table (:mod:`payment.cashflow_policy`). Cases
are priced once; each fund (insurance type) settles its own cases under the policy with the
fund's ``overrides`` (:func:`payment.settlement.settle`), and :func:`payment.cashflow.run_fund`
lays the result out month by month.

What-ifs and the Monte Carlo re-run only the monthly ledger on the fund's inputs: income and
other spending scaled by (1 + growth), the prepayment size and recovery rule, and monthly volume
noise on each hospital-month's advance and entitlement (final amounts kept; see
:func:`payment.cashflow.perturb`). Draws come from ``numpy.random.default_rng(seed)`` in a fixed
order (growth rates first, then each draw's noise fund by fund), so a seed gives the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomllib

from .cashflow import (
    CashflowResult,
    FundInputs,
    assign_funds,
    fund_inputs,
    history_payments,
    perturb,
    run_fund,
)
from .cashflow_policy import CashflowMonteCarlo, CashflowPolicy, WhatIf, validate_cashflow_policy
from .scenario import Scenario, load_base_policy, override_policy, read_priced_cases
from .settlement import resolve_policy, settle

__all__ = ["CashflowScenario", "load_cashflow_scenario", "monte_carlo", "run_cashflow",
           "run_whatifs"]


@dataclass(frozen=True)
class CashflowScenario:
    """A scenario (cases, policy, overrides) and its validated ``[cashflow]`` table."""

    scenario: Scenario
    cashflow: CashflowPolicy
    path: Path


def load_cashflow_scenario(path: str | Path) -> CashflowScenario:
    """Parse a cash-flow scenario TOML; errors (``ValueError``) name the file and the key."""
    path = Path(path)
    try:
        data = dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    if "cashflow" not in data:
        raise ValueError(f"{path}: cashflow: required table is missing "
                         "(allowed: a [cashflow] table with at least one [[cashflow.funds]])")
    for key in ("sweep", "monte_carlo"):
        if key in data:
            raise ValueError(f"{path}: {key}: not read by a cash-flow scenario (allowed: "
                             "[[cashflow.whatifs]] and [cashflow.monte_carlo])")
    cf = validate_cashflow_policy(data.pop("cashflow"), str(path))
    data["base_dir"] = path.parent
    try:
        scn = Scenario.model_validate(data)
    except Exception as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return CashflowScenario(scn, cf, path)


def _raw_cases(scn: Scenario) -> pd.DataFrame | None:
    if scn.cases is None:
        return None
    p = scn.path(scn.cases)
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    if p.suffix in (".xlsx", ".xls"):
        return pd.read_excel(p, dtype={"case_id": str, "hospital_id": str, "patient_id": str})
    return pd.read_csv(p, dtype={"case_id": str, "hospital_id": str, "patient_id": str,
                                 "alliance_id": str}, keep_default_na=False, na_values=[""])


def build_inputs(cs: CashflowScenario, *, priced: pd.DataFrame | None = None,
                 raw: pd.DataFrame | None = None, policy: Any = None) -> dict[str, FundInputs]:
    """Each fund's :class:`~payment.cashflow.FundInputs` (prices and settles once per fund).

    ``raw`` (the scenario's cases, all years) supplies the fund of each case and the previous
    years' monthly payments for the prepayment; ``priced`` the current year's priced cases.
    """
    scn, cf = cs.scenario, cs.cashflow
    policy = load_base_policy(scn) if policy is None else policy
    if priced is None:
        # Raw cases are grouped and priced by the application layer (drgsim.pipeline).
        priced = read_priced_cases(scn)
    if raw is None:
        raw = _raw_cases(scn)
    years = pd.to_numeric(raw["year"], errors="coerce") if raw is not None else None
    year = scn.year if scn.year is not None else (int(years.max()) if years is not None else 0)
    if raw is not None:
        raw_fund = pd.Series(assign_funds(raw, cf), index=raw["case_id"].astype(str))
        first = raw_fund[~raw_fund.index.duplicated()]
        fund_of = first.reindex(priced["case_id"].astype(str)).to_numpy(dtype=object)
        if pd.isna(fund_of).any():
            fund_of = assign_funds(priced, cf)
    else:
        fund_of = assign_funds(priced, cf)
    out: dict[str, FundInputs] = {}
    for f in cf.funds:
        pol = override_policy(policy, f.overrides) if f.overrides else policy
        sub = priced.loc[fund_of == f.id].reset_index(drop=True)
        if sub.empty:
            raise ValueError(f"cashflow.funds: no case of {year} is paid by fund {f.id!r}")
        res = settle(sub, pol, prior_year_actual=scn.prior_year_actual)
        hist = None
        if raw is not None:
            _, pvk = resolve_policy(pol)
            rsub = raw.loc[raw_fund.to_numpy(dtype=object) == f.id]
            hist = history_payments(rsub, year, cf.prepayment.history_years,
                                    pvk.reimbursement_ratio)
        out[f.id] = fund_inputs(sub, pol, cf, f, res, hist)
    return out


def _row(label: str, fl: Any) -> dict[str, Any]:
    led = fl.ledger
    return {"scenario": label, "fund": fl.fund, "prepayment_eligible": fl.eligible,
            # whole cents summed as floats: round once so the sum reads as yuan.fen
            "prepayment": round(float(fl.accounts["prepayment"].sum()), 2),
            "lowest_months_of_reserve": fl.lowest_mor,
            "lowest_month": led["month"].iloc[fl.lowest_month - 1] if fl.lowest_month else "",
            "lowest_closing": float(led["closing"].min()),
            "low_reserve_months": int(led["low_reserve_alert"].sum()),
            "projected_deficit": fl.projected_deficit}


def run_whatifs(inputs: dict[str, FundInputs], cf: CashflowPolicy, whatifs: list[WhatIf],
                year: int | None = None) -> pd.DataFrame:
    """One row per what-if × fund: prepayment, lowest months of reserve and when, alerts."""
    rows = [_row("baseline", run_fund(fi, cf, year=year)) for fi in inputs.values()]
    for w in whatifs:
        rng = np.random.default_rng(w.seed)
        for fi in inputs.values():
            noise = rng.normal(0.0, w.volume_sd, fi.gross_adv.shape) if w.volume_sd else None
            pi = perturb(fi, income_growth=w.income_growth, spending_growth=w.spending_growth,
                         volume_noise=noise)
            rows.append(_row(w.label, run_fund(pi, cf, year=year,
                                               prepayment_months=w.prepayment_months,
                                               recovery=w.recovery)))
    return pd.DataFrame(rows)


def monte_carlo(inputs: dict[str, FundInputs], cf: CashflowPolicy, mc: CashflowMonteCarlo,
                year: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded draws → (one row per draw × fund, percentiles of the lowest months of reserve)."""
    rng = np.random.default_rng(mc.seed)
    gi = np.maximum(mc.income_growth.draw(rng, mc.draws), -0.99)
    gs = np.maximum(mc.spending_growth.draw(rng, mc.draws), -0.99)
    rows = []
    for d in range(mc.draws):
        for fi in inputs.values():
            noise = rng.normal(0.0, mc.volume_sd, fi.gross_adv.shape) if mc.volume_sd else None
            fl = run_fund(perturb(fi, income_growth=float(gi[d]), spending_growth=float(gs[d]),
                                  volume_noise=noise), cf, year=year,
                          prepayment_months=mc.prepayment_months, recovery=mc.recovery)
            r = _row(f"draw {d + 1}", fl)
            r.update(draw=d + 1, income_growth=float(gi[d]), spending_growth=float(gs[d]))
            rows.append(r)
    draws = pd.DataFrame(rows)
    pct = []
    for fid, g in draws.groupby("fund", sort=False):
        v = g["lowest_months_of_reserve"].to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        row: dict[str, Any] = {"fund": fid, "draws": len(g), "mean": float(v.mean()) if len(v)
                               else float("nan")}
        for p in mc.percentiles:
            row[f"p{p:g}"] = float(np.percentile(v, p)) if len(v) else float("nan")
        row["share_below_alert"] = float((v < cf.reserve_alert_months).mean()) if len(v) else 0.0
        pct.append(row)
    return draws, pd.DataFrame(pct)


def run_cashflow(cs: CashflowScenario, *, priced: pd.DataFrame | None = None,
                 raw: pd.DataFrame | None = None, policy: Any = None) -> CashflowResult:
    """The whole cash-flow scenario: ledgers per fund, the what-ifs and the Monte Carlo."""
    inputs = build_inputs(cs, priced=priced, raw=raw, policy=policy)
    cf = cs.cashflow
    year = cs.scenario.year
    funds = {k: run_fund(fi, cf, year=year) for k, fi in inputs.items()}
    wh = run_whatifs(inputs, cf, list(cf.whatifs), year)
    draws, pct = (monte_carlo(inputs, cf, cf.monte_carlo, year) if cf.monte_carlo is not None
                  else (pd.DataFrame(), pd.DataFrame()))
    return CashflowResult(funds, inputs, wh, draws, pct)
