"""One run of the whole chain: cases → group → weigh → price (→ settle), in one place.

The CLI demo, ``drgsim simulate`` and the dashboard call these functions instead of writing the
chain out again. ``payment`` knows groups only as codes; grouping the raw cases is done here,
in the application layer, which is the one layer that may call both packages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

import grouper
import payment
from payment.scenario import (
    Scenario,
    SimulationResult,
    load_base_policy,
    load_benefits,
    read_priced_cases,
)
from payment.scenario import simulate as simulate_priced
from payment.tiered_settlement import (
    ShiftSettlement,
    shift_monte_carlo,
    shift_settlement,
    with_patient_paid,
)

__all__ = ["PricedYear", "price_grouped", "price_scenario_cases", "shift_year",
           "simulate_scenario"]

#: Case columns pricing drops but settlement reads; carried from the grouped cases.
CARRIED_COLUMNS = ("patient_paid", "alliance_id")


@dataclass(frozen=True)
class PricedYear:
    """One settlement year priced with weights from the years before it."""

    year: int
    weights: Any  # payment.Weights
    priced: pd.DataFrame


def price_grouped(grouped: pd.DataFrame, policy: Any, year: int | None = None,
                  *, label: str = "cases") -> PricedYear:
    """Weigh the years before ``year`` and price ``year`` (the newest year when None).

    ``grouped`` is ``grouper.group(..., keep_columns=True)`` output with a ``year`` column.
    Raises ``ValueError`` naming ``label`` when no case lies before ``year``.
    """
    if len(grouped) == 0:
        raise ValueError(f"{label}: no cases (header only)")
    years = pd.to_numeric(grouped["year"], errors="coerce")
    if year is None:
        if years.isna().all():
            raise ValueError(f"{label}: no case has a year")
        year = int(years.max())
    history = grouped[years < year]
    if history.empty:
        raise ValueError(f"{label}: no cases before {year} to compute weights from")
    current = grouped[years == year].reset_index(drop=True)
    weights = payment.compute_weights(history, policy)
    priced = payment.price(current, weights, policy)
    for col in CARRIED_COLUMNS:
        if col not in priced.columns and col in current.columns:
            priced[col] = current[col].to_numpy()
    return PricedYear(year, weights, priced)


#: the §9 inputs carried onto priced cases when a scenario has a benefit policy
BENEFIT_COLUMNS = ("patient_id", "discharge_date", "year", "insurance", "category", "referral",
                   "out_of_area", "self_pay", "partial_self_pay")


def _with_benefits(grouped: pd.DataFrame, benefits: Any, year: int | None) -> pd.DataFrame:
    """``patient_paid`` of the settlement year's cases from the §9 engine (other years keep
    theirs): the year's cases are cost-shared as one person-year table."""
    years = pd.to_numeric(grouped["year"], errors="coerce")
    y = int(years.max()) if year is None else year
    cur = (years == y).to_numpy()
    out = grouped.copy()
    shared = with_patient_paid(grouped.loc[cur], benefits)
    if "patient_paid" not in out.columns:
        out["patient_paid"] = float("nan")
    out.loc[cur, "patient_paid"] = shared["patient_paid"].to_numpy()
    return out


def _carry_benefit_inputs(priced: pd.DataFrame, grouped: pd.DataFrame, year: int
                          ) -> pd.DataFrame:
    current = grouped[pd.to_numeric(grouped["year"], errors="coerce") == year]
    for col in BENEFIT_COLUMNS:
        if col not in priced.columns and col in current.columns:
            priced[col] = current[col].to_numpy()
    return priced


def _scheme(scn: Scenario) -> Any:
    return grouper.load_scheme(scn.path(scn.scheme) if scn.scheme
                               else grouper.demo_scheme_path())


def scenario_cases(scn: Scenario) -> pd.DataFrame | None:
    """The scenario's raw ``cases`` read by the one reader (canonical columns, Chinese headers,
    any encoding, bad cells as row statuses); None when it gives ``priced_cases`` instead."""
    if scn.priced_cases is not None or scn.cases is None:
        return None
    return grouper.read_cases(scn.path(scn.cases))


def _group_cases(scn: Scenario, scheme: Any, cases: pd.DataFrame | None = None) -> pd.DataFrame:
    assert scn.cases is not None
    cases = scenario_cases(scn) if cases is None else cases
    return grouper.group(cases, scheme, keep_columns=True)


def price_scenario_cases(scn: Scenario, policy: Any, cases: pd.DataFrame | None = None
                         ) -> pd.DataFrame:
    """The scenario's priced cases: its ``priced_cases`` file, or its raw ``cases`` (``cases``:
    as :func:`scenario_cases` read them) grouped with ``scheme`` (the demo scheme when unset),
    weighed on the years before ``year`` and priced."""
    if scn.priced_cases is not None:
        return read_priced_cases(scn)
    return price_grouped(_group_cases(scn, _scheme(scn), cases), policy, scn.year,
                         label=str(scn.path(scn.cases))).priced


def simulate_scenario(scn: Scenario, *, policy: Any = None,
                      progress: Callable[[str, int, int], None] | None = None
                      ) -> SimulationResult:
    """Run a scenario file end to end: price once, then settle, sweep and Monte Carlo.

    Raw cases are grouped once; a grid key that pricing reads re-prices the same grouped
    cases under the changed policy (no re-grouping: grouping does not read the policy).
    """
    policy = load_base_policy(scn) if policy is None else policy
    if progress is not None:
        progress("pricing", 0, 1)
    if scn.priced_cases is not None:
        return simulate_priced(scn, priced=read_priced_cases(scn), policy=policy,
                               reprice=None, progress=progress)
    grouped = _group_cases(scn, _scheme(scn))
    benefits = load_benefits(scn)
    if benefits is not None:  # §9 patient payments into settlement (payment's rule)
        grouped = _with_benefits(grouped, benefits, scn.year)

    def reprice(pol: Any) -> pd.DataFrame:
        py = price_grouped(grouped, pol, scn.year, label=str(scn.path(scn.cases)))
        return _carry_benefit_inputs(py.priced, grouped, py.year) if benefits else py.priced

    base = price_grouped(grouped, policy, scn.year, label=str(scn.path(scn.cases)))
    priced = _carry_benefit_inputs(base.priced, grouped, base.year) if benefits else base.priced
    sim = simulate_priced(scn, priced=priced, policy=policy, reprice=reprice, progress=progress)
    if scn.tiered_shift is None:
        return sim
    if progress is not None:
        progress("tiered shift", 0, 1)
    shift = shift_year(grouped, base, policy, scn, benefits)
    mc = None
    if scn.tiered_shift_monte_carlo is not None:
        m = scn.tiered_shift_monte_carlo
        mc = shift_monte_carlo(_current(grouped, base.year), base.weights, policy,
                               scn.tiered_shift, m.share, cost_growth=m.cost_growth,
                               draws=m.draws, seed=m.seed, benefits=benefits,
                               percentiles=m.percentiles,
                               prior_year_actual=scn.prior_year_actual)
    if progress is not None:
        progress("tiered shift", 1, 1)
    return replace(sim, tiered_shift=shift, tiered_shift_mc=mc)


def _current(grouped: pd.DataFrame, year: int) -> pd.DataFrame:
    years = pd.to_numeric(grouped["year"], errors="coerce")
    return grouped[(years == year).to_numpy()].reset_index(drop=True)


def shift_year(grouped: pd.DataFrame, base: PricedYear, policy: Any, scn: Scenario,
               benefits: Any = None) -> ShiftSettlement:
    """The scenario's ``tiered_shift`` on the settlement year of ``grouped``: the year's grouped
    cases priced on ``base.weights`` and settled as they are and after the shift (yuan).
    With ``benefits`` both sides take §9 patient payments; the scenario's prior-year actual,
    when given, is the budget basis of both sides."""
    assert scn.tiered_shift is not None
    current = _current(grouped, base.year)
    kw = ({} if scn.prior_year_actual is None
          else {"prior_year_actual": scn.prior_year_actual})
    return shift_settlement(current, base.weights, policy, scn.tiered_shift, benefits=benefits,
                            **kw)
