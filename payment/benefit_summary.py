"""The patient side summed up (domain.md §9, last paragraph), and the columns it reads.

``benefit_inputs`` maps a settlement-list export's headers and values (险种 职工/居民, 人员类别
特困 …) onto the column names and codes :func:`payment.cost_sharing.cost_sharing` reads.
``summaries`` gives, by hospital, level, insurance, category and region: cases, total and
compliant cost (yuan), each layer, out-of-pocket, the actual reimbursement ratio (all layers ÷
total cost, 实际补偿比) and the policy-scope ratio (basic ÷ compliant, 政策范围内报销比); a ratio
with a zero denominator is blank. Per person-year: the out-of-pocket total, and the share of
person-years above thresholds a planner sets. ``patient_paid`` is what DRG/DIP settlement
subtracts (§9: total_cost − basic).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .benefit_policy import CATEGORIES, INSURANCES, OUT_OF_AREA, REFERRALS

__all__ = ["BENEFIT_HEADERS", "BENEFIT_VALUES", "LAYERS", "benefit_inputs", "oop_thresholds",
           "patient_paid", "person_years", "summaries", "summarise"]

#: Settlement-list headers accepted for the benefit inputs (Chinese or English) → column.
BENEFIT_HEADERS: dict[str, tuple[str, ...]] = {
    "case_id": ("病案号", "住院号", "结算单号"),
    "patient_id": ("患者编号", "个人编码", "人员编号", "参保人编号"),
    "hospital_id": ("医院编码", "医疗机构编码", "定点医药机构编号"),
    "hospital_level": ("医院等级", "医疗机构等级"),
    "total_cost": ("总费用", "医疗总费用", "住院总费用"),
    "discharge_date": ("出院日期", "出院时间"),
    "year": ("年度", "年份"),
    "insurance": ("险种", "险种类型"),
    "category": ("人员类别", "救助类别"),
    "referral": ("转诊标志", "转诊类型"),
    "out_of_area": ("异地就医备案", "异地就医"),
    "self_pay": ("全自费金额", "全自费"),
    "partial_self_pay": ("乙类先行自付", "先行自付金额"),
    "region": ("统筹区", "地区", "区县"),
}

#: Chinese codes accepted for the coded inputs → the engine's codes.
BENEFIT_VALUES: dict[str, dict[str, str]] = {
    "insurance": {"职工": "employee", "城镇职工": "employee", "职工医保": "employee",
                  "居民": "resident", "城乡居民": "resident", "居民医保": "resident"},
    "category": {"普通": "general", "一般": "general", "在职": "general", "退休": "retiree",
                 "未成年": "minor", "未成年人": "minor", "特困": "tekun", "特困人员": "tekun",
                 "低保": "dibao", "低保对象": "dibao", "低边": "dibian", "低保边缘": "dibian",
                 "返贫致贫": "fanpin", "返贫致贫人口": "fanpin"},
    "referral": {"无": "none", "否": "none", "上转": "up", "向上转诊": "up", "下转": "down",
                 "向下转诊": "down", "违规转诊": "irregular", "未按规定转诊": "irregular"},
    "out_of_area": {"本地": "local", "否": "local", "已备案": "filed", "未备案": "unfiled"},
}
_ALLOWED = {"insurance": INSURANCES, "category": CATEGORIES, "referral": REFERRALS,
            "out_of_area": OUT_OF_AREA}

#: The layers, in §9 step order, then the patient's share.
LAYERS = ("basic", "critical", "assistance", "safety_net", "oop")


def benefit_inputs(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with accepted Chinese headers renamed to column names and Chinese codes mapped
    to the engine's codes (unknown codes are left for the engine to refuse by name)."""
    rename = {}
    for col, heads in BENEFIT_HEADERS.items():
        if col in df.columns:
            continue
        for h in heads:
            if h in df.columns:
                rename[h] = col
                break
    out = df.rename(columns=rename)
    for col, table in BENEFIT_VALUES.items():
        if col in out.columns:
            s = out[col]
            text = s.astype("string").str.strip()
            mapped = text.replace(table)
            out[col] = mapped.where(s.notna(), None).astype(object)
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan)


def _frame(cases: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    if len(cases) != len(shares):
        raise ValueError(f"{len(cases)} cases but {len(shares)} cost-sharing rows: give the "
                         "output of cost_sharing(cases, ...) for these cases")
    total = pd.to_numeric(cases["total_cost"], errors="coerce").round(2).to_numpy()
    f = pd.DataFrame({"total_cost": total, "compliant": shares["compliant"].to_numpy()})
    for c in LAYERS:
        f[c] = shares[c].to_numpy()
    return f


def summarise(cases: pd.DataFrame, shares: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Cases, costs, layers (yuan, summed in cents so the totals are exact) and the two ratios,
    by one column of ``cases`` (None: one row for all). Groups in sorted order; blank keys
    form their own group."""
    f = _frame(cases, shares)
    money = ["total_cost", "compliant", *LAYERS]
    cents = (f[money] * 100).round().astype(np.int64)
    if by is None:
        keys = pd.Series(["all"] * len(f), name="group")
    else:
        keys = cases[by].astype("string").fillna("").reset_index(drop=True).rename(by)
    cents.index = keys.index
    g = cents.groupby(keys, sort=True)
    out = (g.sum() / 100).reset_index()
    out.insert(1, "cases", g.size().to_numpy())
    layers = out[["basic", "critical", "assistance", "safety_net"]].sum(axis=1).to_numpy()
    out["actual_ratio"] = _ratio(layers, out["total_cost"].to_numpy())
    out["policy_ratio"] = _ratio(out["basic"].to_numpy(), out["compliant"].to_numpy())
    return out


def person_years(cases: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """One row per person-year: patient_id, year, admissions, total_cost and oop (yuan)."""
    f = _frame(cases, shares)
    if "discharge_date" in cases.columns:
        year = pd.to_datetime(cases["discharge_date"], errors="coerce").dt.year
    else:
        year = pd.to_numeric(cases["year"], errors="coerce")
    f["patient_id"] = cases["patient_id"].astype(str).to_numpy()
    f["year"] = year.astype("Int64").to_numpy()
    f["tc"] = (f["total_cost"] * 100).round().astype(np.int64)
    f["oc"] = (f["oop"] * 100).round().astype(np.int64)
    g = f.groupby(["patient_id", "year"], sort=True)
    out = g.agg(admissions=("tc", "size"), total_cost=("tc", "sum"), oop=("oc", "sum")).reset_index()
    out["total_cost"] /= 100
    out["oop"] /= 100
    return out


def oop_thresholds(py: pd.DataFrame, thresholds: tuple[float, ...] | list[float]) -> pd.DataFrame:
    """Person-years whose out-of-pocket is above each threshold (yuan): count and share."""
    n = len(py)
    rows = [{"threshold": float(t), "persons_above": int((py["oop"] > t).sum()),
             "share": (float((py["oop"] > t).sum()) / n) if n else np.nan} for t in thresholds]
    return pd.DataFrame(rows)


#: The summary tables :func:`summaries` gives when the column exists (hospital_level always).
GROUPINGS = ("hospital_id", "hospital_level", "insurance", "category", "region")


def summaries(cases: pd.DataFrame, shares: pd.DataFrame,
              thresholds: tuple[float, ...] = (3_000.0, 5_000.0, 10_000.0, 20_000.0)
              ) -> dict[str, pd.DataFrame]:
    """All summary tables by name: ``overall``, ``by_<column>`` for each grouping column the
    cases have, ``person_years`` and ``oop_thresholds``."""
    out = {"overall": summarise(cases, shares).drop(columns="group")}
    for col in GROUPINGS:
        if col in cases.columns:
            out[f"by_{col.removesuffix('_id')}"] = summarise(cases, shares, col)
    py = person_years(cases, shares)
    out["person_years"] = py
    out["oop_thresholds"] = oop_thresholds(py, thresholds)
    return out


def patient_paid(cases: pd.DataFrame, shares: pd.DataFrame) -> np.ndarray:
    """What DRG/DIP settlement subtracts per case (§9): total_cost − basic, yuan to the cent."""
    f = _frame(cases, shares)
    cents = (f["total_cost"] * 100).round().astype(np.int64) - (f["basic"] * 100).round().astype(np.int64)
    return cents.to_numpy() / 100
