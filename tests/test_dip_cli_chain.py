"""``drgsim dip build`` → ``dip group`` → ``weights`` → ``price`` (national_dip) on a region small
enough to price by hand: every number below is worked out here in exact fractions from
docs/dip.md's rules, importing nothing from grouper or payment.

The region: one core group K35.3/47.0100 (6 history cases, 2024 and 2025) whose adult and
elderly cases differ (auxiliary age coefficients 79/93 and 117/93), one comprehensive group
K35/conservative, levels 3 and 2. The current year has a normal, a high, a low case, a case at
a level without history, a comprehensive case, an unreadable age (CHECK_FAILED) and an
unmatched case. Both paths of the CLI are run: CSV (chunked) and Excel (in memory).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F

import pandas as pd
import pytest
from typer.testing import CliRunner

from drgsim.cli import app

runner = CliRunner()

HISTORY = """case_id,hospital_id,hospital_level,sex,age,los,diagnoses,procedures,total_cost,year
a1,H1,3,1,40,8,K35.300,47.0100,9000,2024
a2,H2,2,2,30,7,K35.300,47.0100,7000,2024
a3,H1,3,1,45,8,K35.300,47.0100,10000,2025
a4,H1,3,2,70,9,K35.300,47.0100,14000,2025
a5,H2,2,1,75,9,K35.300,47.0100,12000,2025
a6,H2,2,2,50,6,K35.300,47.0100,8000,2025
b1,H1,3,1,35,3,K35.200,,3000,2025
b2,H2,2,2,33,4,K35.200,,2000,2025
"""
CURRENT = """case_id,hospital_id,hospital_level,sex,age,los,month,diagnoses,procedures,total_cost,year
c1,H1,3,1,40,8,1,K35.300,47.0100,12000,2026
c2,H2,2,2,80,12,2,K35.300,47.0100,25000,2026
c3,H1,3,1,70,3,4,K35.300,47.0100,5000,2026
c4,H3,1,2,41,7,5,K35.300,47.0100,11000,2026
c5,H1,3,1,44,3,7,K35.200,,3300,2026
c6,H2,2,1,abc,5,8,K35.300,47.0100,7000,2026
c7,H3,1,2,52,6,10,K35.300,47.0900,6000,2026
"""
CORE, COMP = "K35.3/47.0100", "K35/conservative"


def round_to(x: F, places: int) -> F:
    """Half-up to ``places`` decimals (x is exact; 40 significant digits decide the half)."""
    with localcontext() as ctx:
        ctx.prec = 40
        d = Decimal(x.numerator) / Decimal(x.denominator)
    return F(str(d.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)))


def by_hand() -> dict:
    """The catalogue, weights and prices of the region, rule by rule (docs/dip.md)."""
    w24, w25 = 2, 7                      # 1:2:7, window 2023–2025, 2023 absent: 2 : 7
    # 1.8–1.9: yearly means, then Σ w·mean ÷ Σ w over the years present
    core = (w24 * F(9000 + 7000, 2) + w25 * F(10000 + 14000 + 12000 + 8000, 4)) / 9
    comp = F(2500)                                    # 2025 only
    all_mean = (w24 * F(16000, 2) + w25 * F(49000, 6)) / 9
    # 1.11: age cells (severity 0 everywhere: coefficient 1)
    adult = (w24 * F(9000 + 7000, 2) + w25 * F(10000 + 8000, 2)) / 9 / core   # = 79/93
    elderly = F(14000 + 12000, 2) / core                                      # = 117/93
    assert (adult, elderly) == (F(79, 93), F(117, 93))
    # 3.1: RW published to 4 decimals
    score = {CORE: round_to(core / all_mean, 4) * 100, COMP: round_to(comp / all_mean, 4) * 100}
    assert score == {CORE: F("127.11"), COMP: F("30.75")}
    # 3.3: level coefficients (weighted level mean ÷ weighted group mean)
    k = {(3, CORE): (w24 * 9000 + w25 * F(10000 + 14000, 2)) / 9 / core,      # 34/31
         (2, CORE): (w24 * 7000 + w25 * F(12000 + 8000, 2)) / 9 / core,       # 28/31
         (3, COMP): F(3000) / comp, (2, COMP): F(2000) / comp}
    # 3.5: previous-year (2025) means at the level, else the group's 2025 mean
    prev = {(3, CORE): F(12000), (2, CORE): F(10000), (3, COMP): F(3000), (2, COMP): F(2000)}
    prev_region = {CORE: F(11000), COMP: F(2500)}
    # 3.8: budget point value, a history case's points = score × its aux coefficient
    pts24 = 2 * score[CORE] * adult
    pts25 = score[CORE] * (2 * adult + 2 * elderly) + 2 * score[COMP]
    pv = (w24 * 16000 + w25 * 49000) / (w24 * pts24 + w25 * pts25)
    ffs_unit = all_mean / 100
    cases = {  # case: (group, level, aux, cost)
        "c1": (CORE, 3, adult, 12000), "c2": (CORE, 2, elderly, 25000),
        "c3": (CORE, 3, elderly, 5000), "c4": (CORE, 1, adult, 11000),
        "c5": (COMP, 3, F(1), 3300), "c6": (None, 2, F(1), 7000), "c7": (None, 1, F(1), 6000)}
    priced = {}
    for cid, (g, lvl, a, cost) in cases.items():
        if g is None:  # 3.7 ungroupable: fee-for-service points, no coefficient
            priced[cid] = {"case_class": "ungroupable", "r": None, "aux": F(1), "k": F(1),
                           "points": F(cost) / ffs_unit}
            continue
        r = F(cost) / prev.get((lvl, g), prev_region[g])
        kk = k.get((lvl, g), F(1))                   # a level without history: new_group 1.0
        s = score[g] * a                             # 3.4
        if r < F(1, 2):
            cls, p = "low", s * r                    # 3.6: no coefficient on deviation points
        elif r > 2:
            cls, p = "high", s * (r - 1)
        else:
            cls, p = "normal", s * kk
        priced[cid] = {"case_class": cls, "r": r, "aux": a, "k": kk, "points": p}
    for x in priced.values():
        x["payment"] = round_to(x["points"] * pv, 2)
    return {"all_mean": all_mean, "core": core, "adult": adult, "elderly": elderly,
            "score": score, "pv": pv, "priced": priced}


def close(a, b, rel=1e-12) -> bool:
    return abs(float(a) - float(b)) <= rel * max(abs(float(b)), 1.0)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("dipchain")
    (d / "history.csv").write_text(HISTORY, encoding="utf-8")
    (d / "current.csv").write_text(CURRENT, encoding="utf-8")
    import grouper

    res = runner.invoke(app, ["dip", "build", str(d / "history.csv"), "-o", str(d / "cat"),
                              "--scheme", str(grouper.demo_scheme_path()), "--core-threshold", "4",
                              "--aux-min-cases", "2", "-q"])
    assert res.exit_code == 0, res.output
    return d


def test_catalogue_by_hand(region):
    h = by_hand()
    m = json.loads((region / "cat" / "manifest.json").read_text(encoding="utf-8"))
    assert close(m["all_case_mean"], h["all_mean"])
    g = pd.read_csv(region / "cat" / "groups.csv").set_index("group_code")
    assert sorted(g.index) == sorted([COMP, CORE])
    assert close(g.loc[CORE, "score"], h["core"] / h["all_mean"] * 100)
    aux = pd.read_csv(region / "cat" / "aux.csv").set_index(["group_code", "dimension", "level"])
    assert close(aux.loc[(CORE, "age", "adult"), "coefficient"], h["adult"])
    assert close(aux.loc[(CORE, "age", "elderly"), "coefficient"], h["elderly"])
    assert aux.loc[(CORE, "severity", "0"), "coefficient"] == 1.0


@pytest.mark.parametrize("ext", [".csv", ".xlsx"])
def test_group_weigh_price_by_hand(region, ext):
    d, h = region, by_hand()
    run = lambda *a: runner.invoke(app, [*map(str, a), "-q"])  # noqa: E731
    res = run("dip", "group", d / "history.csv", "-c", d / "cat", "--keep-columns", "-o", d / f"gh{ext}")
    assert res.exit_code == 0, res.output
    res = run("weights", d / f"gh{ext}", "-p", "national_dip", "-o", d / f"w{ext[1:]}")
    assert res.exit_code == 0, res.output
    wm = json.loads((d / f"w{ext[1:]}" / "manifest.json").read_text(encoding="utf-8"))
    assert close(wm["budget_point_value"], h["pv"])
    res = run("dip", "group", d / "current.csv", "-c", d / "cat", "--keep-columns", "-o", d / f"gc{ext}")
    assert res.exit_code == 0, res.output
    res = run("price", d / f"gc{ext}", "-w", d / f"w{ext[1:]}", "-p", "national_dip",
              "-o", d / f"priced{ext}")
    assert res.exit_code == 0, res.output

    if ext == ".csv":  # one column each, input columns first: readable as one case file
        head = (d / "gc.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        assert len(head) == len(set(head)) and head.count("read_status") == 1
        gc = pd.read_csv(d / "gc.csv", dtype=str, keep_default_na=False)
        p = pd.read_csv(d / "priced.csv", keep_default_na=False)
    else:
        from drgsim.cli.headers import read_output

        gc = read_output(d / "gc.xlsx").astype(str)
        p = read_output(d / "priced.xlsx")
    # dip group: every row once, in order; the unreadable age is the row's status, not an error
    assert list(gc["case_id"]) == [f"c{i}" for i in range(1, 8)]
    assert list(gc["status"]) == ["SUCCESS"] * 5 + ["CHECK_FAILED", "SUCCESS"]
    assert gc["read_status"].iloc[5] == "BAD_VALUE" and gc["dip_type"].iloc[6] == "unmatched"

    assert list(p["case_id"]) == list(h["priced"])
    for row in p.to_dict("records"):
        want = h["priced"][row["case_id"]]
        where = row["case_id"]
        assert row["case_class"] == want["case_class"], where
        if want["r"] is not None:
            assert close(row["r"], want["r"]), where
        assert close(row["aux_coefficient"], want["aux"]), where
        assert close(row["coefficient"], want["k"]), where
        assert close(row["points"], want["points"]), (where, row["points"], float(want["points"]))
        assert f"{float(row['payment']):.2f}" == f"{float(want['payment']):.2f}", where
    # the two unmatched / failed cases gain a few cents by review, but a quota of 0 ⇒ over_quota
    st = dict(zip(p["case_id"], p["sr_status"].astype(str), strict=True))
    assert st["c6"] == st["c7"] == "over_quota"
    if ext == ".csv":  # an unreadable cost is that row's class, never an error for the file
        bad = gc.copy()
        bad.loc[2, "total_cost"] = "5千"
        bad.to_csv(d / "gc_bad.csv", index=False)
        res = run("price", d / "gc_bad.csv", "-w", d / "wcsv", "-p", "national_dip", "-o", d / "pb.csv")
        assert res.exit_code == 0, res.output
        pb = pd.read_csv(d / "pb.csv", keep_default_na=False)
        assert list(pb["case_id"]) == list(p["case_id"])
        assert (pb.loc[2, "case_class"], pb.loc[2, "points"]) == ("excluded", 0.0)
        assert pb.loc[2, "class_reason"] == "total_cost missing or negative"
        assert pb["points"].drop(index=2).tolist() == p["points"].drop(index=2).tolist()


def test_hand_numbers_are_the_ones_written_down():
    """The figures a reader checks with a pencil (docs/dip.md rules 3.4–3.8)."""
    p = by_hand()["priced"]
    assert p["c1"]["points"] == F("127.11") * F(79, 93) * F(34, 31)      # normal: s × a × k
    assert p["c2"]["points"] == F("127.11") * F(117, 93) * F(3, 2)       # r 2.5: s × a × 1.5
    assert p["c3"]["points"] == F("127.11") * F(117, 93) * F(5, 12)      # r 5/12: s × a × r
    assert p["c4"]["points"] == F("127.11") * F(79, 93)                  # level 1: k = 1
    assert p["c5"]["points"] == F("30.75") * F(6, 5)                     # r 1.1, k 1.2
    assert [f"{float(p[c]['payment']):.2f}" for c in p] == [
        "9627.31", "19500.14", "5416.71", "8777.84", "2999.79", "6999.89", "5999.91"]
