"""The dashboard's cash-flow view (domain.md §8a, issue 18 item 6): the fund month by month.

A cash-flow scenario (:func:`payment.cashflow_run.load_cashflow_scenario`: a simulate scenario
plus a ``[cashflow]`` table) is priced once (:func:`drgsim.pipeline.price_scenario_cases`) and
each fund's inputs are built once (:func:`payment.cashflow_run.build_inputs`: per-fund
settlement, history, series). A lever move re-runs only :func:`payment.cashflow.run_fund` on
those inputs — the same call ``drgsim cashflow``'s what-ifs make: income and other spending
scaled by :func:`payment.cashflow.perturb`, the prepayment months k and the recovery rule passed
through. No rule is computed here.

Levers (unit, range as :class:`payment.cashflow_policy.WhatIf` validates them):
``prepayment_months`` (months, 0–12), ``recovery`` (at_clearing / monthly / rollover),
``income_growth`` and ``spending_growth`` (fractions, −0.99–10).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from payment.cashflow import perturb, run_fund
from payment.cashflow_policy import RECOVERY_RULES, WhatIf
from payment.cashflow_run import CashflowScenario, build_inputs, load_cashflow_scenario
from payment.scenario import load_base_policy

from .jsonable import json_value

__all__ = ["CASHFLOW_LEVERS", "DEMO_CASHFLOW", "CashflowView", "load_cashflow_view"]

DEMO_CASHFLOW = Path(__file__).resolve().parents[2] / "sample_cases" / "cashflow_demo.toml"

#: The cash-flow levers: key, zh, en, unit zh, unit en, min, max, step (or options).
CASHFLOW_LEVERS: tuple[dict[str, Any], ...] = (
    {"key": "prepayment_months", "zh": "预付金月数 k", "en": "Prepayment months k",
     "unit_zh": "月", "unit_en": "months", "min": 0.0, "max": 12.0, "step": 0.5, "options": []},
    {"key": "recovery", "zh": "预付金扣回方式", "en": "Prepayment recovery rule",
     "unit_zh": "", "unit_en": "", "min": None, "max": None, "step": None,
     "options": list(RECOVERY_RULES)},
    {"key": "income_growth", "zh": "基金收入增长", "en": "Fund income growth",
     "unit_zh": "比例（0.03 = 3%）", "unit_en": "fraction (0.03 = 3 %)", "min": -0.99,
     "max": 10.0, "step": 0.01, "options": []},
    {"key": "spending_growth", "zh": "其他支出增长", "en": "Other spending growth",
     "unit_zh": "比例（0.03 = 3%）", "unit_en": "fraction (0.03 = 3 %)", "min": -0.99,
     "max": 10.0, "step": 0.01, "options": []},
)
_KEYS = tuple(lv["key"] for lv in CASHFLOW_LEVERS)

LEDGER_COLUMNS = ("month", "opening", "income", "prepayment", "advances", "deductions",
                  "special_review", "other_spending", "clearing", "expenditure", "closing",
                  "months_of_reserve", "low_reserve_alert")


class CashflowView:
    """A cash-flow scenario's fund inputs held in memory; answers to the cash-flow levers."""

    def __init__(self, cs: CashflowScenario, priced: Any = None, policy: Any = None) -> None:
        self.cs = cs
        self.policy = load_base_policy(cs.scenario) if policy is None else policy
        if priced is None:
            from ..pipeline import price_scenario_cases

            priced = price_scenario_cases(cs.scenario, self.policy)
        self.inputs = build_inputs(cs, priced=priced, policy=self.policy)
        self._cache: dict[str, dict[str, Any]] = {}

    @property
    def name(self) -> str:
        """The cash-flow scenario's name."""
        return self.cs.scenario.name

    def base_levers(self) -> dict[str, Any]:
        """The scenario's own values of the levers (no growth)."""
        pp = self.cs.cashflow.prepayment
        return {"prepayment_months": pp.months, "recovery": pp.recovery,
                "income_growth": 0.0, "spending_growth": 0.0}

    def parse(self, levers: dict[str, Any] | None) -> WhatIf:
        """Validate the levers as a :class:`~payment.cashflow_policy.WhatIf` (errors name keys)."""
        levers = dict(levers or {})
        extra = sorted(set(levers) - set(_KEYS))
        if extra:
            raise ValueError(f"unknown cash-flow levers {extra}; allowed: {', '.join(_KEYS)}")
        try:
            return WhatIf.model_validate({"label": "dashboard", **levers})
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ValueError(f"cashflow.{key} = {levers.get(key)!r}: {err['msg']}") from None

    def answer(self, levers: dict[str, Any] | None = None) -> dict[str, Any]:
        """Per fund: eligibility, alerts, the monthly ledger (yuan, to the cent), months of
        reserve with the alert line, and each hospital's cash position by month."""
        w = self.parse(levers)
        key = json.dumps(w.model_dump(), sort_keys=True)
        if key in self._cache:
            return self._cache[key]
        cf = self.cs.cashflow
        funds = []
        for fid, fi in self.inputs.items():
            pi = perturb(fi, income_growth=w.income_growth, spending_growth=w.spending_growth)
            fl = run_fund(pi, cf, year=self.cs.scenario.year,
                          prepayment_months=w.prepayment_months, recovery=w.recovery)
            led = fl.ledger
            cash = fl.cash.pivot(index="hospital_id", columns="t", values="position")
            funds.append({
                "fund": fid, "label": fi.fund.label or fid, "type": fi.fund.type,
                "eligible": bool(fl.eligible), "eligibility": fl.eligibility,
                "eligibility_zh": fl.eligibility_zh,
                "projected_deficit": bool(fl.projected_deficit),
                "prepayment": round(float(fl.accounts["prepayment"].sum()), 2),
                "lowest_months_of_reserve": json_value(fl.lowest_mor),
                "lowest_month": led["month"].iloc[fl.lowest_month - 1] if fl.lowest_month
                else "",
                "alerts": [{k: json_value(v) for k, v in r.items()}
                           for r in fl.alerts.to_dict(orient="records")],
                "ledger": [{c: json_value(r[c]) for c in LEDGER_COLUMNS}
                           for r in led.to_dict(orient="records")],
                "cash": {"months": list(led["month"]),
                         "hospitals": [str(h) for h in cash.index],
                         "position": [[json_value(v) for v in row] for row in cash.to_numpy()]},
            })
        out = {"name": self.name, "alert_months": cf.reserve_alert_months,
               "clearing_month": cf.clearing_month, "levers": w.model_dump(exclude={
                   "label", "volume_sd", "seed"}), "funds": funds}
        if len(self._cache) > 32:
            self._cache.clear()
        self._cache[key] = out
        return out


def load_cashflow_view(path: str | Path | None, demo: bool) -> tuple[CashflowView | None, str]:
    """The cash-flow view of ``path`` (the demo region's sample_cases/cashflow_demo.toml when
    ``demo`` and no path), or None and why not."""
    if path is None and demo and DEMO_CASHFLOW.exists():
        path = DEMO_CASHFLOW
    if path is None:
        return None, "no cash-flow scenario (give --cashflow FILE.toml with a [cashflow] table)"
    return CashflowView(load_cashflow_scenario(path)), ""
