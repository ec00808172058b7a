"""The simulation report's patient side and tiered-care shift (domain.md §9, issue 14 item 5).

``patient_tables``: with a benefit policy in the scenario, each insurance layer's outlay (basic
fund, 大病保险, 医疗救助, 兜底, the patients' out-of-pocket) for the settlement year, summed in
cents so the layers add up to the total cost exactly, and the layers and out-of-pocket by
hospital level. ``shift_tables``: a ``[tiered_shift]``'s hospital side — each hospital's cases
and final amount baseline / variant / difference (yuan) and the fund's totals (the budget, what
is paid to hospitals = Σ final amounts, the reserve kept, returned to the fund).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .benefit_summary import LAYERS

__all__ = ["FUND_ITEMS", "LAYER_ITEMS", "patient_tables", "shift_tables"]

#: layer → its row label in ``patient_layers`` (English; Chinese in payment.labels.TEXT)
LAYER_ITEMS = {"basic": "basic fund", "critical": "critical illness insurance",
               "assistance": "medical assistance", "safety_net": "safety net",
               "oop": "patients' out-of-pocket"}
TOTAL_ITEM = "total cost"

#: settlement summary key → its row label in ``tiered_shift_fund``
FUND_ITEMS = {"budget": "budget", "paid": "paid to hospitals", "reserve_kept": "reserve kept",
              "returned": "returned to the fund",
              "sharing": "overspend sharing paid from the reserve",
              "recovered": "surplus taken back"}

#: per-hospital columns of ``tiered_shift_hospitals`` (each as _baseline / _variant / _diff)
SHIFT_COLUMNS = ("cases", "total_cost", "entitlement", "final_amount")


def _cents(x: Any) -> int:
    return int(round(float(x) * 100))


def patient_tables(benefits: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``patient_layers`` (item, yuan, share of total cost; the layers' rows sum to the total
    cost row to the cent) and ``patient_by_level`` from the §9 summaries of
    :func:`payment.benefit_summary.summaries`."""
    ov = benefits["overall"]
    total = _cents(ov["total_cost"].iloc[0]) if len(ov) else 0
    cents = [_cents(ov[c].iloc[0]) if len(ov) else 0 for c in LAYERS]
    yuan = [c / 100 for c in [*cents, total]]
    share = [c / total if total else np.nan for c in [*cents, total]]
    layers = pd.DataFrame({"item": [*LAYER_ITEMS.values(), TOTAL_ITEM], "yuan": yuan,
                           "share": share})
    return {"patient_layers": layers, "patient_by_level": benefits["by_hospital_level"]}


def shift_tables(shift: Any) -> dict[str, pd.DataFrame]:
    """``tiered_shift_hospitals`` (per hospital baseline / variant / difference, yuan; a last
    row ``total``) and ``tiered_shift_fund`` (item, baseline, variant, diff, yuan) of a
    :class:`payment.tiered_settlement.ShiftSettlement`."""
    h = shift.hospitals
    cols = [f"{c}_{s}" for c in SHIFT_COLUMNS for s in ("baseline", "variant", "diff")]
    hosp = h[["hospital_id", *cols]].copy()
    for c in cols:
        if not c.startswith("cases"):  # yuan to the cent (the sums carry float noise)
            hosp[c] = np.round(hosp[c].to_numpy(dtype=np.float64), 2)
    tot: dict[str, Any] = {"hospital_id": "total"}
    for c in cols:
        if c.startswith("cases"):
            tot[c] = int(hosp[c].sum())
        else:  # summed in cents: Σ final amounts is what the fund pays
            tot[c] = int(np.round(hosp[c].to_numpy() * 100).astype(np.int64).sum()) / 100
    hosp = pd.concat([hosp, pd.DataFrame([tot])], ignore_index=True)
    b, v = shift.baseline.summary, shift.variant.summary
    fund = pd.DataFrame({"item": list(FUND_ITEMS.values()),
                         "baseline": [float(b[k]) for k in FUND_ITEMS],
                         "variant": [float(v[k]) for k in FUND_ITEMS]})
    fund["diff"] = [(_cents(v[k]) - _cents(b[k])) / 100 for k in FUND_ITEMS]
    return {"tiered_shift_hospitals": hosp, "tiered_shift_fund": fund}


_TITLES = {
    "layers": ("各医院等级的费用分担：各层支出与个人负担（元）",
               "Cost by hospital level: each insurance layer and out-of-pocket (yuan)"),
    "shift": ("分级诊疗：各医院年度清算应付变化（方案 − 基准，元）",
              "Tiered care: change of each hospital's final amount (variant − baseline, yuan)"),
    "level": ("医院等级", "hospital level"),
    "hospital": ("医院", "hospital"),
    "yuan": ("元", "yuan"),
}


def _t(key: str, lang: str | None) -> str:
    zh, en = _TITLES[key]
    return zh if lang == "zh" else en


def patient_figures(benefits: dict[str, pd.DataFrame] | None, shift: Any,
                    lang: str | None = None) -> list[tuple[str, Any]]:
    """Plotly figures of the patient side (layers stacked by hospital level) and of a shift
    (each hospital's final-amount difference); each is a column of a report table."""
    import plotly.graph_objects as go

    from .labels import column_label

    figs: list[tuple[str, Any]] = []
    if benefits is not None and len(benefits["by_hospital_level"]):
        lv = benefits["by_hospital_level"]
        x = lv["hospital_level"].astype(str)
        f = go.Figure([go.Bar(x=x, y=lv[c], name=column_label(c, lang or "en"))  # type: ignore[arg-type]
                       for c in LAYERS])
        f.update_layout(barmode="stack", title=_t("layers", lang), xaxis_title=_t("level", lang),
                        yaxis_title=_t("yuan", lang))
        figs.append(("patient_layers", f))
    if shift is not None:
        h = shift.hospitals.sort_values("final_amount_diff")
        colors = np.where(h["final_amount_diff"] >= 0, "#2a9d8f", "#e76f51")
        f = go.Figure(go.Bar(x=h["hospital_id"], y=h["final_amount_diff"], marker_color=colors,
                             hovertemplate="%{x}: %{y:,.2f}<extra></extra>"))
        f.update_layout(title=_t("shift", lang), xaxis_title=_t("hospital", lang),
                        yaxis_title=_t("yuan", lang))
        figs.append(("tiered_shift", f))
    return figs
