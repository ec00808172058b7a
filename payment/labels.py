"""Chinese and English labels and display kinds of the payment tables' columns (one place).

Reports, workbooks, the comparison and the dashboard look labels up here; a column not listed
keeps its own name. ``kind`` says how a value is shown: ``yuan`` (thousands separators, 2
decimals), ``pv`` (yuan per point, 4 decimals), ``ratio`` (a fraction shown as a percentage),
``count``, ``points``, ``index`` (CMI and scores, 4 decimals) or ``text``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import pandas as pd

__all__ = ["DETAILS", "DETAIL_WORDS", "LANGS", "SCOPED_COLUMNS", "Label", "column_label", "kind_of", "localise", "scoped", "scoped_kinds",
           "sheet_label", "text"]

Lang = Literal["zh", "en"]
LANGS = ("zh", "en")


class Label(NamedTuple):
    """Chinese label, English label, display kind."""

    zh: str
    en: str
    kind: str


_L = Label
COLUMNS: dict[str, Label] = {
    # identities
    "hospital_id": _L("医院编码", "hospital", "text"),
    "hospital_level": _L("医院等级", "level", "count"),
    "alliance_id": _L("医共体", "alliance", "text"),
    "scenario": _L("情景", "scenario", "text"),
    "item": _L("项目", "item", "text"),
    "metric": _L("指标", "metric", "text"),
    "draw": _L("抽样序号", "draw", "count"),
    "group": _L("病组", "group", "text"),
    "case_class": _L("病例类型", "case class", "text"),
    # statement of a hospital
    "cases": _L("病例数", "cases", "count"),
    "sr_cases": _L("特例单议病例数", "special-review cases", "count"),
    "points": _L("总点数", "points", "points"),
    "sr_amount": _L("特例单议金额(元)", "special-review amount (yuan)", "yuan"),
    "total_cost": _L("医疗总费用(元)", "total cost (yuan)", "yuan"),
    "ffs_amount": _L("按项目统筹支付(元)", "fee-for-service fund amount (yuan)", "yuan"),
    "entitlement": _L("按点数应付(元)", "entitlement (yuan)", "yuan"),
    "tier_ratio": _L("结余/超支率", "surplus/overspend ratio", "ratio"),
    "tier_adjustment": _L("结余留用/超支分担调整(元)", "tier adjustment (yuan)", "yuan"),
    "deposit": _L("质量保证金(元)", "quality deposit (yuan)", "yuan"),
    "score": _L("考核得分", "assessment score", "index"),
    "release": _L("保证金返还(元)", "deposit released (yuan)", "yuan"),
    "alliance_adjustment": _L("医共体调整(元)", "alliance adjustment (yuan)", "yuan"),
    "final_amount": _L("年度清算应付(元)", "final amount (yuan)", "yuan"),
    "advances": _L("月度预拨(元)", "monthly advances (yuan)", "yuan"),
    "clearing": _L("年终清算(元)", "year-end clearing (yuan)", "yuan"),
    "result": _L("盈亏(元)", "result (yuan)", "yuan"),
    "payment_ratio": _L("支付比", "payment ratio", "ratio"),
    "cmi": _L("CMI", "CMI", "index"),
    # scenario summaries
    "point_value": _L("点值(元/点)", "point value (yuan/point)", "pv"),
    "budget": _L("预算总额(元)", "budget (yuan)", "yuan"),
    "paid": _L("支付医院(元)", "paid to hospitals (yuan)", "yuan"),
    "reserve_kept": _L("留存调节金(元)", "reserve kept (yuan)", "yuan"),
    "returned": _L("返还基金(元)", "returned to the fund (yuan)", "yuan"),
    "sharing": _L("超支分担(元)", "overspend sharing (yuan)", "yuan"),
    "recovered": _L("结余收回(元)", "surplus taken back (yuan)", "yuan"),
    "hospitals_surplus": _L("结余医院数", "hospitals in surplus", "count"),
    "hospitals_overspend": _L("超支医院数", "hospitals overspent", "count"),
    "largest_loss": _L("最大亏损(元)", "largest loss (yuan)", "yuan"),
    "largest_loss_hospital": _L("最大亏损医院", "largest-loss hospital", "text"),
    "fund_balance": _L("基金结余(元)", "fund balance (yuan)", "yuan"),
    "yuan": _L("金额(元)", "yuan", "yuan"),
    # alliances
    "charged": _L("实际发生(元)", "charged (yuan)", "yuan"),
    "fund_part": _L("基金承担(元)", "fund part (yuan)", "yuan"),
    # Monte Carlo
    "p_loss": _L("亏损概率", "probability of a loss", "ratio"),
    "mean": _L("均值", "mean", "yuan"),
    "volume_growth": _L("病例数增长", "volume growth", "ratio"),
    "cost_growth": _L("费用增长", "cost growth", "ratio"),
    "upcoding_share": _L("高套比例", "upcoding share", "ratio"),
    "level_shift_share": _L("基层下沉比例", "level-shift share", "ratio"),
    # case-class mix
    "normal": _L("正常病例", "normal", "count"),
    "high": _L("高倍率", "high multiple", "count"),
    "low": _L("低倍率", "low multiple", "count"),
    "incomplete": _L("未完成治疗", "incomplete", "count"),
    "bed_day": _L("床日付费", "bed-day", "count"),
    "excluded": _L("除外", "excluded", "count"),
    "ungroupable": _L("未入组", "ungroupable", "count"),
    # patients' cost-sharing (§9)
    "patient_id": _L("患者编号", "patient", "text"),
    "case_id": _L("病案号", "case", "text"),
    "year": _L("年度", "year", "text"),
    "insurance": _L("险种", "insurance", "text"),
    "category": _L("人员类别", "category", "text"),
    "region": _L("统筹区", "region", "text"),
    "compliant": _L("政策范围内费用(元)", "compliant cost (yuan)", "yuan"),
    "deductible": _L("起付线(元)", "deductible (yuan)", "yuan"),
    "basic": _L("统筹基金支付(元)", "basic fund (yuan)", "yuan"),
    "critical": _L("大病保险(元)", "critical illness (yuan)", "yuan"),
    "assistance": _L("医疗救助(元)", "medical assistance (yuan)", "yuan"),
    "safety_net": _L("兜底保障(元)", "safety net (yuan)", "yuan"),
    "oop": _L("个人负担(元)", "out-of-pocket (yuan)", "yuan"),
    "ratio": _L("统筹支付比例", "basic ratio", "ratio"),
    "reasons": _L("说明", "reasons", "text"),
    "actual_ratio": _L("实际补偿比", "actual reimbursement ratio", "ratio"),
    "policy_ratio": _L("政策范围内报销比", "policy-scope ratio", "ratio"),
    "admissions": _L("住院次数", "admissions", "count"),
    "threshold": _L("个人负担阈值(元)", "out-of-pocket threshold (yuan)", "yuan"),
    "persons_above": _L("超过阈值人数", "person-years above", "count"),
    "share": _L("占比", "share", "ratio"),
    # tiered-care what-ifs
    "baseline": _L("基准", "baseline", "yuan"),
    "variant": _L("方案", "variant", "yuan"),
    # comparison
    "a": _L("方案A", "A", "yuan"),
    "b": _L("方案B", "B", "yuan"),
    "diff": _L("差额(B−A)", "difference (B−A)", "yuan"),
    "diff_pct": _L("变化率", "change", "ratio"),
}
for _m in range(1, 13):
    COLUMNS[f"m{_m:02d}"] = _L(f"{_m}月(元)", f"month {_m} (yuan)", "yuan")
for _p in (1, 5, 10, 25, 50, 75, 90, 95, 99):
    COLUMNS[f"p{_p}"] = _L(f"P{_p}", f"p{_p}", "yuan")

for _c in ("final_amount", "result", "entitlement"):
    _base = COLUMNS[_c]
    for _suf, _zh, _en in (("a", "A", "A"), ("b", "B", "B"), ("diff", "差额(B−A)", "B − A")):
        COLUMNS[f"{_c}_{_suf}"] = _L(f"{_base.zh} {_zh}", f"{_base.en} {_en}", "yuan")
for _c in ("cases", "total_cost", "oop", "actual_ratio", "policy_ratio", "entitlement",
           "final_amount"):
    _base = COLUMNS[_c]
    for _suf, _zh, _en in (("baseline", "基准", "baseline"), ("variant", "方案", "variant"),
                           ("diff", "差额", "difference")):
        COLUMNS[f"{_c}_{_suf}"] = _L(f"{_base.zh} {_zh}", f"{_base.en} {_en}", _base.kind)
COLUMNS["final_amount_diff_pct"] = _L("年度清算应付变化率", "final amount change", "ratio")

# the fund month by month (§8a; drgsim cashflow, the dashboard's cash-flow view)
COLUMNS.update({
    "fund": _L("基金", "fund", "text"),
    "month": _L("月份", "month", "text"),
    "opening": _L("期初余额(元)", "opening balance (yuan)", "yuan"),
    "income": _L("收入(元)", "income (yuan)", "yuan"),
    "prepayment": _L("预付金(元)", "prepayment (yuan)", "yuan"),
    "deductions": _L("预付金扣回(元)", "prepayment deducted (yuan)", "yuan"),
    "special_review": _L("特例单议(元)", "special review (yuan)", "yuan"),
    "other_spending": _L("其他支出(元)", "other spending (yuan)", "yuan"),
    "expenditure": _L("支出合计(元)", "expenditure (yuan)", "yuan"),
    "closing": _L("期末余额(元)", "closing balance (yuan)", "yuan"),
    "months_of_reserve": _L("可支付月数", "months of reserve", "index"),
    "low_reserve_alert": _L("低于预警", "below the alert", "text"),
    "outstanding": _L("未扣回预付金(元)", "prepayment outstanding (yuan)", "yuan"),
    "cum_received": _L("累计到账(元)", "cumulative received (yuan)", "yuan"),
    "cum_entitlement": _L("累计应得(元)", "cumulative entitlement (yuan)", "yuan"),
    "position": _L("资金头寸(元)", "cash position (yuan)", "yuan"),
    "lowest_months_of_reserve": _L("最低可支付月数", "lowest months of reserve", "index"),
    "prepayment_eligible": _L("可预付", "prepayment allowed", "text"),
    "projected_deficit": _L("预计赤字", "projected deficit", "text"),
})

# supervision (§10 indices and signals; drgsim supervise)
COLUMNS.update({
    "grouping_rate": _L("入组率", "grouping rate", "ratio"),
    "drg_count": _L("DRG组数", "DRG count", "count"),
    "cost_index": _L("费用消耗指数", "cost index", "index"),
    "time_index": _L("时间消耗指数", "time index", "index"),
    "low_risk_mortality": _L("低风险组死亡率", "low-risk mortality", "ratio"),
    "signal": _L("疑点类型", "signal", "text"),
    "signal_value": _L("本院值", "value", "index"),
    "peer_value": _L("同级医院值", "peer value", "index"),
    "signal_score": _L("疑点得分(稳健z)", "score (robust z)", "index"),
    "flagged": _L("是否疑点", "flagged", "text"),
    "rank": _L("排名", "rank", "count"),
    "case_id": _L("病例号", "case", "text"),
    "detail": _L("疑点说明", "detail", "text"),
    "explanation": _L("入组说明", "grouping explanation", "text"),
    "drg": _L("DRG", "DRG", "text"),
    "flagged_cases": _L("疑点病例数", "flagged cases", "count"),
    "flagged_stays": _L("疑点住院次数", "flagged stays", "count"),
    "discharges": _L("出院人次", "discharges", "count"),
    "grouped": _L("入组病例数", "grouped cases", "count"),
    "cmi_cases": _L("CMI病例数", "CMI cases", "count"),
    "low_risk_cases": _L("低风险组病例数", "low-risk cases", "count"),
    "low_risk_deaths": _L("低风险组死亡数", "low-risk deaths", "count"),
    "dept": _L("科室", "department", "text"),
    "doctor": _L("主诊医师", "doctor", "text"),
})

# cash-flow reports (§8a, payment.cashflow_report) have their own wording ("hospital_id" is
# 医疗机构编码 there), and English = the column name (the CSVs' names); only the columns listed are
# relabelled. They live in SCOPED_COLUMNS["cashflow"], not in COLUMNS: readers that map every
# COLUMNS label back to its column (payment.comparison) would otherwise turn "advances" or
# "final_amount" into the cash-flow key.
_CASHFLOW_ZH = {
    "fund": "基金", "month": "月份", "t": "序号", "opening": "期初余额", "income": "收入",
    "prepayment": "预付金", "advances": "月度预拨", "deductions": "预付金扣回",
    "special_review": "特例单议", "other_spending": "其他支出", "clearing": "年终清算",
    "expenditure": "支出合计", "closing": "期末余额", "months_of_reserve": "可支付月数",
    "low_reserve_alert": "低于预警", "hospital_id": "医疗机构编码", "score": "考核得分",
    "history_months": "历史月数", "prepaid": "获得预付金", "deducted": "月度扣回",
    "recovered_at_clearing": "清算扣回", "outstanding": "未扣回预付金",
    "gross_advances": "预拨(扣前)", "net_advances": "预拨(扣后)", "received_total": "全年到账",
    "final_amount": "清算应付总额", "received": "当月到账", "entitlement": "当月应得",
    "cum_received": "累计到账", "cum_entitlement": "累计应得", "position": "资金头寸",
    "alert": "预警", "detail": "说明", "scenario": "情景",
    "prepayment_eligible": "可预付", "eligibility": "资格说明", "projected_deficit": "预计赤字",
    "lowest_months_of_reserve": "最低可支付月数", "lowest_month": "最低月份",
    "lowest_closing": "最低余额", "low_reserve_months": "预警月数", "alerts": "预警数",
    "draw": "抽样", "income_growth": "收入增长", "spending_growth": "支出增长",
    "draws": "抽样数", "mean": "均值", "share_below_alert": "低于预警比例",
}
_CASHFLOW_YUAN = {
    "opening", "income", "prepayment", "advances", "deductions", "special_review",
    "other_spending", "clearing", "expenditure", "closing", "deducted", "recovered_at_clearing",
    "outstanding", "gross_advances", "net_advances", "received_total", "final_amount",
    "received", "entitlement", "cum_received", "cum_entitlement", "position", "lowest_closing"}
_CASHFLOW_KIND = {"months_of_reserve": "index", "lowest_months_of_reserve": "index",
                  "mean": "index", "income_growth": "ratio", "spending_growth": "ratio",
                  "share_below_alert": "ratio"}
#: Column labels of one report family, used instead of COLUMNS there (see :func:`scoped`).
SCOPED_COLUMNS: dict[str, dict[str, Label]] = {"cashflow": {
    _c: _L(_zh, _c, "yuan" if _c in _CASHFLOW_YUAN else _CASHFLOW_KIND.get(_c, "text"))
    for _c, _zh in _CASHFLOW_ZH.items()}}

SHEETS: dict[str, tuple[str, str]] = {
    "scenarios": ("情景汇总", "scenarios"),
    "statements": ("医院清算单", "statements"),
    "advances": ("月度预拨", "advances"),
    "ledger": ("基金台账", "ledger"),
    "case_class_mix": ("病例类型构成", "case-class mix"),
    "alliances": ("医共体", "alliances"),
    "sweep": ("参数扫描", "sweep"),
    "mc_percentiles": ("蒙特卡洛分位数", "Monte Carlo percentiles"),
    "mc_hospitals": ("蒙特卡洛医院", "Monte Carlo hospitals"),
    "mc_draws": ("蒙特卡洛抽样", "Monte Carlo draws"),
    "summary": ("总体对比", "summary"),
    "cases": ("病例明细", "cases"),
    "overall": ("总体", "overall"),
    "by_hospital": ("按医院", "by hospital"),
    "by_hospital_level": ("按医院等级", "by level"),
    "by_insurance": ("按险种", "by insurance"),
    "by_category": ("按人员类别", "by category"),
    "by_region": ("按统筹区", "by region"),
    "person_years": ("参保人年度负担", "person-years"),
    "oop_thresholds": ("高额负担人数", "out-of-pocket thresholds"),
    "tiered_layers": ("分级诊疗-各层支出", "tiered care - layers"),
    "tiered_by_level": ("分级诊疗-按等级", "tiered care - by level"),
    "tiered_by_category": ("分级诊疗-按人员类别", "tiered care - by category"),
    "tiered_volumes": ("分级诊疗-医院病例数", "tiered care - volumes"),
    "tiered_shift_hospitals": ("分级诊疗-医院清算对比", "tiered care - hospitals"),
    "tiered_shift_fund": ("分级诊疗-基金支出对比", "tiered care - fund"),
    "tiered_shift_mc_hospitals": ("分级诊疗-蒙特卡洛医院", "tiered care - MC hospitals"),
    "tiered_shift_mc_draws": ("分级诊疗-蒙特卡洛抽样", "tiered care - MC draws"),
    "patient_layers": ("患者负担-各层支出", "patients - insurance layers"),
    "patient_by_level": ("患者负担-按医院等级", "patients - by hospital level"),
    "hospitals": ("医院对比", "hospitals"),
    "indices": ("绩效指标", "indices"),
    "indices_dept": ("科室绩效指标", "indices by department"),
    "indices_doctor": ("医师绩效指标", "indices by doctor"),
    "hospital_signals": ("医院疑点", "hospital signals"),
    "case_flags": ("疑点病例", "flagged cases"),
    # cash-flow workbook (payment.cashflow_report; English = the table's name)
    "cashflow.summary": ("概览", "summary"),
    "cashflow.ledger": ("基金月度收支", "ledger"),
    "cashflow.accounts": ("医院预付与清算", "accounts"),
    "cashflow.cash": ("医院资金头寸", "cash"),
    "cashflow.alerts": ("预警", "alerts"),
    "cashflow.whatifs": ("情景分析", "whatifs"),
    "cashflow.mc_percentiles": ("蒙特卡洛分位数", "mc_percentiles"),
    "cashflow.mc_draws": ("蒙特卡洛抽样", "mc_draws"),
}

#: Case-flag detail templates of the supervision signals, (Chinese, English); filled column-wise
#: by payment.signals_text.details ({name} as is, {name:.2f} two decimals).
DETAILS: dict[str, tuple[str, str]] = {
    # the fund's prepayment eligibility (§8a, payment.cashflow.fund_eligibility)
    "cf_disabled": ("未启用预付金", "prepayment disabled"),
    "cf_no_history": ("无基金支出历史，无法测算可支付月数", "no expenditure history to measure cover"),
    "cf_cover_short": ("可支付 {cover} 个月 < {need}", "cover {cover} months < {need}"),
    "cf_deficit_last": ("上年度当期赤字", "deficit last year"),
    "cf_deficit_projected": ("本年度预计赤字", "projected deficit this year"),
    "cf_cover_ok": ("可支付 {cover} 个月 ≥ {need}", "cover {cover} months ≥ {need}"),
    "split_next": ("下次住院 {other} ({hospital}) 于本次出院后 {gap} 天入院",
                   "next stay {other} at {hospital} admitted {gap} days after this discharge"),
    "split_previous": ("上次住院 {other} ({hospital}) 于本次入院前 {gap} 天出院",
                       "previous stay {other} at {hospital} discharged {gap} days before this "
                       "admission"),
    "upcoding": ("严重程度亚组 {drg} 来自次要诊断 {codes}, 不见于患者既往住院",
                 "severity subgroup {drg} from secondary diagnoses {codes}, not in the "
                 "patient's earlier stays"),
    "upcoding_history": ("严重程度亚组 {drg} 来自次要诊断 {codes}, 不见于患者既往住院或本院历史",
                         "severity subgroup {drg} from secondary diagnoses {codes}, not in the "
                         "patient's earlier stays or the hospital's history"),
    "low_standard": ("住院 {los} 天, 费用 {cost:.2f} 元 < {group} 全区均值 {mean:.2f} 元的 {share}; "
                     "同级医院该组多为较长住院",
                     "LOS {los} day(s), cost {cost:.2f} yuan < {share} of {group} region mean "
                     "{mean:.2f}; peers mostly treat {group} as a longer stay"),
    "selection": ("转出 (离院方式 {mode}), 所在医院高权重病例占比下降或转出上升; DRG {drg}",
                  "transfer out (discharge mode {mode}) from a hospital whose high-weight share "
                  "fell or transfers rose; DRG {drg}"),
    "restricted": ("{what} {code} 要求 {field} {cmp} {value} ({source}), 但 {field} = {recorded}",
                   "{what} {code} requires {field} {cmp} {value} ({source}) but {field} = "
                   "{recorded}"),
}
#: Words inside the detail texts, (Chinese, English).
DETAIL_WORDS: dict[str, tuple[str, str]] = {
    "dx": ("诊断", "diagnosis"), "pr": ("手术操作", "procedure"),
    "sex": ("性别", "sex"), "age": ("年龄", "age"),
}

#: Ledger items and other fixed phrases of the reports.
TEXT: dict[str, str] = {
    "budget": "预算总额",
    "reserve withheld": "提取调节金",
    "fund for the point value": "用于点值测算的基金",
    "entitlements": "按点数应付合计",
    "overspend sharing paid from the reserve": "调节金支付超支分担",
    "surplus taken back": "结余收回",
    "quality deposits withheld": "扣留质量保证金",
    "quality deposits released": "返还质量保证金",
    "alliance results paid (+) / deducted (−)": "医共体结余(+)/超支(−)",
    "paid to hospitals": "支付医院合计",
    "  of which monthly advances": "  其中：月度预拨",
    "  of which year-end clearing": "  其中：年终清算",
    "reserve kept": "留存调节金",
    "returned to the fund": "返还基金",
    "baseline": "基准",
    # the report's patient side and tiered-care shift (payment.patient_report)
    "basic fund": "统筹基金",
    "critical illness insurance": "大病保险",
    "medical assistance": "医疗救助",
    "safety net": "兜底保障",
    "patients' out-of-pocket": "个人负担",
    "total cost": "医疗总费用",
}


def scoped(scope: str, lang: Lang = "zh") -> dict[str, str]:
    """``{column: header}`` of report family ``scope`` (:data:`SCOPED_COLUMNS`), e.g.
    ``scoped("cashflow")``: exactly the columns that family relabels."""
    return {k: (v.zh if lang == "zh" else v.en) for k, v in SCOPED_COLUMNS[scope].items()}


def scoped_kinds(scope: str) -> dict[str, str]:
    """``{column: display kind}`` of report family ``scope``."""
    return {k: v.kind for k, v in SCOPED_COLUMNS[scope].items()}


def column_label(col: str, lang: Lang = "zh") -> str:
    """The header of ``col`` in ``lang`` (the column's own name when it has no label)."""
    lab = COLUMNS.get(col)
    if lab is None:
        return col
    return lab.zh if lang == "zh" else lab.en


def kind_of(col: str, series: pd.Series | None = None) -> str:
    """Display kind of ``col`` (see module doc); unknown float columns show as yuan-like
    numbers with 2 decimals, unknown integer columns as counts, anything else as text."""
    lab = COLUMNS.get(col)
    if lab is not None:
        return lab.kind
    if col.startswith(("settlement.", "point_value.", "whatif.", "outliers.")):
        return "param"
    if series is not None and pd.api.types.is_integer_dtype(series):
        return "count"
    if series is not None and pd.api.types.is_float_dtype(series):
        return "yuan"
    return "text"


def sheet_label(name: str, lang: Lang = "zh") -> str:
    """Sheet / section title of table ``name`` (at most 31 characters, Excel's limit)."""
    zh, en = SHEETS.get(name, (name, name))
    return (zh if lang == "zh" else en)[:31]


def text(phrase: str, lang: Lang = "zh") -> str:
    """A fixed phrase (a ledger item, "baseline") in ``lang``."""
    return TEXT.get(phrase, phrase) if lang == "zh" else phrase


def localise(df: pd.DataFrame, lang: Lang = "zh") -> pd.DataFrame:
    """A copy with headers (and ledger items / the baseline label) in ``lang``."""
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}; allowed: {', '.join(LANGS)}")
    out = df.copy()
    for col in ("item", "scenario"):
        if col in out.columns and lang == "zh":
            out[col] = out[col].map(lambda v: text(v, lang) if isinstance(v, str) else v)
    out.columns = [column_label(str(c), lang) for c in out.columns]
    return out
