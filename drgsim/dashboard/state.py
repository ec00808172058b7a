"""The dashboard's model: a region-year held in memory, answers to lever settings.

:class:`Dashboard` groups the raw cases once (or reads priced cases), prices them under the
base policy and sums them into what-if cells once. An answer then takes the cheapest exact
path: settlement levers encode the policy and run the cents kernel on the prepared aggregates
(``payment.settlement.encode`` + ``settle_inputs``); what-if levers run
``payment.whatif.whatif_statement`` on the cells (the statement follows the what-ifs); pricing levers re-price the held grouped cases
(weights + ``payment.price`` via :func:`drgsim.pipeline.price_grouped`), cached per setting.
"""

from __future__ import annotations

import copy
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import grouper
import payment
from payment.case_codes import TextCodes, text_codes
from payment.comparison import RunTables, compare_runs
from payment.monte_carlo import MonteCarloSpec, monte_carlo
from payment.overrides import (
    nest,  # dotted keys → nested tables (one home)
    override_policy,
)
from payment.policy import merge_overrides
from payment.report import case_class_mix
from payment.scenario import Scenario, load_base_policy, read_priced_cases
from payment.settlement import encode, resolve_policy, settle_inputs
from payment.whatif import WHATIF_KEYS, WhatIfCells, build_cells, whatif_statement

from ..pipeline import CARRIED_COLUMNS, price_grouped
from .jsonable import json_value, records
from .levers import TIERS_KEY, alliance_key, check_value, lever_of

#: Policy tables compute_weights reads (payment/weights.py); a pricing override outside them
#: re-prices with the held weights, which are then the same as re-weighing would give.
WEIGHT_KEYS = ("weights.", "coefficients.", "input_checks.", "bed_day.", "exclusions.", "kind",
               "group_column", "dip.")  # dip.aux_coefficients: the history's points (budget PV)

#: Monte Carlo when the scenario has none: volume ~ normal(0, 2 %), cost ~ uniform(0, 5 %).
DEFAULT_MC = MonteCarloSpec.model_validate({
    "draws": 500, "seed": 0, "volume_growth": {"dist": "normal", "mean": 0.0, "sd": 0.02},
    "cost_growth": {"dist": "uniform", "low": 0.0, "high": 0.05}})

__all__ = ["Dashboard", "Settings", "demo_scenario_path", "group_gains", "json_value",
           "merged_overrides", "nest", "records",
           "scenario_from_args"]


@dataclass(frozen=True)
class Settings:
    """One lever setting: dotted key → value, and the tier table (None: the policy's)."""

    levers: dict[str, Any]
    tiers: tuple[tuple[float, float, float], ...] | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Settings:
        """Validate a JSON body ``{"levers": {...}, "tiers": [[lower, upper, share], ...]}``."""
        if not isinstance(data, dict):
            raise ValueError("body must be an object with `levers` and optional `tiers`")
        extra = set(data) - {"levers", "tiers"}
        if extra:
            raise ValueError(f"unknown fields {sorted(extra)}; allowed: levers, tiers")
        raw = data.get("levers") or {}
        if not isinstance(raw, dict):
            raise ValueError("levers must be an object {key: value}")
        levers = {k: check_value(k, v) for k, v in raw.items()}
        tiers = data.get("tiers")
        rows = None
        if tiers is not None:
            rows = []
            for i, r in enumerate(tiers):
                if not isinstance(r, (list, tuple)) or len(r) != 3:
                    raise ValueError(f"tiers[{i}]: give [lower, upper, fund_share]")
                try:
                    lo, up, sh = (float(x) for x in r)
                except (TypeError, ValueError):
                    raise ValueError(f"tiers[{i}]: numbers required (use -inf / inf)") from None
                rows.append((lo, up, sh))
            rows = tuple(rows)
        return cls(levers, rows)

    def policy_overrides(self, alliances: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The dotted policy overrides (what-ifs excluded), tiers included.

        Alliance levers (``settlement.alliances.<id>.per_capita|population``) replace those
        fields in ``alliances`` (the base policy's alliance tables) and give the whole list as
        ``settlement.alliances``; an id not among them is a ``ValueError`` naming the allowed.
        """
        over = {k: v for k, v in self.levers.items()
                if k not in WHATIF_KEYS and lever_of(k).kind != "benefit"
                and alliance_key(k) is None}
        al = {alliance_key(k): v for k, v in self.levers.items() if alliance_key(k) is not None}
        if al:
            rows = {a["id"]: dict(a) for a in copy.deepcopy(list(alliances or []))}
            for (aid, fld), v in al.items():
                if aid not in rows:
                    raise ValueError(f"settlement.alliances.{aid}: no alliance {aid!r} in the "
                                     f"policy; allowed: {', '.join(rows) or '(none)'}")
                rows[aid][fld] = v
            over["settlement.alliances"] = list(rows.values())
        if self.tiers is not None:
            over[TIERS_KEY] = [{"lower": lo, "upper": up, "fund_share": sh}
                               for lo, up, sh in self.tiers]
        return over

    def benefit_overrides(self) -> dict[str, Any]:
        """The patients' levers (deductibles, ratios by insurance and level)."""
        return {k: v for k, v in self.levers.items() if lever_of(k).kind == "benefit"}

    def pricing_overrides(self) -> dict[str, Any]:
        """Only the overrides pricing reads (the re-pricing cache key)."""
        return {k: v for k, v in self.levers.items() if lever_of(k).kind == "pricing"}

    def whatifs(self) -> np.ndarray:
        """The what-if row (columns W_* of the settlement kernels)."""
        w = np.zeros((1, max(WHATIF_KEYS.values()) + 1))
        for k, col in WHATIF_KEYS.items():
            w[0, col] = float(self.levers.get(k, 0.0))
        return w

    def as_json(self) -> dict[str, Any]:
        """The setting as the JSON body it was parsed from (inf as text)."""
        tiers = None if self.tiers is None else [[_num(x) for x in r] for r in self.tiers]
        return {"levers": dict(self.levers), "tiers": tiers}


def _num(x: float) -> float | str:
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")


@dataclass
class Priced:
    """Priced cases under one pricing setting, their what-if cells and case-class mix."""

    priced: pd.DataFrame
    cells: WhatIfCells
    _mix: pd.DataFrame | None = None

    @property
    def mix(self) -> pd.DataFrame:
        """Cases per hospital × case class (computed on first use: drill-down only)."""
        if self._mix is None:
            self._mix = case_class_mix(self.priced)
        return self._mix


def _money(x: Any) -> float:
    return round(float(x), 2)


class Dashboard:
    """A region-year in memory and the answers to lever settings (see module docstring).

    ``grouped`` (grouped cases with their ``year``) replaces grouping the scenario's cases.
    """

    def __init__(self, scenario: Scenario, *, policy: Any = None, cache_size: int = 4,
                 grouped: pd.DataFrame | None = None, patients: Any = None,
                 patients_note: str = "", cashflow: Any = None,
                 cashflow_note: str = "") -> None:
        self.scenario = scenario.model_copy(update={"sweep": {}})
        self.base_policy = load_base_policy(self.scenario) if policy is None else policy
        self.mc_spec = scenario.monte_carlo or DEFAULT_MC
        self.grouped: pd.DataFrame | None = grouped
        self.patients = patients  # drgsim.dashboard.patients.Patients or None
        self.patients_note = patients_note
        self.cashflow = cashflow  # drgsim.dashboard.cashflow.CashflowView or None
        self.cashflow_note = cashflow_note
        self._scheme: grouper.Scheme | None = None
        self._supervision: Any = None  # drgsim.dashboard.supervision.SupervisionView
        if grouped is None and scenario.priced_cases is None:
            self._scheme = self.scheme()
            cases = grouper.read_cases(scenario.path(scenario.cases or ""))
            self.grouped = grouper.group(cases, self._scheme, keep_columns=True)
        self._weights: Any = None
        self._current: pd.DataFrame | None = None
        self._codes: TextCodes | None = None
        self._cache: OrderedDict[str, Priced] = OrderedDict()
        self._cache_size = cache_size
        self.saved: dict[str, Settings] = {}
        spol, _ = resolve_policy(self.base_policy)
        #: the base policy's alliance tables (the alliance levers edit their budgets)
        self.alliances = [a.model_dump() for a in spol.alliances]
        self.base = self.priced_for({})
        if self.grouped is not None:
            self.current_cases()  # made at load, so the first re-pricing lever is not slower

    def scheme(self) -> grouper.Scheme:
        """The scheme the cases are grouped with (the scenario's, else the demo scheme)."""
        if self._scheme is None:
            scn = self.scenario
            self._scheme = grouper.load_scheme(scn.path(scn.scheme) if scn.scheme
                                               else grouper.demo_scheme_path())
        return self._scheme

    # ------------------------------------------------------------------ supervision

    def supervision(self) -> Any:
        """The region's supervision signals (:class:`drgsim.dashboard.supervision
        .SupervisionView`): computed on the first drill-down, then kept (no lever reads them).

        Raw cases: :func:`drgsim.supervision_run.run_supervision` (what ``drgsim supervise``
        runs) over the settlement year's grouped cases with the year before as the history
        (the newest year before it when that year is absent), the scheme and the
        ``[supervision]`` table of the policy file (defaults for a preset). Priced cases: the
        priced rows without a scheme (most signals then say what the file lacks).
        """
        if self._supervision is None:
            from payment.supervision import SupervisionPolicy, load_supervision_policy

            from ..supervision_run import run_supervision
            from .supervision import SupervisionView

            scn = self.scenario
            src = scn.path(scn.policy)
            pol = (load_supervision_policy(src) if src.suffix == ".toml" and src.exists()
                   else SupervisionPolicy())

            def compute() -> Any:
                if self.grouped is None:
                    return run_supervision(self.base.priced, None, policy=pol,
                                           with_indices=False)
                years = pd.to_numeric(self.grouped["year"], errors="coerce")
                before = years[years < self._year]
                hist = None
                if len(before):
                    prev = self._year - 1 if (before == self._year - 1).any() else before.max()
                    hist = self.grouped[(years == prev).to_numpy()].reset_index(drop=True)
                return run_supervision(self.current_cases(), self.scheme(), history=hist,
                                       policy=pol, with_indices=False)

            self._supervision = SupervisionView(compute)
        return self._supervision

    # ------------------------------------------------------------------ pricing

    @property
    def can_reprice(self) -> bool:
        """Whether pricing levers are available (raw cases are held)."""
        return self.grouped is not None

    def priced_for(self, pricing: dict[str, Any]) -> Priced:
        """Priced cases and cells under the base policy + ``pricing`` overrides (cached)."""
        key = json.dumps(pricing, sort_keys=True)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        pol = override_policy(self.base_policy, pricing) if pricing else self.base_policy
        if self.grouped is None:
            if pricing:
                raise ValueError(f"{sorted(pricing)}: re-pricing needs raw cases (start the "
                                 "dashboard with --scenario whose `cases =` are raw cases)")
            priced = read_priced_cases(self.scenario)
        elif self._weights is None or any(k.startswith(WEIGHT_KEYS) for k in pricing):
            py = price_grouped(self.grouped, pol, self.scenario.year, label=self.scenario.name)
            priced = py.priced
            if not pricing:
                self._weights = py.weights
                self._year = py.year
        else:
            # Only pricing reads these keys: price the settlement year with the held weights.
            current = self.current_cases()
            priced = payment.price(current, self._weights, pol)
            for col in CARRIED_COLUMNS:
                if col not in priced.columns and col in current.columns:
                    priced[col] = current[col].array  # the held column, not a copy
        mc = self.scenario.monte_carlo
        if self._codes is None or self._codes.n != len(priced):
            # the case-constant columns settlement and the cells read do not change when the
            # cases are re-priced: converted once, reused by every re-price of the same rows
            self._codes = text_codes(priced)
        cells = build_cells(priced, pol, simple_max_points=mc.simple_max_points if mc else 100.0,
                            codes=self._codes)
        item = Priced(priced, cells)
        self._cache[key] = item
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return item

    def current_cases(self) -> pd.DataFrame:
        """The settlement year's grouped cases as re-pricing reads them (made once, held)."""
        if self._current is None:
            assert self.grouped is not None
            years = pd.to_numeric(self.grouped["year"], errors="coerce")
            current = self.grouped[years == self._year].reset_index(drop=True)
            # the text pricing reads, as the text it converts it to (payment.tables
            # .text_column), once: every re-price then skips that conversion
            for col in {"case_id", "hospital_id", "status", self.base_policy.group_col}:
                if col in current.columns and current[col].dtype != "str":
                    current[col] = current[col].astype("str")
            if "month" not in current.columns:  # the discharge month pricing derives, once
                current["month"] = self.base.priced["month"].to_numpy(np.int64)
            self._current = current
        return self._current

    def policy_for(self, s: Settings) -> Any:
        """The base policy with the setting's overrides (validated; errors name the key)."""
        over = s.policy_overrides(self.alliances)
        return override_policy(self.base_policy, over) if over else self.base_policy

    # ------------------------------------------------------------------ answers

    def settle(self, s: Settings) -> tuple[Any, Any, Priced, Any]:
        """(settlement result, what-if settlement or None, priced state, policy) for ``s``.

        The what-if settlement (:func:`payment.whatif.whatif_statement`) is the full result
        under the setting's what-ifs: its statement moves with them.
        """
        pol = self.policy_for(s)
        pr = self.priced_for(s.pricing_overrides())
        params = encode(pr.cells.inputs, pol, prior_year_actual=self.scenario.prior_year_actual)
        res = settle_inputs(pr.cells.inputs, params)
        w = s.whatifs()
        wi = whatif_statement(pr.cells, params, w) if w.any() else None
        return res, wi, pr, pol

    def answer(self, s: Settings) -> dict[str, Any]:
        """Headline, ledger and per-hospital amounts for a setting, with the time taken."""
        t0 = time.perf_counter()
        path = ("repricing" if s.pricing_overrides() else
                "whatif" if s.whatifs().any() else "settlement")
        res, wi, pr, _ = self.settle(s)
        shown = res if wi is None else wi
        st = shown.statement
        hosp = pd.DataFrame({
            "hospital_id": st["hospital_id"].astype(str), "level": st["hospital_level"],
            "cases": st["cases"], "ffs_amount": st["ffs_amount"],
            "entitlement": st["entitlement"], "final_amount": st["final_amount"],
            "result": st["result"],
        })
        summary = {k: json_value(v) for k, v in res.summary.items()}
        # The ledger and the hospitals follow the what-ifs; ``summary`` stays the baseline.
        ledger = [{"item": r.item, "yuan": _money(r.yuan)} for r in shown.ledger.itertuples()]
        out: dict[str, Any] = {"path": path, "summary": summary, "ledger": ledger}
        if wi is not None:
            out["whatif_summary"] = {k: json_value(v) for k, v in wi.summary.items()}
            hosp["whatif_result"] = hosp["result"]
            hosp["base_final_amount"] = res.statement["final_amount"].to_numpy()
            hosp["base_result"] = res.statement["result"].to_numpy()
        out["hospitals"] = records(hosp)
        if self.patients is not None:
            out["patients"] = self.patients.answer(s.benefit_overrides())
        elif s.benefit_overrides():
            raise ValueError(f"patients' levers are unavailable: {self.patients_note}")
        out["elapsed_ms"] = round((time.perf_counter() - t0) * 1000.0, 2)
        return out

    def statement(self, hospital_id: str, s: Settings) -> dict[str, Any]:
        """One hospital's statement, monthly advances and case-class mix (``KeyError`` if none).

        Under what-ifs the statement and advances are the what-if settlement's (``whatif``
        true); the case-class mix and the DRGs by profit and loss stay the priced cases' at
        the baseline point value, since the what-ifs move the aggregated cells, not the cases.
        """
        base, wi, pr, _ = self.settle(s)
        res = base if wi is None else wi
        st = res.statement
        row = st[st["hospital_id"].astype(str) == hospital_id]
        if row.empty:
            raise KeyError(hospital_id)
        adv = res.advances[res.advances["hospital_id"].astype(str) == hospital_id]
        mix = pr.mix[pr.mix["hospital_id"].astype(str) == hospital_id]
        return {"statement": records(row)[0], "whatif": wi is not None,
                "advances": records(adv.drop(columns=["hospital_id"]))[0],
                "case_class_mix": records(mix.drop(columns=["hospital_id"]))[0] if len(mix) else {},
                "groups": records(group_gains(pr.priced, hospital_id,
                                              float(base.summary["point_value"])))}

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Two saved scenarios through :func:`payment.comparison.compare_runs` (B − A)."""
        runs = []
        for name in (a, b):
            if name not in self.saved:
                raise KeyError(name)
            res, _, _, _ = self.settle(self.saved[name])
            runs.append(RunTables(name, pd.DataFrame([res.summary]), res.statement))
        c = compare_runs(*runs)
        return {"a": a, "b": b, "summary": records(c.summary), "hospitals": records(c.hospitals)}

    def monte_carlo(self, s: Settings, spec: MonteCarloSpec) -> dict[str, Any]:
        """Seeded Monte Carlo of the what-if inputs around the setting's policy (bands)."""
        pol = self.policy_for(s)
        pr = self.priced_for(s.pricing_overrides())
        params = encode(pr.cells.inputs, pol, prior_year_actual=self.scenario.prior_year_actual)
        r = monte_carlo(pr.cells, params, spec)
        pct = r.percentiles.set_index("metric")
        return {
            "draws": spec.draws, "seed": spec.seed,
            "point_value": {k: json_value(v) for k, v in pct.loc["point_value"].items()},
            "fund_balance": {k: json_value(v) for k, v in pct.loc["fund_balance"].items()},
            "point_value_draws": [float(x) for x in r.draws["point_value"]],
            "hospitals": records(r.hospitals.assign(
                hospital_id=r.hospitals["hospital_id"].astype(str))),
        }


def group_gains(priced: pd.DataFrame, hospital_id: str, point_value: float,
                n: int = 8) -> pd.DataFrame:
    """A hospital's DRGs by profit and loss at the settlement point value.

    Per group of the hospital's cases not approved in special review: cases, points, amount =
    points × ``point_value`` rounded to the cent, total cost and gain = amount − total cost
    (yuan); the ``n`` largest losses then the ``n`` largest gains. Patient payments and tiers
    are not in it (they apply to the hospital, not to a group).
    """
    mine = priced[priced["hospital_id"].astype(str) == hospital_id]
    if "sr_approved" in mine.columns:
        mine = mine[~mine["sr_approved"].fillna(False).astype(bool)]
    if mine.empty or "group" not in mine.columns:
        return pd.DataFrame(columns=["group", "cases", "points", "amount", "total_cost", "gain"])
    g = mine.groupby(mine["group"].astype(str), observed=True).agg(
        cases=("points", "size"), points=("points", "sum"), total_cost=("total_cost", "sum"))
    g["amount"] = np.round(g["points"] * point_value, 2) if np.isfinite(point_value) else np.nan
    g["total_cost"] = np.round(g["total_cost"], 2)
    g["gain"] = np.round(g["amount"] - g["total_cost"], 2)
    g = g.reset_index().sort_values(["gain", "group"])
    out = pd.concat([g.head(n), g[g["gain"] > 0].tail(n)]).drop_duplicates("group")
    return out[["group", "cases", "points", "amount", "total_cost", "gain"]]


def scenario_from_args(scenario: str | Path | None, priced: str | Path | None,
                       policy: str | None) -> Scenario:
    """The scenario the dashboard opens: a TOML, a priced-cases file, or the demo region."""
    from payment.scenario import load_scenario

    if scenario is not None and priced is not None:
        raise ValueError("give --scenario or --priced, not both")
    if priced is not None:
        p = Path(priced).resolve()
        if not p.exists():
            raise FileNotFoundError(f"{p}: not found")
        scn = Scenario(name=p.stem, priced_cases=str(p), policy=policy or "national_drg",
                       base_dir=p.parent)
    else:
        path = Path(scenario) if scenario is not None else demo_scenario_path()
        scn = load_scenario(path)
        if policy is not None:
            scn = scn.model_copy(update={"policy": policy})
    return scn


def demo_scenario_path() -> Path:
    """The bundled demo scenario (sample_cases/scenario_demo.toml)."""
    return Path(__file__).resolve().parents[2] / "sample_cases" / "scenario_demo.toml"


def merged_overrides(scn: Scenario, s: Settings,
                     alliances: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The scenario's overrides with the setting's overrides merged in (nested); ``alliances``
    are the base policy's alliance tables the alliance levers edit."""
    return merge_overrides(nest(dict(scn.overrides)), nest(s.policy_overrides(alliances)))

