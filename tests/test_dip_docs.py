"""docs/dip.md cannot drift: its worked examples are read out of the page, run through the
code, and recomputed here by hand.

Each example is an ``<!-- example: NAME -->`` marker followed by a fenced block (CSV or JSON)
or a markdown table. Every test of an example comes twice: ``*_code`` runs grouper.dip /
payment on the page's inputs and compares with the page's expected table, ``*_by_hand``
recomputes the same table in plain decimal arithmetic from the page's inputs and the numbers
the page states (DipConfig defaults, policy keys) — the ``hand`` functions below import nothing
from grouper or payment. The page's policy numbers are checked against the preset itself, so
the hand computation uses what the code reads from the policy file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pandas as pd
import pytest
import tomllib
from shared_data import ROOT

DOC = ROOT / "docs" / "dip.md"


@pytest.fixture(autouse=True)
def _forty_digits():
    """This file's hand arithmetic in 40 digits, in a local context: other tests' decimal
    context is left as it was."""
    with localcontext() as ctx:
        ctx.prec = 40
        yield

# ---- reading the page ---------------------------------------------------------------------------


def _examples() -> dict[str, str]:
    """Marker name → the raw text of the fenced block or table right after it."""
    lines = DOC.read_text("utf-8").splitlines()
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = re.fullmatch(r"<!-- example: ([a-z0-9-]+) -->", line.strip())
        if not m:
            continue
        j = i + 1
        while not lines[j].strip():
            j += 1
        if lines[j].startswith("```"):
            k = j + 1
            while not lines[k].startswith("```"):
                k += 1
            body = lines[j + 1:k]
        else:
            k = j
            while k < len(lines) and lines[k].startswith("|"):
                k += 1
            body = lines[j:k]
        assert m.group(1) not in out, f"example {m.group(1)!r} twice in docs/dip.md"
        out[m.group(1)] = "\n".join(body)
    return out


EX = _examples()


def table(name: str) -> list[dict[str, str]]:
    """A marked markdown table as rows of stripped cell texts (backticks removed)."""
    rows = [[c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            for line in EX[name].splitlines()]
    head, body = rows[0], rows[2:]
    assert set(rows[1]) <= {"---"}, name
    return [dict(zip(head, r, strict=True)) for r in body]


def csv_rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(EX[name])))


def frame(name: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(EX[name]), dtype=str, keep_default_na=False)


def js(name: str) -> dict:
    return json.loads(EX[name])


def places(text: str) -> Decimal:
    """The quantum a table cell is written to: '7000.00' → 0.01, '2' → 1."""
    return Decimal(1).scaleb(-len(text.split(".")[1])) if "." in text else Decimal(1)


def cell(value: object, like: str) -> str:
    """A code value written as the page writes ``like`` (same decimals, half-up)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return ""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return str(Decimal(repr(float(value)) if isinstance(value, (float, np.floating))
                           else int(value)).quantize(places(like), ROUND_HALF_UP))
    return "" if value is None else str(value)


def hcell(value: Decimal | int | str | bool | None, like: str) -> str:
    """A hand-computed value written as the page writes ``like``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return str(Decimal(value).quantize(places(like), ROUND_HALF_UP))
    return value


def assert_table(expected: list[dict[str, str]], got: list[dict[str, object]], conv) -> None:
    assert len(got) == len(expected), (len(got), len(expected))
    for e, g in zip(expected, got, strict=True):
        have = {k: conv(g[k], e[k]) for k in g}
        want = {k: e[k] for k in g}
        assert have == want, (e, have)


# ---- the page's own tables against the code's defaults ------------------------------------------


def test_every_example_is_used():
    assert set(EX) == {
        "dipconfig-defaults", "catalogue-config", "catalogue-history", "catalogue-treatments",
        "catalogue-all-case-mean", "catalogue-groups", "grouping-cases", "grouping-results",
        "trimming-config", "trimming-history",
        "trimming-results", "pricing-policy", "pricing-history", "pricing-weights",
        "pricing-point-value", "pricing-cases", "pricing-priced", "settlement-budget",
        "settlement-results", "settlement-summary", "previous-year-history",
        "previous-year-cases", "previous-year-priced"}


def test_dipconfig_defaults_table_is_dipconfig():
    from dataclasses import fields

    from grouper.dip import DipConfig

    doc = {r["key"]: json.loads(r["default"]) for r in table("dipconfig-defaults")}
    code = {f.name: f.default for f in fields(DipConfig)}
    code["year_weights"] = list(code["year_weights"])
    assert doc == code


def _policy_value(policy, dotted: str):
    v = policy
    for part in dotted.split("."):
        v = getattr(v, part)
    return v


def test_policy_table_is_the_preset():
    from payment import load_policy

    pol = load_policy("national_dip")
    rows = table("pricing-policy")
    assert rows
    for r in rows:
        want = tomllib.loads(f"v = {r['value']}")["v"]
        got = _policy_value(pol, r["key"])
        assert got == want and type(got) is type(want), (r["key"], got, want)


def test_readme_links_the_page():
    assert "docs/dip.md" in (ROOT / "README.md").read_text("utf-8")


# ---- example 1 and 2: catalogues ------------------------------------------------------------------


def _code_catalogue(history: str, config: dict):
    from grouper.dip import DipConfig, build_catalogue
    from grouper.dip.synth import tiny_scheme

    df = frame(history)
    for c in ("year", "sex", "age"):
        df[c] = df[c].astype(int)
    df["total_cost"] = df["total_cost"].astype(float)
    return build_catalogue(df, DipConfig(**config), tiny_scheme())


def test_catalogue_example_code():
    cat = _code_catalogue("catalogue-history", js("catalogue-config"))
    got = [{k: r[k] for k in ("group_code", "type", "treatment", "cases", "mean", "score")}
           for r in cat.groups.to_dict("records")]
    assert_table(table("catalogue-groups"), got, cell)
    m = js("catalogue-all-case-mean")
    counts = cat.manifest["counts"]
    assert cell(cat.manifest["all_case_mean"], "0.00") == f"{m['all_case_mean']:.2f}"
    assert (counts["cases_used"], counts["outside_years"], counts["core_groups"],
            counts["comprehensive_groups"]) == (m["cases_used"], m["outside_years"],
                                                m["core_groups"], m["comprehensive_groups"])


def test_trimming_example_code():
    base = js("trimming-config")
    for r in table("trimming-results"):
        cat = _code_catalogue("trimming-history", {**base, "trim": r["trim"]})
        g = cat.groups.set_index("group_code")
        got = {"trim": r["trim"],
               "K80.1 kept": g.loc["K80.1/51.2300", "cases_kept"],
               "K35.8 kept": g.loc["K35.8/87.4100", "cases_kept"],
               "K80.1 mean": g.loc["K80.1/51.2300", "mean"],
               "K35.8 mean": g.loc["K35.8/87.4100", "mean"],
               "all-case mean": cat.manifest["all_case_mean"],
               "K80.1 score": g.loc["K80.1/51.2300", "score"],
               "K35.8 score": g.loc["K35.8/87.4100", "score"]}
        assert_table([r], [got], cell)


# Hand computation of a catalogue: plain Python and decimal, from the page's rules 1.1–1.10.
TYPES = ("conservative", "diagnostic", "therapeutic", "surgery")


def hand_quantile(xs: list[Decimal], q: Decimal) -> Decimal:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def hand_keep(xs: list[Decimal], cfg: dict) -> list[bool]:
    """Rule 1.7 on one group-year set."""
    if cfg["trim"] == "none" or len(xs) < cfg["trim_min_cases"]:
        return [True] * len(xs)
    k = Decimal(str(cfg["trim_k"]))
    if cfg["trim"] == "iqr":
        q1, q3 = hand_quantile(xs, Decimal("0.25")), hand_quantile(xs, Decimal("0.75"))
        lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    elif cfg["trim"] == "sd":
        mean = sum(xs) / len(xs)
        sd = (sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)).sqrt()
        lo, hi = mean - k * sd, mean + k * sd
    else:
        lo = hand_quantile(xs, Decimal(str(cfg["trim_lower"])))
        hi = hand_quantile(xs, Decimal(str(cfg["trim_upper"])))
    return [lo <= x <= hi for x in xs]


def hand_weighted(cases: list[tuple[int, Decimal]], weight: dict[int, Decimal]) -> Decimal:
    """Rule 1.8: Σ w_y mean_y ÷ Σ w_y over the years present."""
    by_year = defaultdict(list)
    for y, c in cases:
        by_year[y].append(c)
    num = sum(weight[y] * sum(v) / len(v) for y, v in by_year.items())
    return num / sum(weight[y] for y in by_year)


def hand_catalogue(history: list[dict[str, str]], cfg: dict, types: dict[str, str]):
    """(groups {code: {type, treatment, cases, kept, mean, score}}, all-case mean, counts)."""
    newest = max(int(r["year"]) for r in history)
    yw = [Decimal(str(w)) for w in cfg["year_weights"]]
    weight = {newest - len(yw) + 1 + i: w for i, w in enumerate(yw)}
    used = [r for r in history if int(r["year"]) in weight and Decimal(r["total_cost"]) > 0]
    combos: dict[tuple, list[dict]] = defaultdict(list)
    for r in used:
        procs = tuple(sorted({p for p in r["procedures"].split("|") if p}))
        combos[(r["diagnoses"][:5], procs)].append(r)   # dx_level 4: 'K80.100' → 'K80.1'
    members: dict[str, list[dict]] = defaultdict(list)
    kind: dict[str, tuple[str, str]] = {}
    for (dx, procs), rows in combos.items():
        for r in rows:
            ttype = max((types[p] for p in procs), key=TYPES.index, default="conservative")
            if len(rows) >= cfg["core_threshold"]:
                code = dx + "/" + ("+".join(procs) or "none")
                kind[code] = ("core", ttype)   # the type of a core group: its cases' type
            else:
                code = dx[:3] + "/" + ttype
                kind[code] = ("comprehensive", ttype)
            members[code].append(r)
    kept: dict[str, list[tuple[int, Decimal]]] = {}
    for code, rows in members.items():
        kept[code] = []
        for y in sorted({int(r["year"]) for r in rows}):
            xs = [Decimal(r["total_cost"]) for r in rows if int(r["year"]) == y]
            kept[code] += [(y, x) for x, k in zip(xs, hand_keep(xs, cfg), strict=True) if k]
    all_mean = hand_weighted([c for v in kept.values() for c in v], weight)
    groups = {code: {"type": kind[code][0], "treatment": kind[code][1],
                     "cases": len(members[code]), "kept": len(kept[code]),
                     "mean": hand_weighted(kept[code], weight),
                     "score": hand_weighted(kept[code], weight) / all_mean * cfg["scale"]}
              for code in members}
    counts = {"cases_used": len(used), "outside_years": len(history) - len(used),
              "core_groups": sum(k[0] == "core" for k in kind.values()),
              "comprehensive_groups": sum(k[0] == "comprehensive" for k in kind.values())}
    return groups, all_mean, counts


def _doc_config(name: str) -> dict:
    defaults = {r["key"]: json.loads(r["default"]) for r in table("dipconfig-defaults")}
    return {**defaults, **js(name)}


def test_catalogue_example_by_hand():
    types = {r["procedure"]: r["treatment"] for r in table("catalogue-treatments")}
    groups, all_mean, counts = hand_catalogue(csv_rows("catalogue-history"),
                                              _doc_config("catalogue-config"), types)
    expected = table("catalogue-groups")
    assert sorted(r["group_code"] for r in expected) == sorted(groups)
    got = [{"group_code": r["group_code"], **{k: groups[r["group_code"]][k]
            for k in ("type", "treatment", "cases", "mean", "score")}} for r in expected]
    assert_table(expected, got, hcell)
    m = js("catalogue-all-case-mean")
    assert hcell(all_mean, "0.00") == f"{m['all_case_mean']:.2f}"
    assert counts == {k: m[k] for k in counts}


def test_trimming_example_by_hand():
    types = {"51.2300": "surgery", "87.4100": "diagnostic"}  # as in example 1's table
    assert all(table("catalogue-treatments")[i]["treatment"] == t for i, t in
               ((0, "surgery"), (3, "diagnostic")))
    for r in table("trimming-results"):
        cfg = {**_doc_config("trimming-config"), "trim": r["trim"]}
        groups, all_mean, _ = hand_catalogue(csv_rows("trimming-history"), cfg, types)
        a, b = groups["K80.1/51.2300"], groups["K35.8/87.4100"]
        got = {"trim": r["trim"], "K80.1 kept": a["kept"], "K35.8 kept": b["kept"],
               "K80.1 mean": a["mean"], "K35.8 mean": b["mean"], "all-case mean": all_mean,
               "K80.1 score": a["score"], "K35.8 score": b["score"]}
        assert_table([r], [got], hcell)


def test_grouping_example_code():
    from grouper.dip import group
    from grouper.dip.synth import tiny_scheme

    cat = _code_catalogue("catalogue-history", js("catalogue-config"))
    df = frame("grouping-cases")
    df["sex"], df["age"] = df["sex"].astype(int), df["age"].astype(int)
    out = group(df, cat, tiny_scheme())
    assert list(out["status"]) == ["SUCCESS"] * len(df)
    got = [{k: r[k] for k in ("case_id", "dip_group", "dip_type", "score")}
           for r in out.to_dict("records")]
    assert_table(table("grouping-results"), got, cell)


def test_grouping_example_by_hand():
    """Section 2: the core combination, else category × treatment, else unmatched."""
    types = {r["procedure"]: r["treatment"] for r in table("catalogue-treatments")}
    groups, _, _ = hand_catalogue(csv_rows("catalogue-history"), _doc_config("catalogue-config"),
                                  types)
    got = []
    for r in csv_rows("grouping-cases"):
        procs = tuple(sorted({p for p in r["procedures"].split("|") if p}))
        core = r["diagnoses"][:5] + "/" + ("+".join(procs) or "none")
        ttype = max((types[p] for p in procs), key=TYPES.index, default="conservative")
        comp = r["diagnoses"][:3] + "/" + ttype
        if core in groups and groups[core]["type"] == "core":
            code = core
        elif comp in groups and groups[comp]["type"] == "comprehensive":
            code = comp
        else:
            code = None
        got.append({"case_id": r["case_id"], "dip_group": code or "",
                    "dip_type": groups[code]["type"] if code else "unmatched",
                    "score": groups[code]["score"] if code else None})
    assert_table(table("grouping-results"), got, hcell)


# ---- example 3 and 4: pricing and settlement --------------------------------------------------------


def _code_priced(history: str = "pricing-history", cases: str = "pricing-cases",
                 overrides: dict | None = None):
    from payment import compute_weights, load_policy, price

    pol = load_policy("national_dip", overrides)
    hist = frame(history)
    cur = frame(cases)
    for df in (hist, cur):
        for c in ("hospital_level", "los") + (("year",) if "year" in df else ("month",)):
            df[c] = df[c].astype(int)
        df["total_cost"] = df["total_cost"].astype(float)
    w = compute_weights(hist, pol)
    return pol, w, price(cur, w, pol)


def test_pricing_example_code():
    pol, w, out = _code_priced()
    lg = w.level_groups.set_index(["hospital_level", "group"])["coefficient"]
    got = [{"group": r["group"], "cases": r["cases"], "mean": r["mean_cost"], "rw": r["rw"],
            "score": r["base_points"], "small": r["small"],
            "level 2 coefficient": lg[(2, r["group"])], "level 3 coefficient": lg[(3, r["group"])]}
           for r in w.groups.to_dict("records")]
    assert_table(table("pricing-weights"), got, cell)
    pv = js("pricing-point-value")
    assert cell(w.region_mean_cost, "0.00") == f"{pv['all_case_mean']:.2f}"
    assert cell(w.budget_point_value, "0.0000") == f"{pv['budget_point_value']:.4f}"
    rows = out.to_dict("records")
    expected = table("pricing-priced")
    got = [{k: r[k] for k in ("case_id", "r", "case_class", "aux_coefficient", "coefficient",
                              "points", "payment", "sr_reasons", "sr_status")} for r in rows]
    assert_table(expected, got, cell)
    assert out.attrs["notes"] == []  # the aux_coefficient column was read


def test_settlement_example_code():
    from payment import settle

    pol, _, out = _code_priced()
    res = settle(out, pol, prior_year_actual=js("settlement-budget")["prior_year_actual"])
    st = res.statement
    got = [{k: r[k] for k in ("hospital_id", "points", "entitlement")}
           for r in st.to_dict("records")]
    assert_table(table("settlement-results"), got, cell)
    want = js("settlement-summary")
    for k, v in want.items():
        assert cell(res.summary[k], f"{v:.4f}" if k == "point_value" else f"{v:.2f}") == \
            (f"{v:.4f}" if k == "point_value" else f"{v:.2f}"), k
    assert res.summary["point_value_status"] == "ok"


def _doc_policy() -> dict:
    return {r["key"]: tomllib.loads(f"v = {r['value']}")["v"] for r in table("pricing-policy")}


def hand_comparison_mean(hist: list[dict[str, str]], g: str, lvl: int, weight: dict, P: dict):
    """Rule 3.5: the group's previous-year (newest history year) mean at the case's level,
    else over all levels that year, else the group's weighted mean (option ``weighted``: the
    level's weighted mean, else the group's). Nothing is trimmed (the page's trim is none)."""
    rows = [r for r in hist if r["dip_group"] == g and int(r["year"]) in weight]
    same_level = P["deviation.comparison_base"] == "same_level"
    at_level = [r for r in rows if int(r["hospital_level"]) == lvl] if same_level else []
    pairs = lambda rs: [(int(r["year"]), Decimal(r["total_cost"])) for r in rs]  # noqa: E731
    if P["deviation.comparison_years"] == "previous_year":
        newest = max(weight)
        for rs in (at_level, rows):
            last = [Decimal(r["total_cost"]) for r in rs if int(r["year"]) == newest]
            if last:
                return sum(last) / len(last)
    elif at_level:
        return hand_weighted(pairs(at_level), weight)
    return hand_weighted(pairs(rows), weight)


def hand_pricing(history: str = "pricing-history", cases: str = "pricing-cases",
                 P: dict | None = None):
    """Rules 3.1–3.9 in decimal from the page's history, cases and policy numbers."""
    P = P or _doc_policy()
    D = lambda x: Decimal(str(x))  # noqa: E731
    hist = csv_rows(history)
    years = sorted({int(r["year"]) for r in hist})
    yw = [D(w) for w in P["weights.year_weights"]]
    years = years[-len(yw):]
    weight = dict(zip(years, yw[len(yw) - len(years):], strict=True))
    cost_of = lambda r: Decimal(r["total_cost"])  # noqa: E731
    # trim "none": every case kept (the page's policy says so)
    assert P["weights.trim"] == "none"
    all_mean = hand_weighted([(int(r["year"]), cost_of(r)) for r in hist], weight)
    scale = D(P["weights.points_scale"])
    q_rw = Decimal(1).scaleb(-P["weights.rw_decimals"])
    groups = {}
    for g in sorted({r["dip_group"] for r in hist}):
        rows = [r for r in hist if r["dip_group"] == g]
        mean = hand_weighted([(int(r["year"]), cost_of(r)) for r in rows], weight)
        rw = (mean / all_mean).quantize(q_rw, ROUND_HALF_UP)
        levels = {}
        for lvl in sorted({int(r["hospital_level"]) for r in rows}):
            lr = [r for r in rows if int(r["hospital_level"]) == lvl]
            lm = hand_weighted([(int(r["year"]), cost_of(r)) for r in lr], weight)
            levels[lvl] = (lm, lm / mean if len(lr) >= P["coefficients.min_cases"]
                           else D(P["coefficients.new_group"]))
        groups[g] = {"cases": len(rows), "mean": mean, "rw": rw, "score": rw * scale,
                     "small": len(rows) < P["weights.min_cases"], "levels": levels}
    def aux_of(r: dict[str, str]) -> Decimal:
        """Rule 3.4: the case's auxiliary coefficient, 1 when absent or not applied."""
        a = r.get("aux_coefficient") or ""
        return D(a) if P["dip.aux_coefficients"] == "apply" and a and D(a) > 0 else D(1)

    # rule 3.8: a history case's points are its score × its auxiliary coefficient
    pv = sum(cost_of(r) for r in hist) / sum(groups[r["dip_group"]]["score"] * aux_of(r)
                                             for r in hist)
    ffs_unit = all_mean / scale

    priced = []
    for r in csv_rows(cases):
        c, g, lvl = cost_of(r), r["dip_group"], int(r["hospital_level"])
        row = {"case_id": r["case_id"], "hospital_id": r["hospital_id"],
               "month": int(r["month"]), "cost": c, "reasons": [], "aux": aux_of(r)}
        if g not in groups:
            row.update(cmp=None, r=None, cls="ungroupable", k=D(P["coefficients.new_group"]),
                       points=c / ffs_unit, aux=D(1))
            if P["special_review.ungroupable"]:
                row["reasons"].append("ungroupable")
        else:
            G = groups[g]
            _, k = G["levels"].get(lvl, (None, D(P["coefficients.new_group"])))
            cmp_mean = hand_comparison_mean(hist, g, lvl, weight, P)
            ratio = c / cmp_mean
            score = G["score"] * row["aux"]
            kd = k if P["deviation.with_coefficient"] else D(1)
            if ratio < D(P["deviation.low"]):
                cls, pts = "low", score * kd * ratio
            elif ratio > D(P["deviation.high"]):
                cls, pts = "high", score * kd * (ratio - 1)
            else:
                cls, pts = "normal", score * k
            row.update(cmp=cmp_mean, r=ratio, cls=cls, k=k, points=pts)
            if P["special_review.dip_review"] and ratio > D(P["deviation.review"]):
                row["reasons"].append("dip_review")
        row["payment"] = (row["points"] * pv).quantize(Decimal("0.01"), ROUND_HALF_UP)
        priced.append(row)

    # special review (rule 3.8): quota per hospital per quarter, positive gains, largest first
    assert P["special_review.enabled"] and P["special_review.quota_period"] == "quarter"
    assert P["special_review.quota_rounding"] == "floor"
    assert P["special_review.repricing"] == "fee_for_service"
    cells = defaultdict(list)
    for row in priced:
        cells[(row["hospital_id"], (row["month"] - 1) // 3)].append(row)
    for rows in cells.values():
        quota = int((D(P["special_review.quota_rate"]) * len(rows)).to_integral_value(ROUND_FLOOR))
        cands = [x for x in rows if x["reasons"]]
        for x in cands:
            x["gain"] = x["cost"] * (1 - D(P["special_review.deduction_share"])) - x["payment"]
        applying = sorted((x for x in cands if x["gain"] > 0),
                          key=lambda x: (-x["gain"], x["case_id"]))
        for x in cands:
            x["status"] = "no_gain"
        for rank, x in enumerate(applying):
            x["status"] = "approved" if rank < quota else "over_quota"
    return groups, all_mean, pv, priced


def test_pricing_example_by_hand():
    groups, all_mean, pv, priced = hand_pricing()
    got = [{"group": g, "cases": v["cases"], "mean": v["mean"], "rw": v["rw"],
            "score": v["score"], "small": v["small"],
            "level 2 coefficient": v["levels"][2][1], "level 3 coefficient": v["levels"][3][1]}
           for g, v in groups.items()]
    assert_table(table("pricing-weights"), got, hcell)
    want = js("pricing-point-value")
    assert hcell(all_mean, "0.00") == f"{want['all_case_mean']:.2f}"
    assert hcell(pv, "0.0000") == f"{want['budget_point_value']:.4f}"
    got = [{"case_id": x["case_id"], "comparison mean": x["cmp"], "r": x["r"],
            "case_class": x["cls"], "aux_coefficient": x["aux"], "coefficient": x["k"],
            "points": x["points"],
            "payment": x["payment"], "sr_reasons": "|".join(x["reasons"]),
            "sr_status": x.get("status", "")} for x in priced]
    assert_table(table("pricing-priced"), got, hcell)


def test_settlement_example_by_hand():
    P = _doc_policy()
    _, _, _, priced = hand_pricing()
    budget = Decimal(str(js("settlement-budget")["prior_year_actual"]))  # growth 0
    reserve = (budget * Decimal(str(P["point_value.reserve_rate"]))).quantize(
        Decimal("0.01"), ROUND_HALF_UP) if P["point_value.reserve_withheld"] else Decimal(0)
    ratio = Decimal(str(P["point_value.reimbursement_ratio"]))
    repriced = sum(x["cost"] for x in priced if x.get("status") == "approved")
    points = defaultdict(Decimal)
    for x in priced:
        points[x["hospital_id"]] += x["points"]
    pv = (((budget - reserve) / ratio - repriced) / sum(points.values())).quantize(
        Decimal(1).scaleb(-P["point_value.decimals"]), ROUND_HALF_UP)
    ent = {h: (p * pv * ratio).quantize(Decimal("0.01"), ROUND_HALF_UP)
           for h, p in sorted(points.items())}
    got = [{"hospital_id": h, "points": points[h], "entitlement": e} for h, e in ent.items()]
    assert_table(table("settlement-results"), got, hcell)
    paid = sum(ent.values())
    want = js("settlement-summary")
    assert hcell(pv, "0.0000") == f"{want['point_value']:.4f}"
    assert (hcell(reserve, "0.00"), hcell(paid, "0.00"), hcell(budget - paid - reserve, "0.00")) == \
        (f"{want['reserve']:.2f}", f"{want['paid']:.2f}", f"{want['returned']:.2f}")


# ---- example 6: the previous-year comparison mean -----------------------------------------------


def test_previous_year_example_code():
    want = table("previous-year-priced")
    got = []
    for opt in ("previous_year", "weighted"):
        _, w, out = _code_priced("previous-year-history", "previous-year-cases",
                                 {"deviation": {"comparison_years": opt}})
        lvl = w.level_groups.set_index("hospital_level")
        for r in out.to_dict("records"):
            got.append({"case_id": r["case_id"], "comparison_years": opt,
                        "comparison mean": r["total_cost"] / r["r"], "r": r["r"],
                        "case_class": r["case_class"], "points": r["points"]})
        # the previous-year means the weights carry (level 2 had no case in 2025)
        assert lvl.loc[3, "prev_year_mean_cost"] == 13000.0
        assert np.isnan(lvl.loc[2, "prev_year_mean_cost"])
        assert w.groups["prev_year_mean_cost"].tolist() == [13000.0]
    assert_table(want, got, cell)


def test_previous_year_example_by_hand():
    got = []
    for opt in ("previous_year", "weighted"):
        P = {**_doc_policy(), "deviation.comparison_years": opt}
        _, _, _, priced = hand_pricing("previous-year-history", "previous-year-cases", P)
        got += [{"case_id": x["case_id"], "comparison_years": opt, "comparison mean": x["cmp"],
                 "r": x["r"], "case_class": x["cls"], "points": x["points"]} for x in priced]
    assert_table(table("previous-year-priced"), got, hcell)


@pytest.mark.parametrize("name", ["catalogue-groups", "trimming-results", "pricing-priced"])
def test_tables_are_not_empty(name):
    assert len(table(name)) >= 4
