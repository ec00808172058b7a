"""Generate the synthetic demo region: three years of inpatient discharges for the demo scheme.

``python sample_cases/generate.py`` writes ``sample_cases/cases.csv`` (the case table, columns of
ARCHITECTURE.md) and ``sample_cases/intended_drg.csv`` (case_id, drg: the group each clean case
was generated for; the deliberately noisy rows are left out). Generation is seeded and
deterministic: the same seed gives byte-identical files.

Every case is generated *for* a target DRG of the demo scheme (``grouper/data/demo``): its
principal diagnosis, procedures and secondary diagnoses (CC / MCC for the severity level,
honouring the exclusion tables) are drawn so that the case follows that DRG's path through the
rules. A small reference router in this file, written from the scheme README, checks each case
before it is kept, so the intended group is right by construction. Costs (yuan) and stays (days)
follow the group: a per-ADRG mean cost and stay, severity multipliers, a lognormal spread, a
hospital-level factor, yearly growth, outliers, short stays, deaths and transfers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SCHEME_DIR = HERE.parent / "grouper" / "data" / "demo"
SEED = 20240611
YEAR_CASES = {2023: 4300, 2024: 4500, 2025: 4700}  # discharges per year before readmissions
GROWTH = 0.04  # yearly cost growth (4 %)
LEVEL_FACTOR = {1: 0.80, 2: 1.00, 3: 1.25}  # cost factor by hospital level
COLUMNS = [
    "case_id", "hospital_id", "hospital_level", "patient_id", "sex", "age", "age_days",
    "birth_weight", "dept", "los", "discharge_mode", "diagnoses", "procedures", "total_cost",
    "admission_date", "discharge_date", "year", "patient_paid", "new_tech_cost", "alliance_id",
]
NOISE_RATE = 0.02


# ------------------------------------------------------------------------------------------
# Reference router (README semantics, code mapping on). Used only to check generated cases.
# ------------------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


class DemoScheme:
    """The demo scheme's tables and rules, read from its folder."""

    def __init__(self, folder: Path = SCHEME_DIR) -> None:
        self.meta: dict[str, Any] = json.loads((folder / "scheme.json").read_text(encoding="utf-8"))
        t = {k: _read_csv(folder / v["path"]) for k, v in self.meta["tables"].items()}
        self.lists: dict[str, set[str]] = {}
        self.list_order: dict[str, list[str]] = {}
        for r in t["code_lists"]:
            self.lists.setdefault(r["list"], set()).add(r["code"])
            self.list_order.setdefault(r["list"], []).append(r["code"])
        self.tags: dict[str, dict[str, str]] = {}
        for r in t["tagged_lists"]:
            self.tags.setdefault(r["list"], {}).setdefault(r["code"], r["tag"])
        self.regions: dict[str, dict[str, str]] = {}
        for r in t["dx_regions"]:
            self.regions.setdefault(r["table"], {})[r["code"]] = r["region"]
        self.dx_map = {r["input_code"]: r["grouper_code"] for r in t["dx_map"]}
        self.pr_map = {r["input_code"]: r["grouper_code"] for r in t["proc_map"]}
        self.level = {r["code"]: r["level"] for r in t["cc_mcc"]}
        self.cc_excl = {r["code"]: r["exclusion_id"] for r in t["cc_mcc"]}
        self.pdx_excl = {r["code"]: r["exclusion_id"] for r in t["pdx_exclusion"]}
        self.drgs: dict[str, dict[str, str]] = self.meta["drgs"]
        self.rules: dict[str, Any] = self.meta["adrg_rules"]

    @staticmethod
    def _map(tokens: list[str], mp: dict[str, str]) -> list[str] | None:
        out = list(tokens)
        for i in range(len(out)):
            x = out[i]
            if x not in mp:
                return None
            if mp[x] != x:
                out[out.index(x)] = mp[x]
        return out

    def _eval(self, e: dict[str, Any], c: dict[str, Any], d: list[str], p: list[str]) -> bool:
        o = e["op"]
        if o == "true":
            return True
        if o == "false":
            return False
        if o == "and":
            return all(self._eval(a, c, d, p) for a in e["args"])
        if o == "or":
            return any(self._eval(a, c, d, p) for a in e["args"])
        if o == "not":
            return not self._eval(e["arg"], c, d, p)
        if o == "pdx_in":
            return d[0] in self.lists[e["list"]]
        if o == "any_dx_in":
            return any(x in self.lists[e["list"]] for x in d)
        if o == "any_sdx_in":
            return any(x in self.lists[e["list"]] for x in d[1:])
        if o == "has_proc":
            return len(p) >= 1
        if o == "main_proc_in":
            return len(p) >= 1 and p[0] in self.lists[e["list"]]
        if o == "any_proc_in":
            return any(x in self.lists[e["list"]] for x in p)
        if o == "proc_tag_in":
            tags = self.tags[e["list"]]
            return any(tags.get(x) == e["tag"] for x in p)
        if o in ("present", "nonzero", "cmp"):
            v = len(d) if e["field"] == "n_dx" else c.get(e["field"])
            if v is None:
                return False
            if o == "present":
                return True
            if o == "nonzero":
                return v != 0
            return _compare(v, e["cmp"], e["value"])
        if o in ("has_mcc", "has_cc"):
            want = "MCC" if o == "has_mcc" else "CC"
            px = self.pdx_excl.get(d[0])
            return any(self.level.get(x) == want and not (px is not None and px == self.cc_excl[x])
                       for x in d[1:])
        if o == "dx_regions_at_least":
            table = self.regions[e["table"]]
            return len({table[x] for x in d if x in table}) >= e["n"]
        raise ValueError(f"unknown op {o!r}")

    def route(self, case: dict[str, Any]) -> str:
        """Status-or-DRG of one case: a DRG / ADRG / QY code, '0000', or a status name."""
        d = self._map(case["diagnoses"].split("|"), self.dx_map)
        if d is None:
            return "ZD_NOT_MAPPING"
        p: list[str] = []
        if case["procedures"]:
            mp = self._map(case["procedures"].split("|"), self.pr_map)
            if mp is None:
                return "SS_NOT_MAPPING"
            p = mp
        if case["sex"] not in (1, 2):
            return "CHECK_FAILED"
        c = {"sex": case["sex"], "age": case["age"], "age_days": case["age_days"],
             "weight": case["birth_weight"], "los": case["los"], "dept": case["dept"]}
        for letter in self.meta["grouping"]["mdc_order"]:
            mdc = self.meta["mdcs"][letter]
            if not self._eval(mdc["entry"], c, d, p):
                continue
            for step in mdc["steps"]:
                if "qy" in step:
                    if step["enabled"] and self._eval(step["when"], c, d, p):
                        return step["qy"]
                    continue
                rule = self.rules[step["rule"]]
                if not self._eval(rule["entry"], c, d, p):
                    continue
                for br in rule["branches"]:
                    if self._eval(br["when"], c, d, p):
                        return br["drg"]
                if rule["if_no_branch"] == "return_adrg":
                    return rule["adrg"]
        return "0000"


def _compare(v: Any, op: str, w: Any) -> bool:
    if op == "==":
        return v == w
    if op == "!=":
        return v != w
    if op == "<":
        return v < w
    if op == "<=":
        return v <= w
    if op == ">":
        return v > w
    if op == ">=":
        return v >= w
    raise ValueError(op)


# ------------------------------------------------------------------------------------------
# Case recipes: one per ADRG (plus the ambiguous GQY).
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How to draw a case of one ADRG: codes, demographics, cost (yuan) and stay (days)."""

    adrg: str
    weight: float  # relative yearly frequency
    cost: float  # mean total cost (yuan), severity "none", level-2 hospital, 2023
    los: float  # mean length of stay (days), severity "none"
    pdx: str  # code list (or "@codes") of principal diagnoses
    procs: tuple[str, ...] = ()  # lists for main procedure, then further required procedures
    dept: str = "MED"
    demo: str = "adult"  # demographic profile
    min_level: int = 1
    extra_dx: str = ""  # list one of whose codes must be a secondary diagnosis
    diag_procs: tuple[str, ...] = ()  # optional non-OR procedures
    surgical: bool = False
    shares: dict[str, float] = field(default_factory=dict)  # per-DRG share overrides


R = Recipe
RECIPES: list[Recipe] = [
    R("AB1", 0.2, 260000, 26, "@liver", ("AB1:pr",), "TRANS", "adult", 3, surgical=True),
    R("AC1", 0.4, 330000, 30, "@esrd_dm", ("AC1:pr", "AC1:pr2"), "TRANS", "adult", 3, surgical=True),
    R("AE1", 0.5, 120000, 22, "@esrd", ("AE1:pr",), "TRANS", "adult", 3, surgical=True),
    R("AH1", 1.0, 140000, 24, "@critical", ("AH1:pr",), "ICU", "elderly", 3, surgical=True,
      diag_procs=("@icu",), shares={"AH11": 0.2, "AH13": 0.8}),
    R("AH2", 1.2, 75000, 20, "@critical", ("AH2:pr",), "NEURO", "elderly", 2, surgical=True,
      diag_procs=("@icu",)),
    R("PS1", 1.4, 60000, 35, "@lbw_pdx", (), "NEO", "newborn_vlbw", 3, diag_procs=("@neo",),
      shares={"PS11": 0.45, "PS13": 0.35, "PS15": 0.2}),
    R("PS2", 3.0, 16000, 14, "@lbw_pdx", (), "NEO", "newborn_lbw", 2, diag_procs=("@neo",)),
    R("PV1", 25.0, 4200, 6, "@newborn_other", (), "NEO", "newborn", 1, diag_procs=("@neo",)),
    R("ZC1", 2.5, 65000, 20, "@z_fracture", ("ZC1:pr",), "TRAUMA", "adult", 2, surgical=True,
      diag_procs=("@trauma",)),
    R("ZZ1", 3.0, 16000, 12, "@z_fracture", (), "TRAUMA", "adult", 2, diag_procs=("@trauma",)),
    R("MB1", 6.0, 17000, 9, "@bph", ("MB1:pr",), "URO", "old_male", 2, surgical=True),
    R("MD1", 4.0, 7500, 5, "@scrotal", ("MD1:pr",), "URO", "male_any", 1, surgical=True,
      shares={"MD10": 0.35, "MD11": 0.1, "MD15": 0.55}),
    R("MS1", 7.0, 5200, 7, "MS1:dx", (), "URO", "old_male", 1),
    R("EB1", 3.5, 45000, 12, "ER1:dx", ("EB1:pr",), "THOR", "adult", 3, surgical=True,
      diag_procs=("@chest",)),
    R("ER1", 12.0, 11000, 10, "ER1:dx", (), "RESP", "elderly", 2, diag_procs=("@chemo",)),
    R("ES1", 110.0, 6000, 8, "ES1:dx", (), "RESP", "all_ages", 1, diag_procs=("@chest",)),
    R("ET1", 45.0, 8000, 10, "ET1:dx", (), "RESP", "elderly", 1, diag_procs=("@chest",),
      shares={"ET10": 0.08, "ET11": 0.14, "ET13": 0.25, "ET15": 0.53}),
    R("FK1", 2.5, 45000, 9, "@pace_dx", (), "CARD", "elderly", 3, surgical=True,
      diag_procs=("@card",)),
    R("FM1", 12.0, 32000, 7, "@pci_dx", ("FM1:pr",), "CARD", "elderly", 2, surgical=True,
      diag_procs=("@angio",)),
    R("FR1", 9.0, 13000, 9, "FR1:dx", (), "CARD", "elderly", 2, diag_procs=("@card",)),
    R("FR2", 35.0, 8500, 9, "FR2:dx", (), "CARD", "elderly", 1, diag_procs=("@card",)),
    R("FR3", 55.0, 5500, 7, "FR3:dx", (), "CARD", "elderly", 1, diag_procs=("@card",)),
    R("FT1", 35.0, 4500, 7, "FT1:dx", (), "CARD", "elderly", 1, diag_procs=("@card",)),
    R("FV1", 20.0, 6500, 7, "FV1:dx", (), "CARD", "elderly", 1, diag_procs=("@card",)),
    R("GC1", 7.0, 45000, 16, "@crc_surg", ("GC1:pr",), "GSURG", "elderly", 2, surgical=True),
    R("GD1", 18.0, 12000, 6, "GD1:dx", ("GD1:pr",), "GSURG", "all_ages", 1, surgical=True),
    R("GE1", 18.0, 9000, 5, "@hernia", ("GE1:pr",), "GSURG", "adult_male", 1, surgical=True),
    R("GK1", 25.0, 6500, 4, "@polyp", ("GK1:pr",), "GAST", "adult", 1),
    R("GQY", 1.5, 28000, 12, "@ileus", ("@adhesio",), "GSURG", "adult", 2, surgical=True),
    R("GR1", 15.0, 10500, 10, "GR1:dx", (), "GAST", "elderly", 2, diag_procs=("@chemo",)),
    R("GS1", 15.0, 8500, 8, "GS1:dx", (), "GAST", "adult", 1, diag_procs=("@gi",)),
    R("GZ1", 60.0, 5000, 6, "@gz_pdx", (), "GAST", "adult", 1, diag_procs=("@gi",),
      shares={"GZ11": 0.12, "GZ13": 0.28, "GZ1": 0.6}),
    R("IC2", 5.0, 45000, 14, "@hip", ("IC2:pr",), "ORTH", "elderly", 2, surgical=True),
    R("IC3", 4.0, 50000, 12, "@knee", ("IC3:pr",), "ORTH", "elderly", 2, surgical=True),
    R("IF1", 14.0, 26000, 12, "@fracture", ("IF1:pr",), "ORTH", "adult", 1, surgical=True),
    R("IS1", 15.0, 6500, 10, "@fracture_any", (), "ORTH", "adult", 1),
    R("IU1", 35.0, 7000, 10, "IU1:dx", (), "ORTH", "adult", 1),
    R("OB1", 45.0, 9000, 6, "@cs_pdx", ("OB1:pr",), "OBST", "mother", 1, surgical=True),
    R("OR1", 4.0, 6500, 5, "OR1:dx", (), "OBST", "mother", 1, extra_dx="OR1:sdx",
      diag_procs=("@vaginal_or",)),
    R("OR2", 55.0, 4200, 3, "OR2:dx", (), "OBST", "mother", 1, diag_procs=("@vaginal",)),
    R("OS1", 25.0, 3600, 5, "@antepartum", (), "OBST", "mother", 1),
]

# Explicit code pools ("@name"): principal diagnoses and procedures not given by one list.
POOLS: dict[str, list[str]] = {
    "@liver": ["K74.600", "K74.600x002", "K74.600x003", "C22.000", "C22.001"],
    "@esrd_dm": ["E10.200", "E10.200x011+N08.3*", "E10.200x012+N08.3*"],
    "@esrd": ["N18.500", "N18.501", "N18.500x001+D63.8*"],
    "@critical": ["I63.900", "I63.901", "I61.000", "I61.000x006", "J96.000", "J96.900x003",
                  "S06.500", "S06.500x002"],
    "@lbw_pdx": ["P07.000", "P07.001", "P07.100", "P07.102", "P07.200", "P07.300x011",
                 "P07.300x021", "P22.000", "P22.101"],
    "@newborn_other": ["P59.900", "P59.901", "P59.902", "P59.000", "P22.100", "P22.101",
                       "P21.101", "P21.102", "P39.100x003", "P92.000", "P36.901", "Z38.000x001",
                       "Z38.300x001"],
    "@z_fracture": ["S72.000", "S72.000x011", "S72.300", "S82.200x011", "S82.200x081",
                    "S42.200x001", "S52.500x001", "S32.000x002", "S32.000x011"],
    "@bph": ["N40.x00", "N40.x01"],
    "@scrotal": ["N43.300", "N43.301", "N43.302", "N44.x00", "N44.x01", "I86.100", "I86.101",
                 "Q53.100", "Q53.101"],
    "@pace_dx": ["I44.200", "I44.201", "I49.500", "I49.501", "I50.000", "I50.900x002"],
    "@pci_dx": ["I21.000", "I21.001", "I21.401", "I20.000", "I20.001", "I25.103", "I25.102"],
    "@crc_surg": ["C18.000", "C18.200", "C18.700", "C18.900", "C20.x00", "C20.x01",
                  "K56.700", "K57.300"],
    "@hernia": ["K40.900x002", "K40.900x003", "K40.901", "K40.902", "K40.300", "K40.312"],
    "@polyp": ["K63.500", "K63.501", "K63.500x084", "K31.701"],
    "@ileus": ["K56.700", "K56.701", "K56.700x003", "K56.000"],
    "@adhesio": ["54.5900", "54.5901", "54.5903"],
    "@gz_pdx": ["K56.700", "K56.701", "K57.300", "K63.500", "K25.900x001", "K29.100x001",
                "K29.500", "K21.001", "K21.900x003", "K35.800x001", "K40.900x002"],
    "@hip": ["S72.000", "S72.000x011", "M16.101", "M16.900", "M87.002"],
    "@knee": ["M17.101", "M17.900", "M17.900x002", "M17.000"],
    "@fracture": ["S72.000", "S72.300", "S82.200x011", "S82.200x081", "S82.000", "S42.200x001",
                  "S52.500x001", "S52.500x002"],
    "@fracture_any": ["S72.000", "S82.200x081", "S82.000", "S42.200x001", "S52.500x001",
                      "S32.000x002", "S32.000x011", "S80.000", "S40.000x001", "S70.000"],
    "@cs_pdx": ["O82.000", "O82.100", "O34.200x002", "O34.201", "O32.101", "O42.000x001",
                "O44.101"],
    "@antepartum": ["O20.000", "O21.000", "O21.001", "O47.000", "O47.900", "O13.x00", "O24.400",
                    "O99.000x021", "O34.201", "O72.101"],
    # Non-OR procedures added to cases of some groups.
    "@icu": ["96.0400", "38.9300", "39.9500", "99.0401"],
    "@neo": ["93.9001", "93.9000", "99.0401"],
    "@trauma": ["87.4101", "99.0401", "34.0401", "88.0100x001"],
    "@chest": ["87.4101", "87.4102", "93.9000x002"],
    "@chemo": ["99.2500", "87.4101", "88.0100x001"],
    "@card": ["88.7201", "89.5200", "89.5400"],
    "@angio": ["88.5600", "37.2200"],
    "@gi": ["45.1300x004", "45.2301", "88.0100x001", "99.0401"],
    "@vaginal": ["73.5900x002", "73.6x01"],
    "@vaginal_or": ["75.6200", "75.6201", "73.6x01"],
}

# Secondary-diagnosis candidates by MDC (complication level comes from cc_mcc.csv).
SEV_POOL: dict[str, list[str]] = {
    "adult": ["J96.000", "J96.100", "J96.900x002", "A41.900", "N17.900", "N17.900x003", "R57.000",
              "D65.x00x001", "I50.900", "I50.100x006", "J18.900", "J18.000", "E87.102",
              "E87.600", "E86.x00", "D62.x00", "N18.901", "E11.200x011+N08.3*",
              "E11.400x021+G63.2*", "I48.000", "I48.100", "K92.200", "C78.000", "C78.700",
              "K74.600"],
    "P": ["P22.000", "P22.000x001", "P21.000", "P36.900", "P36.901", "P22.100", "P22.101",
          "P28.400", "P61.200", "P07.300x021"],
    "O": ["O72.000", "O72.101", "O44.101", "O14.100x002", "A41.900", "O99.000x021", "O24.400",
          "O42.000x001", "O13.x00"],
}
COMORBID = ["I10.x00", "I10.x00x002", "E11.900", "E78.500", "K76.000", "I25.103", "Z95.501",
            "M81.900", "D64.900"]

DEMO: dict[str, tuple[float, float, int, int]] = {  # (mean age, sd, min, max) in years
    "adult": (52, 16, 18, 90), "elderly": (68, 11, 35, 95), "all_ages": (50, 26, 1, 95),
    "old_male": (70, 9, 45, 95), "male_any": (30, 20, 1, 85), "adult_male": (55, 17, 18, 92),
    "mother": (30, 4.5, 19, 45),
}
MALE_ONLY = {"old_male", "male_any"}


@dataclass
class Hospital:
    """One hospital of the synthetic region."""

    hid: str
    level: int
    volume: float
    alliance: str
    factor: float  # hospital-specific cost factor


def make_hospitals(rng: np.random.Generator) -> list[Hospital]:
    """32 hospitals: 6 level-3, 12 level-2, 14 level-1; two medical alliances (医共体)."""
    hs: list[Hospital] = []
    vols3 = [9.0, 8.0, 7.0, 6.5, 6.0, 5.0]
    for i in range(1, 33):
        level = 3 if i <= 6 else 2 if i <= 18 else 1
        vol = vols3[i - 1] if level == 3 else float(rng.uniform(2.4, 4.2) if level == 2 else rng.uniform(0.7, 1.5))
        alliance = "YGT01" if i in (9, 20, 21, 22, 23, 24) else "YGT02" if i in (12, 26, 27, 28, 29, 30) else ""
        hs.append(Hospital(f"H{i:03d}", level, vol, alliance, float(np.exp(rng.normal(0, 0.08)))))
    return hs


# ------------------------------------------------------------------------------------------
# Generation.
# ------------------------------------------------------------------------------------------


class Generator:
    """Draws cases for target DRGs and checks each with the reference router."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = np.random.default_rng(seed)
        self.s = DemoScheme()
        self.hospitals = make_hospitals(self.rng)
        self.region = self.s.regions["MDCZ:regions"]
        self.targets: list[tuple[Recipe, str, float]] = []
        for rec in RECIPES:
            drgs = self._drgs_of(rec)
            default = {"mcc": 0.15, "mcc_or_cc": 0.25, "none": 0.6, "other": 0.3}
            shares = {d: rec.shares.get(d, default[self._sev(d)]) for d in drgs}
            tot = sum(shares.values())
            for d in drgs:
                self.targets.append((rec, d, rec.weight * shares[d] / tot))
        w = np.array([t[2] for t in self.targets])
        self.target_p = w / w.sum()
        self.n_patients = 0
        self._back: dict[int, dict[str, list[str]]] = {}

    def _drgs_of(self, rec: Recipe) -> list[str]:
        if rec.adrg == "GQY":
            return ["GQY"]
        out = [d for d, v in self.s.drgs.items() if v["adrg"] == rec.adrg]
        if self.s.rules[rec.adrg].get("adrg_code_reachable"):
            out.append(rec.adrg)
        return out

    def _sev(self, drg: str) -> str:
        if drg in self.s.drgs:
            return self.s.drgs[drg]["severity"]
        return "none"  # an ADRG code returned when no branch holds, or a QY code

    def pick(self, pool: list[str] | set[str]) -> str:
        items = sorted(pool) if isinstance(pool, set) else pool
        return items[int(self.rng.integers(len(items)))]

    def codes(self, name: str) -> list[str]:
        return POOLS[name] if name.startswith("@") else self.s.list_order[name]

    # -- one case -------------------------------------------------------------------------

    def draw_codes(self, rec: Recipe, drg: str, demo: dict[str, Any]) -> tuple[list[str], list[str], str]:
        """Diagnoses, procedures and department for a case of target drg."""
        rng = self.rng
        pdx = self.pick(self.codes(rec.pdx))
        dx = [pdx]
        px = self.s.pdx_excl.get(pdx)
        procs: list[str] = []
        dept = rec.dept
        for i, lst in enumerate(rec.procs):
            if drg == "AH11" and i == 0:
                procs.append(self.pick(["39.6500"] + self.codes("AH2:pr")))
                continue
            if drg == "AH13" and i == 0:
                procs.append(self.pick(self.codes("AH2:pr")))
                continue
            procs.append(self.pick(self.codes(lst)))
        if drg == "AH11" and procs[0] != "39.6500":
            procs.append("39.6500")
        if drg == "AH13":
            procs.append(self.pick(self.s.list_order["AH1:vent96"]))
        if rec.adrg == "AH2":
            dept = self.pick(["NEURO", "RESP", "ICU"])
            if dept == "ICU" or rng.random() < 0.5:
                procs.append(self.pick(["96.7100", "96.7101"]))
        if rec.adrg == "FK1":
            if rng.random() < 0.25:
                procs.append(self.pick([c for c, t in self.s.tags["FK1:tags"].items() if t == "1"]))
            else:
                tags = self.s.tags["FK1:tags"]
                procs.append(self.pick([c for c, t in tags.items() if t == "2"]))
                procs.append(self.pick([c for c, t in tags.items() if t == "3"]))
        for lst in rec.diag_procs:
            if rng.random() < 0.45:
                extra = self.pick(self.codes(lst))
                if extra not in procs:
                    procs.append(extra)
        if rec.extra_dx:
            dx.append(self.pick(self.codes(rec.extra_dx)))
        if rec.adrg in ("PS1", "PS2") and pdx not in self.s.lists["PS1:dx"]:
            dx.append(self.pick(self.s.list_order["PS1:dx"]))
        sev = self._sev(drg)
        mdc = drg[0]
        if mdc == "Z":
            # A second injury in another body region; its level gives the severity.
            want = {"mcc": "MCC", "mcc_or_cc": "CC", "none": None}[sev]
            reg = self.region.get(pdx)
            cands = [c for c, r in self.region.items() if r != reg and self.s.level.get(c) == want
                     and (want is None or self.s.cc_excl[c] != px)]
            dx.append(self.pick(cands))
        else:
            pool_key = "P" if mdc == "P" else "O" if mdc == "O" else "adult"
            pool = SEV_POOL[pool_key]
            want = None
            if sev == "mcc" or (sev == "other" and rng.random() < 0.2):
                want = "MCC"
            elif sev == "mcc_or_cc":
                has_mcc_branch = any(self._sev(d) == "mcc" for d in self._drgs_of(rec))
                want = "CC" if has_mcc_branch or rng.random() < 0.7 else "MCC"
            elif sev == "other" and rng.random() < 0.3:
                want = "CC"
            if want is not None:
                cands = [c for c in pool if self.s.level.get(c) == want and self.s.cc_excl[c] != px
                         and c not in dx]
                dx.append(self.pick(cands))
            elif sev == "none" and px is not None and rng.random() < 0.15:
                # A complication the principal's exclusion table cancels (exclusions bite).
                excluded = [c for c in self.s.level if self.s.cc_excl[c] == px and c != pdx
                            and self.region.get(c) is None]
                if excluded:
                    dx.append(self.pick(excluded))
        if demo["age"] >= 35 and mdc not in "PO":
            for _ in range(int(rng.choice([0, 1, 1, 2, 3]))):
                c = self.pick(COMORBID)
                if c not in dx:
                    dx.append(c)
        return dx, procs, dept

    def draw_demo(self, rec: Recipe, drg: str) -> dict[str, Any]:
        """Sex, age (years), age_days and birth_weight (grams) for the recipe's profile."""
        rng = self.rng
        if rec.demo.startswith("newborn"):
            lo, hi = {"newborn_vlbw": (620, 1499), "newborn_lbw": (1500, 2499),
                      "newborn": (2500, 4300)}[rec.demo]
            if rec.demo == "newborn" and rng.random() < 0.12:
                lo, hi = 1800, 2499  # a small baby without a low-birth-weight code
            return {"sex": int(rng.integers(1, 3)), "age": 0,
                    "age_days": int(min(28, rng.geometric(0.35) - 1)),
                    "birth_weight": int(rng.integers(lo, hi + 1) // 10 * 10)}
        mean, sd, lo, hi = DEMO[rec.demo]
        if drg == "MD10":
            age = int(rng.integers(1, 17))
        elif rec.adrg == "MD1":
            age = int(np.clip(rng.normal(38, 15), 17, 85))
        else:
            age = int(np.clip(rng.normal(mean, sd), lo, hi))
            if rec.demo == "all_ages" and rng.random() < 0.25:
                age = int(rng.integers(1, 15))
        if rec.demo in MALE_ONLY or (rec.demo == "adult_male" and rng.random() < 0.85):
            sex = 1
        elif rec.demo == "mother":
            sex = 2
        else:
            sex = int(rng.integers(1, 3))
        return {"sex": sex, "age": age, "age_days": None, "birth_weight": None}

    def draw_case(self, rec: Recipe, drg: str, demo: dict[str, Any] | None = None) -> dict[str, Any]:
        """A case (clinical part) that the router sends to drg."""
        for _ in range(200):
            dm = demo if demo is not None else self.draw_demo(rec, drg)
            dx, procs, dept = self.draw_codes(rec, drg, dm)
            if drg == "AH13":
                dept = "ICU"
            elif drg[0] == "A" and dept == "ICU" and rec.adrg != "AH2":
                dept = "ICU"
            los = self.draw_los(rec, drg)
            case = {**dm, "dept": dept, "los": los, "diagnoses": "|".join(dx),
                    "procedures": "|".join(procs)}
            if self.s.route(case) == drg:
                return case
        raise RuntimeError(f"could not draw a case for {drg}")

    def draw_los(self, rec: Recipe, drg: str) -> int:
        """Length of stay (days), consistent with the group's LOS conditions."""
        sev = self._sev(drg)
        mult = {"mcc": 1.45, "mcc_or_cc": 1.2}.get(sev, 1.0)
        los = max(1, int(round(rec.los * mult * math.exp(self.rng.normal(0, 0.4) - 0.08))))
        if drg == "ET10":
            return int(self.rng.integers(1, 4))
        if rec.adrg == "ET1":
            return max(4, los)
        return los

    def map_old_codes(self, text: str, mp: dict[str, str]) -> str:
        """Sometimes write a code with its old (renamed) input code, as hospitals do."""
        key = id(mp)
        if key not in self._back:
            back: dict[str, list[str]] = {}
            for a, b in mp.items():
                if a != b:
                    back.setdefault(b, []).append(a)
            self._back[key] = back
        back = self._back[key]
        out = []
        for c in text.split("|") if text else []:
            if c in back and self.rng.random() < 0.3:
                c = self.pick(back[c])
            out.append(c)
        return "|".join(out)


def _money(x: float) -> str:
    return f"{x:.2f}"


def generate(seed: int = SEED) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """All case rows (dicts keyed by COLUMNS) and the (case_id, intended drg) pairs."""
    g = Generator(seed)
    rng = g.rng
    hospitals = g.hospitals
    s = g.s
    rows: list[dict[str, Any]] = []
    intended: list[tuple[str, str]] = []
    alliance_p = {"YGT01": 0.22, "YGT02": 0.18}
    levels = np.array([h.level for h in hospitals])
    vols = np.array([h.volume for h in hospitals])
    in_all = {a: np.array([h.alliance == a for h in hospitals]) for a in alliance_p}
    no_all = np.array([h.alliance == "" for h in hospitals])
    n_target = len(g.targets)

    for year, n_cases in YEAR_CASES.items():
        start = dt.date(year, 1, 1)
        ndays = (dt.date(year + 1, 1, 1) - start).days
        year_rows: list[dict[str, Any]] = []
        pending: list[tuple[Recipe, str, dict[str, Any], Hospital, str, dt.date]] = []
        for _ in range(n_cases):
            rec, drg, _w = g.targets[int(rng.choice(n_target, p=g.target_p))]
            u = rng.random()
            alliance = "YGT01" if u < alliance_p["YGT01"] else "YGT02" if u < 0.40 else ""
            ok_level = levels >= rec.min_level
            if alliance and rng.random() < 0.72 and (ok_level & in_all[alliance]).any():
                mask = ok_level & in_all[alliance]
            else:
                mask = ok_level & no_all
            w = vols * mask
            h = hospitals[int(rng.choice(len(hospitals), p=w / w.sum()))]
            g.n_patients += 1
            pid = f"P{g.n_patients:07d}"
            disch = start + dt.timedelta(days=int(rng.integers(ndays)))
            pending.append((rec, drg, {"alliance": alliance}, h, pid, disch))
        for rec, drg, extra, h, pid, disch in pending:
            case = g.draw_case(rec, drg)
            row = _finish(g, rec, drg, case, h, pid, disch, extra["alliance"], year)
            year_rows.append(row)
            # Readmission within 15 days (same patient), mostly the same group.
            p_readmit = 0.06 if drg[0] in "EF" else 0.025
            if drg[0] not in "PO" and rng.random() < p_readmit:
                gap = int(rng.integers(1, 16))
                admit = dt.date.fromisoformat(row["discharge_date"]) + dt.timedelta(days=gap)
                case2 = g.draw_case(rec, drg, demo={k: case[k] for k in ("sex", "age", "age_days", "birth_weight")})
                disch2 = admit + dt.timedelta(days=case2["los"])
                if disch2.year == year:
                    h2 = h if rng.random() < 0.8 else hospitals[int(rng.integers(len(hospitals)))]
                    if h2.level >= rec.min_level:
                        year_rows.append(_finish(g, rec, drg, case2, h2, pid, disch2, extra["alliance"], year))
        year_rows.sort(key=lambda r: (r["discharge_date"], r["hospital_id"], r["patient_id"]))
        for i, r in enumerate(year_rows, 1):
            r["case_id"] = f"C{year}{i:05d}"
        rows.extend(year_rows)

    # Deliberate input noise on ~2 % of rows; noisy rows get no intended DRG.
    noisy = rng.random(len(rows)) < NOISE_RATE
    for i, r in enumerate(rows):
        if noisy[i]:
            _add_noise(r, int(rng.integers(6)), rng)
            r["_noisy"] = True
    for r in rows:
        if not r.get("_noisy"):
            case = {"sex": r["sex"], "age": r["age"], "age_days": r["age_days"],
                    "birth_weight": r["birth_weight"], "los": r["los"], "dept": r["dept"],
                    "diagnoses": r["diagnoses"], "procedures": r["procedures"]}
            got = s.route(case)
            if got != r["_drg"]:
                raise RuntimeError(f"{r['case_id']}: routed to {got}, generated for {r['_drg']}")
            intended.append((r["case_id"], r["_drg"]))
    return rows, intended


def _finish(g: Generator, rec: Recipe, drg: str, case: dict[str, Any], h: Hospital, pid: str,
            disch: dt.date, alliance: str, year: int) -> dict[str, Any]:
    """Add hospital, money (yuan), dates and discharge mode to a clinical case."""
    rng = g.rng
    los = case["los"]
    sev = g._sev(drg)
    sev_cost = {"mcc": 1.7, "mcc_or_cc": 1.3}.get(sev, 1.0)
    if drg in ("AH11",):
        sev_cost = 1.6
    if drg == "ET10":
        sev_cost = 0.5
    if drg == "MD10":
        sev_cost = 0.8
    z = math.log(max(los, 1) / (rec.los * {"mcc": 1.45, "mcc_or_cc": 1.2}.get(sev, 1.0)))
    sigma = 0.45
    noise = float(rng.normal(0, 1))
    cost = (rec.cost * sev_cost * LEVEL_FACTOR[h.level] * h.factor * (1 + GROWTH) ** (year - 2023)
            * math.exp(sigma * (0.55 * z / 0.4 + 0.83 * noise) - sigma**2 / 2))
    # Discharge mode: 1 home; 2 transfer; 3 to community care; 4 death; 5 left against advice.
    p_death = 0.003 * (8 if sev == "mcc" else 1) * (5 if drg[0] == "A" else 1)
    u = rng.random()
    mode = 4 if u < p_death else 2 if u < p_death + 0.025 else 3 if u < p_death + 0.045 else \
        5 if u < p_death + 0.06 else 1
    if drg[0] in "PO" and mode == 4:
        mode = 2
    if mode in (2, 4, 5):
        cost *= float(rng.uniform(0.45, 0.85))
    u = rng.random()
    if u < 0.015:
        cost *= float(rng.uniform(2.5, 5.5))  # high-cost outlier
    elif u < 0.035 and drg != "ET10" and rec.adrg != "ET1":
        cost *= float(rng.uniform(0.2, 0.4))  # very short, cheap stay
        los = 1
    new_tech = 0.0
    if rec.surgical and h.level == 3 and rng.random() < 0.03:
        new_tech = round(float(rng.uniform(3000, 25000)), 2)
        cost += new_tech
    cost = round(max(cost, 300.0), 2)
    deductible = {1: 300.0, 2: 600.0, 3: 900.0}[h.level]
    copay = {1: 0.10, 2: 0.15, 3: 0.20}[h.level]
    self_pay = float(rng.beta(2, 25))
    paid = min(cost, deductible + max(cost - deductible, 0) * copay + cost * self_pay)
    admit = disch - dt.timedelta(days=los)
    dx = g.map_old_codes(case["diagnoses"], g.s.dx_map)
    pr = g.map_old_codes(case["procedures"], g.s.pr_map)
    return {
        "case_id": "", "hospital_id": h.hid, "hospital_level": h.level, "patient_id": pid,
        "sex": case["sex"], "age": case["age"], "age_days": case["age_days"],
        "birth_weight": case["birth_weight"], "dept": case["dept"], "los": los,
        "discharge_mode": mode, "diagnoses": dx, "procedures": pr, "total_cost": cost,
        "admission_date": admit.isoformat(), "discharge_date": disch.isoformat(), "year": year,
        "patient_paid": round(paid, 2), "new_tech_cost": new_tech, "alliance_id": alliance,
        "_drg": drg,
    }


FULLWIDTH = str.maketrans("0123456789.ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                          "０１２３４５６７８９．ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")


def _add_noise(r: dict[str, Any], kind: int, rng: np.random.Generator) -> None:
    """One kind of input error: lower case, spaces, full-width, missing principal, sex 9."""
    dx = r["diagnoses"].split("|")
    if kind == 0:
        dx[0] = dx[0].lower()
    elif kind == 1:
        dx[0] = " " + dx[0] if rng.random() < 0.5 else dx[0] + " "
    elif kind == 2:
        dx[0] = dx[0].translate(FULLWIDTH)
    elif kind == 3:
        dx[0] = ""
    elif kind == 4:
        r["sex"] = 9
    elif kind == 5:
        if r["procedures"]:
            p = r["procedures"].split("|")
            p[0] = p[0].replace(".", "．")
            r["procedures"] = "|".join(p)
        else:
            dx[0] = dx[0].lower()
    r["diagnoses"] = "|".join(dx)


def _cell(v: Any, col: str) -> str:
    if v is None:
        return ""
    if col in ("total_cost", "patient_paid", "new_tech_cost"):
        return _money(float(v))
    return str(v)


def write(rows: list[dict[str, Any]], intended: list[tuple[str, str]], out_dir: Path) -> dict[str, Path]:
    """Write cases.csv and intended_drg.csv (UTF-8, LF line ends)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_cell(r[c], c) for c in COLUMNS])
    cases = out_dir / "cases.csv"
    cases.write_bytes(buf.getvalue().encode("utf-8"))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case_id", "drg"])
    w.writerows(intended)
    idf = out_dir / "intended_drg.csv"
    idf.write_bytes(buf.getvalue().encode("utf-8"))
    return {"cases": cases, "intended": idf}


def main(out_dir: Path = HERE, seed: int = SEED) -> dict[str, Path]:
    """Generate and write the sample files into out_dir; returns their paths."""
    rows, intended = generate(seed)
    return write(rows, intended, out_dir)


if __name__ == "__main__":
    paths = main()
    for p in paths.values():
        print(p, p.stat().st_size, "bytes")
