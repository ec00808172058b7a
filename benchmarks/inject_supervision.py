"""Seeded injection of the §10 supervision patterns into a clean region (detection tests, bench).

``inject(cases, plan, seed)`` takes *grouped* clean cases of one period (canonical columns plus
the grouper's ``drg``; the DRG only chooses which cases to touch) and returns
``(raw_cases, truth)``: raw case rows (grouper columns dropped, to be grouped again) with the
patterns put in at the hospitals of ``plan``, and the truth — which hospitals got which pattern,
the injected split pairs and restricted-code cases.

Patterns (each at its own hospitals, shares from ``plan``):

- upcoding: add one or two real MCC codes of the scheme (``cc_mcc`` table) as secondary
  diagnoses to a share of the hospital's cases in an uncomplicated subgroup (DRG ending 5);
- split admission: split a share of the hospital's stays of ≥ 6 days into two stays (each ≥ 3 days) of the same
  patient with the same codes, 1–5 days apart (cost and LOS shared out);
- low-standard admission: add short (1 day) cheap (15 % of the template's cost) copies of
  cases in low-weight groups (RW < 1), as many as ``share`` × the hospital's discharges;
- patient selection: drop a share of the hospital's high-weight cases (RW ≥ 2) and turn a share
  of the rest into transfers out (discharge mode 2);
- restricted code: put a male-only code (from the scheme's MDC M list) on female cases, or a
  newborn code (MDC P list) on adults, ``n`` cases.

Command line: ``python benchmarks/inject_supervision.py [SEED ...]`` prints precision / recall
per signal on the sample region (2023 history, 2024 current) with the default plan.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

GROUPER_COLUMNS = ("status", "mdc", "adrg", "drg", "warnings")


@dataclass
class Plan:
    """Hospitals per pattern and the strength of each."""

    upcoding: tuple[str, ...] = ("H005", "H012")
    upcoding_share: float = 0.6
    split_admission: tuple[str, ...] = ("H009", "H021")
    split_share: float = 0.12
    low_standard_admission: tuple[str, ...] = ("H003", "H016")
    low_standard_share: float = 0.06
    patient_selection: tuple[str, ...] = ("H004", "H026")
    drop_share: float = 0.7
    transfer_share: float = 0.12
    restricted_code: tuple[str, ...] = ("H014", "H029")
    restricted_n: int = 4


@dataclass
class Truth:
    """What was injected."""

    hospitals: dict[str, set[str]] = field(default_factory=dict)
    split_pairs: set[tuple[str, str]] = field(default_factory=set)
    restricted_cases: set[str] = field(default_factory=set)
    upcoded_cases: set[str] = field(default_factory=set)


def _days(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def inject(grouped: pd.DataFrame, scheme_tables: dict[str, pd.DataFrame], rw: pd.Series,
           plan: Plan | None = None, seed: int = 15) -> tuple[pd.DataFrame, Truth]:
    """Inject the patterns (module docstring). ``rw``: RW per DRG (index DRG code)."""
    plan = plan or Plan()
    rng = np.random.default_rng(seed)
    df = grouped.reset_index(drop=True).copy()
    truth = Truth(hospitals={
        "upcoding": set(plan.upcoding), "split_admission": set(plan.split_admission),
        "low_standard_admission": set(plan.low_standard_admission),
        "patient_selection": set(plan.patient_selection),
        "restricted_code": set(plan.restricted_code)})
    drg = df["drg"].astype(str)
    case_rw = drg.map(rw).astype(float)
    hosp = df["hospital_id"].astype(str)
    cc = scheme_tables["cc_mcc"]
    mcc = cc.loc[cc["level"] == "MCC", "code"].astype(str)
    # leave out codes restricted to a sex or to newborns, so upcoding creates no restricted code
    mcc = mcc[~mcc.str.match(r"^(O|P|Z3|N[4-9]|C5|C6)")].to_numpy()

    # upcoding
    for h in plan.upcoding:
        idx = np.flatnonzero((hosp == h).to_numpy() & drg.str.endswith("5").to_numpy())
        pick = rng.choice(idx, size=int(round(plan.upcoding_share * len(idx))), replace=False)
        for i in pick:
            extra = rng.choice(mcc, size=int(rng.integers(1, 3)), replace=False)
            df.at[i, "diagnoses"] = str(df.at[i, "diagnoses"]) + "|" + "|".join(extra)
            truth.upcoded_cases.add(str(df.at[i, "case_id"]))

    # restricted codes
    lists = scheme_tables["code_lists"]
    male = lists.loc[lists["list"] == "MDCM:dx", "code"].astype(str).to_numpy()
    newborn = lists.loc[lists["list"] == "MDCP:dx", "code"].astype(str).to_numpy()
    sex = pd.to_numeric(df["sex"], errors="coerce")
    age = pd.to_numeric(df["age"], errors="coerce")
    for h in plan.restricted_code:
        fem = np.flatnonzero((hosp == h).to_numpy() & (sex == 2).to_numpy())
        adult = np.flatnonzero((hosp == h).to_numpy() & (age >= 18).to_numpy())
        k = plan.restricted_n
        for i in rng.choice(fem, size=min(k - k // 2, len(fem)), replace=False):
            df.at[i, "diagnoses"] = str(df.at[i, "diagnoses"]) + "|" + str(rng.choice(male))
            truth.restricted_cases.add(str(df.at[i, "case_id"]))
        rest = np.setdiff1d(adult, list(df.index[df["case_id"].astype(str).isin(
            truth.restricted_cases)]))
        for i in rng.choice(rest, size=min(k // 2, len(rest)), replace=False):
            df.at[i, "diagnoses"] = str(df.at[i, "diagnoses"]) + "|" + str(rng.choice(newborn))
            truth.restricted_cases.add(str(df.at[i, "case_id"]))

    # patient selection: drop high-weight cases, transfers out
    drop = []
    for h in plan.patient_selection:
        at = (hosp == h).to_numpy()
        hi = np.flatnonzero(at & (case_rw >= 2).to_numpy())
        drop += list(rng.choice(hi, size=int(round(plan.drop_share * len(hi))), replace=False))
        rest = np.setdiff1d(np.flatnonzero(at), drop)
        tr = rng.choice(rest, size=int(round(plan.transfer_share * len(rest))), replace=False)
        df.loc[tr, "discharge_mode"] = 2

    # low-standard admissions: short cheap copies of low-weight cases
    added = []
    low = df[(case_rw < 1).to_numpy() & (pd.to_numeric(df["los"], errors="coerce") >= 4)]
    for h in plan.low_standard_admission:
        n_new = int(round(plan.low_standard_share * (hosp == h).sum()))
        tpl = low.sample(n=n_new, random_state=int(rng.integers(1 << 31)), replace=True).copy()
        tpl["hospital_id"] = h
        tpl["hospital_level"] = df.loc[hosp == h, "hospital_level"].iloc[0]
        tpl["case_id"] = [f"LS{h}{k:05d}" for k in range(n_new)]
        tpl["patient_id"] = [f"PLS{h}{k:05d}" for k in range(n_new)]
        tpl["los"] = 1
        tpl["total_cost"] = (pd.to_numeric(tpl["total_cost"]) * 0.15).round(2)
        d = _days(tpl["discharge_date"])
        tpl["admission_date"] = (d - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
        tpl["discharge_mode"] = 1
        added.append(tpl)

    # split admissions
    seconds = []
    for h in plan.split_admission:
        idx = np.flatnonzero((hosp == h).to_numpy()
                             & (pd.to_numeric(df["los"], errors="coerce") >= 6).to_numpy()
                             & df["patient_id"].notna().to_numpy())
        idx = np.setdiff1d(idx, drop)
        pick = rng.choice(idx, size=int(round(plan.split_share * (hosp == h).sum())),
                          replace=False)
        for i in pick:
            r = df.loc[i].copy()
            adm, dis = _days(pd.Series([r["admission_date"], r["discharge_date"]]))
            los = int(r["los"])
            k = int(rng.integers(3, los - 2))
            gap = int(rng.integers(1, 6))
            cost = float(r["total_cost"])
            first_cost = round(cost * k / los, 2)
            df.at[i, "los"] = k
            df.at[i, "discharge_date"] = (adm + pd.Timedelta(days=k)).strftime("%Y-%m-%d")
            df.at[i, "total_cost"] = first_cost
            r2 = r.copy()
            r2["case_id"] = f"{r['case_id']}S"
            r2["los"] = los - k
            r2["admission_date"] = (adm + pd.Timedelta(days=k + gap)).strftime("%Y-%m-%d")
            r2["discharge_date"] = (dis + pd.Timedelta(days=gap)).strftime("%Y-%m-%d")
            r2["total_cost"] = round(cost - first_cost, 2)
            seconds.append(r2)
            truth.split_pairs.add((str(r["case_id"]), str(r2["case_id"])))
    out = df.drop(index=drop)
    parts = [out, *added]
    if seconds:
        parts.append(pd.DataFrame(seconds))
    out = pd.concat(parts, ignore_index=True)
    return out.drop(columns=[c for c in GROUPER_COLUMNS if c in out.columns]), truth


def scores(hospital_signals: pd.DataFrame, case_flags: pd.DataFrame, truth: Truth,
           baseline: pd.DataFrame | None = None) -> pd.DataFrame:
    """Precision / recall per signal: hospitals flagged vs injected; cases for split pairs,
    restricted codes and upcoding (cases listed vs cases given extra MCC codes); the rank of the injected hospitals by score. ``baseline``: the clean
    region's case flags — cases flagged there too (real readmissions of the synthetic data) are
    left out of the case-level precision (``precision_new``)."""
    rows = []
    for sig, injected in truth.hospitals.items():
        hs = hospital_signals[hospital_signals["signal"] == sig]
        flagged = set(hs.loc[hs["flagged"].astype(bool), "hospital_id"].astype(str))
        order = hs.sort_values("score", ascending=False)["hospital_id"].astype(str).tolist()
        tp = len(flagged & injected)
        rows.append({"signal": sig, "level": "hospital", "injected": len(injected),
                     "flagged": len(flagged), "true_pos": tp,
                     "precision": tp / len(flagged) if flagged else float("nan"),
                     "recall": tp / len(injected) if injected else float("nan"),
                     "ranks": ",".join(str(order.index(h) + 1) for h in sorted(injected)
                                       if h in order)})
    cf = case_flags
    base = set() if baseline is None else set(baseline["signal"] + "\t" + baseline["case_id"].astype(str))
    for sig, true_cases in (
            ("split_admission", {c for p in truth.split_pairs for c in p}),
            ("restricted_code", truth.restricted_cases),
            ("upcoding", truth.upcoded_cases)):
        found = set(cf.loc[cf["signal"] == sig, "case_id"].astype(str))
        tp = len(found & true_cases)
        new = {c for c in found if f"{sig}\t{c}" not in base or c in true_cases}
        rows.append({"signal": sig, "level": "case", "injected": len(true_cases),
                     "flagged": len(found), "true_pos": tp,
                     "precision": tp / len(found) if found else float("nan"),
                     "precision_new": tp / len(new) if new else float("nan"),
                     "recall": tp / len(true_cases) if true_cases else float("nan"), "ranks": ""})
    return pd.DataFrame(rows)


def sample_run(seed: int = 15, plan: Plan | None = None):
    """Group the sample region, inject into 2024 (2023 = history), run all signals.

    Returns ``(clean_result, injected_result, truth)`` of :func:`drgsim.supervision_run.run_supervision`.
    """
    import grouper
    from drgsim.supervision_run import run_supervision
    from payment.indices import history_rw

    root = Path(__file__).resolve().parent.parent
    scheme = grouper.load_scheme(grouper.demo_scheme_path())
    cases = grouper.read_cases(root / "sample_cases" / "cases.csv")
    g = grouper.group(cases, scheme, keep_columns=True)
    hist, cur = g[g["year"] == 2023].reset_index(drop=True), g[g["year"] == 2024].reset_index(
        drop=True)
    rw = history_rw(hist, "drg").set_index("group")["rw"]
    clean = run_supervision(cur, scheme, history=hist)
    raw, truth = inject(cur, scheme.tables, rw, plan, seed)
    injected = run_supervision(raw, scheme, history=hist)
    return clean, injected, truth


def main(seeds: list[int] | None = None) -> int:
    """Print precision / recall per signal summed over ``seeds`` (default 15)."""
    seeds = seeds or [15]
    pd.set_option("display.width", 160)
    out, clean_flags = [], []
    for seed in seeds:
        clean, injected, truth = sample_run(seed=seed)
        out.append(scores(injected.hospital_signals, injected.case_flags, truth,
                          clean.case_flags))
        clean_flags.append(clean.hospital_signals.groupby("signal")["flagged"].sum())
    s = pd.concat(out).groupby(["signal", "level"], sort=False)[
        ["injected", "flagged", "true_pos"]].sum()
    s["precision"] = s["true_pos"] / s["flagged"]
    s["recall"] = s["true_pos"] / s["injected"]
    print(f"injected region, seeds {seeds} (sample region 2024, history 2023):")
    print(s.to_string())
    print("clean region (no injections): hospitals flagged per signal (32 hospitals)")
    print(clean_flags[0].to_string())
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main([int(a) for a in sys.argv[1:]]))
