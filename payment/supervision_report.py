"""The supervisor's report of ``drgsim supervise``: HTML (self-contained, inline SVG charts) and
an Excel workbook, Chinese by default (labels from :mod:`payment.labels`).

Sections: the indices table; per signal a table of hospitals ranked by score, each flagged
hospital's value against its peers (a bar chart), and the drill-down cases with the detail and,
when given, the grouper's explanation of why the case landed in its group (text passed in by
the application layer, since payment never imports the grouper).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from .labels import Lang, column_label
from .report_format import CJK_FONTS, ChartSpec, html_table, write_workbook
from .supervision import SIGNALS

__all__ = ["SIGNAL_NAMES", "ranked", "write_supervision_html", "write_supervision_xlsx"]

SIGNAL_NAMES = {
    "split_admission": ("分解住院", "split admission"),
    "upcoding": ("高套", "upcoding"),
    "low_standard_admission": ("低标入院", "low-standard admission"),
    "patient_selection": ("推诿", "patient selection"),
    "restricted_code": ("性别/年龄限定编码", "sex- or age-restricted codes"),
}
_TXT = {
    "title": ("DRG 智能监管报告", "DRG supervision report"),
    "indices": ("绩效指标", "Performance indices"),
    "ranked": ("医院排名（按疑点得分）", "Hospitals ranked by score"),
    "flagged": ("疑点医院与同级医院对比", "Flagged hospitals against their peers"),
    "cases": ("疑点病例", "Cases behind the signal"),
    "none": ("无疑点医院", "No hospital flagged"),
    "score_note": ("得分 = (本院值 − 同级中位数) ÷ max(1.4826 × MAD, 下限)，越高越可疑。",
                   "Score = (value − level median) ÷ max(1.4826 × MAD, floor); higher is more "
                   "suspicious."),
    "yes": ("是", "yes"), "no": ("否", "no"),
}


def _t(key: str, lang: Lang) -> str:
    zh, en = _TXT[key]
    return zh if lang == "zh" else en


def signal_name(signal: str, lang: Lang = "zh") -> str:
    """The signal's display name."""
    zh, en = SIGNAL_NAMES.get(signal, (signal, signal))
    return zh if lang == "zh" else en


def ranked(hospital_signals: pd.DataFrame, signal: str) -> pd.DataFrame:
    """One signal's hospitals, highest score first, with ``rank`` and display column names."""
    df = hospital_signals[hospital_signals["signal"] == signal]
    df = df.sort_values(["score", "hospital_id"], ascending=[False, True], na_position="last")
    out = pd.DataFrame({
        "rank": range(1, len(df) + 1), "hospital_id": df["hospital_id"].to_numpy(),
        "hospital_level": df["hospital_level"].to_numpy(),
        "signal_value": df["value"].to_numpy(), "peer_value": df["peer_value"].to_numpy(),
        "signal_score": df["score"].to_numpy(), "flagged": df["flagged"].to_numpy(bool),
    })
    return out


def _bars(rows: list[tuple[str, float, float]], lang: Lang) -> str:
    """Inline SVG: per hospital, its value (red) and the peer value (grey)."""
    if not rows:
        return ""
    top = max([max(v, p) for _, v, p in rows if v == v and p == p] + [1e-12])
    h = 26 * len(rows) + 30
    parts = [f'<svg width="640" height="{h}" role="img" style="font-size:12px">']
    for i, (name, v, p) in enumerate(rows):
        y = 10 + 26 * i
        wv = 0 if v != v else 420 * v / top
        wp = 0 if p != p else 420 * p / top
        parts.append(f'<text x="0" y="{y + 14}">{html.escape(name)}</text>')
        parts.append(f'<rect x="110" y="{y}" width="{wv:.1f}" height="10" fill="#c0392b"/>')
        parts.append(f'<rect x="110" y="{y + 11}" width="{wp:.1f}" height="10" fill="#95a5a6"/>')
        parts.append(f'<text x="{115 + max(wv, wp):.1f}" y="{y + 14}">{v:.4g} / {p:.4g}</text>')
    own, peer = ("本院", "同级") if lang == "zh" else ("hospital", "peers")
    parts.append(f'<text x="110" y="{h - 4}" fill="#c0392b">■ {own}</text>'
                 f'<text x="200" y="{h - 4}" fill="#7f8c8d">■ {peer}</text></svg>')
    return "".join(parts)


def _flag_text(df: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    out = df.copy()
    out["flagged"] = out["flagged"].map(lambda b: _t("yes" if b else "no", lang))
    return out


def _in_lang(case_flags: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """Case flags whose ``detail`` is in ``lang`` (``detail_zh`` is the Chinese text)."""
    if lang == "zh" and "detail_zh" in case_flags.columns:
        cf = case_flags.copy()
        cf["detail"] = cf["detail_zh"].where(cf["detail_zh"].notna(), cf["detail"])
        return cf
    return case_flags


def _cases(case_flags: pd.DataFrame, signal: str, explain: dict[str, str] | None,
           limit: int, lang: Lang = "en") -> pd.DataFrame:
    cf = _in_lang(case_flags[case_flags["signal"] == signal], lang)
    cols = ["case_id", "hospital_id", "detail"] if "hospital_id" in cf.columns else [
        "case_id", "detail"]
    out = cf[cols].head(limit).copy()
    if explain:
        out["explanation"] = out["case_id"].map(lambda c: explain.get(str(c), ""))
    return out


def write_supervision_html(path: str | Path, indices: pd.DataFrame, hospital_signals: pd.DataFrame,
                           case_flags: pd.DataFrame, explain: dict[str, str] | None = None,
                           lang: Lang = "zh", max_cases: int = 200) -> Path:
    """Write the self-contained HTML report; returns ``path``."""
    path = Path(path)
    body = [f"<h1>{_t('title', lang)}</h1>", f"<h2>{_t('indices', lang)}</h2>",
            html_table(indices, lang, max_rows=500)]
    for sig in SIGNALS:
        r = ranked(hospital_signals, sig)
        body.append(f'<h2 id="{sig}">{html.escape(signal_name(sig, lang))}</h2>')
        body.append(f"<p>{_t('score_note', lang)}</p><h3>{_t('ranked', lang)}</h3>")
        body.append(html_table(_flag_text(r, lang), lang, max_rows=100))
        fl = r[r["flagged"]]
        body.append(f"<h3>{_t('flagged', lang)}</h3>")
        if len(fl):
            body.append(_bars(list(zip(fl["hospital_id"].astype(str), fl["signal_value"],
                                       fl["peer_value"])), lang))
        else:
            body.append(f"<p>{_t('none', lang)}</p>")
        cases = _cases(case_flags, sig, explain, max_cases, lang)
        body.append(f"<h3>{_t('cases', lang)} ({len(case_flags[case_flags['signal'] == sig]):,})"
                    "</h3>")
        if len(cases):
            rows = []
            head = "".join(f"<th>{html.escape(column_label(c, lang))}</th>" for c in cases.columns)
            for rec in cases.itertuples(index=False):
                cells = []
                for c, v in zip(cases.columns, rec, strict=True):
                    t = html.escape("" if v is None else str(v))
                    cells.append(f"<td><details><summary>…</summary><pre>{t}</pre></details></td>"
                                 if c == "explanation" and t else f"<td>{t}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            body.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
                        + "".join(rows) + "</tbody></table></div>")
    css = (f"body{{font-family:{CJK_FONTS};margin:2em}}table{{border-collapse:collapse}}"
           "td,th{border:1px solid #ddd;padding:3px 6px;font-size:13px}"
           "th{background:#f4f4f4}pre{white-space:pre-wrap;font-size:11px}"
           ".scroll{overflow-x:auto}")
    page = (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
            f'<meta charset="utf-8"><title>{_t("title", lang)}</title><style>{css}</style>'
            f"</head><body>{''.join(body)}</body></html>")
    path.write_text(page, encoding="utf-8")
    return path


def write_supervision_xlsx(path: str | Path, indices: pd.DataFrame,
                           hospital_signals: pd.DataFrame, case_flags: pd.DataFrame,
                           explain: dict[str, str] | None = None, lang: Lang = "zh",
                           max_cases: int = 50_000,
                           extra: dict[str, pd.DataFrame | None] | None = None) -> Path:
    """Write the workbook: indices (and the ``extra`` index tables, e.g. per department), one
    ranked sheet per signal (bar chart of value vs peer), the flagged cases (with the
    explanation when given)."""
    tables: dict[str, pd.DataFrame] = {"indices": indices}
    tables.update({k: v for k, v in (extra or {}).items() if v is not None})
    charts = {}
    for sig in SIGNALS:
        r = _flag_text(ranked(hospital_signals, sig), lang)
        name = signal_name(sig, lang).replace("/", "、")[:31]
        tables[name] = r
        charts[name] = ChartSpec(x="hospital_id", y=("signal_value", "peer_value"),
                                 title=name, y_title=column_label("signal_value", lang))
    cf = _in_lang(case_flags.head(max_cases), lang).copy()
    cf["signal"] = cf["signal"].map(lambda s: signal_name(s, lang))
    keep = [c for c in ("case_id", "signal", "detail", "hospital_id", "other_case_id")
            if c in cf.columns]
    cf = cf[keep]
    if explain:
        cf["explanation"] = cf["case_id"].map(lambda c: explain.get(str(c), ""))
    tables["case_flags"] = cf
    return write_workbook(path, tables, lang, charts=charts)
