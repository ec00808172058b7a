"""Synthetic case histories for tests, benchmarks and demos (not a model of any real region).

Cases are drawn from a pool of case *templates* (principal diagnosis, secondary diagnoses,
procedures) with Zipf-like popularity, so a few combinations are common (core groups) and a
long tail is rare (comprehensive groups), as in real histories. Costs are log-normal around a
template-specific mean (yuan). Deterministic for a given seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .encode import scheme_tables


def synthetic_history(
    scheme: Any,
    n_cases: int,
    *,
    n_templates: int = 20_000,
    years: tuple[int, ...] = (2023, 2024, 2025),
    n_hospitals: int = 30,
    seed: int = 0,
) -> pd.DataFrame:
    """``n_cases`` canonical cases (case_id, hospital_id, sex, age, age_days, birth_weight,
    diagnoses, procedures, total_cost, year) using codes accepted by ``scheme``."""
    rng = np.random.default_rng(seed)
    t = scheme_tables(scheme)
    dx_map, pr_map = t.get("dx_map"), t.get("proc_map")
    dx = (dx_map["input_code"] if dx_map is not None and len(dx_map) else t["diagnoses"]["code"]).astype(str).to_numpy(dtype=object)
    pr = (pr_map["input_code"] if pr_map is not None and len(pr_map) else t["procedures"]["code"]).astype(str).to_numpy(dtype=object)
    cc = t.get("cc_mcc")
    cc_codes = np.intersect1d(cc["code"].astype(str).to_numpy(dtype=object), dx) if cc is not None and len(cc) else dx[:0]
    pdx_pool = dx[rng.choice(len(dx), size=min(len(dx), 3000), replace=False)]
    pr_pool = pr[rng.choice(len(pr), size=min(len(pr), 1500), replace=False)]
    sdx_pool = np.concatenate([cc_codes[: 500], dx[rng.choice(len(dx), size=min(len(dx), 500), replace=False)]]) if len(cc_codes) else pdx_pool

    def zipf_pick(pool: np.ndarray, size: int) -> np.ndarray:
        r = rng.zipf(1.3, size=size) - 1
        return pool[r % len(pool)]

    # Templates: principal + 0..4 secondaries, 0..3 procedures.
    nt = n_templates
    principal = zipf_pick(pdx_pool, nt)
    n_sdx = rng.integers(0, 5, nt)
    n_pr = rng.choice(4, size=nt, p=[0.35, 0.4, 0.17, 0.08])
    sdx = zipf_pick(sdx_pool, int(n_sdx.sum()))
    prs = zipf_pick(pr_pool, int(n_pr.sum()))
    dx_text = np.empty(nt, dtype=object)
    pr_text = np.empty(nt, dtype=object)
    so = np.concatenate(([0], np.cumsum(n_sdx)))
    po = np.concatenate(([0], np.cumsum(n_pr)))
    for i in range(nt):  # per template (not per case): builds the code text once
        dx_text[i] = "|".join([principal[i], *sdx[so[i]:so[i + 1]]])
        pr_text[i] = "|".join(prs[po[i]:po[i + 1]])
    base = np.exp(rng.normal(np.log(8000), 0.8, nt)) * (1 + n_pr)

    # Cases: Zipf-popular templates.
    tmpl = (rng.zipf(1.15, size=n_cases) - 1) % nt
    age = np.clip(rng.normal(55, 22, n_cases), 0, 100).astype(np.int64)
    age_days = np.where(age == 0, rng.integers(1, 365, n_cases), age * 365 + rng.integers(0, 365, n_cases))
    weight = np.where((age == 0) & (age_days <= 28), rng.integers(1200, 4500, n_cases), 0)
    cost = np.round(base[tmpl] * np.exp(rng.normal(0, 0.35, n_cases)), 2)
    return pd.DataFrame({
        "case_id": pd.Series(np.char.add("C", np.arange(n_cases).astype(str)), dtype="str"),
        "hospital_id": pd.Series(np.char.add("H", rng.integers(1, n_hospitals + 1, n_cases).astype(str)), dtype="str"),
        "sex": rng.integers(1, 3, n_cases),
        "age": age,
        "age_days": age_days,
        "birth_weight": np.where(weight > 0, weight, np.nan),
        "diagnoses": pd.Series(dx_text[tmpl], dtype="str"),
        "procedures": pd.Series(pr_text[tmpl], dtype="str"),
        "total_cost": cost,
        "year": rng.choice(np.asarray(years), size=n_cases),
    })


def tiny_scheme() -> dict[str, pd.DataFrame]:
    """A hand-sized scheme (tables only) for known-answer tests and examples.

    Diagnoses K80.100/K80.101/K80.200 (gallstones), K35.800, E11.900 (CC, exclusion id 4),
    J18.900 (MCC, id 3), N17.900 (MCC, id 7; excluded when K80.100 is principal, whose
    pdx_exclusion id is 7). Procedures 51.2300/51.2200 (operating room), 45.1300 and 87.4100
    (diagnostic ranges), 99.0401 (therapeutic). No code maps: every listed code is accepted.
    """

    def t(**cols: list[str]) -> pd.DataFrame:
        return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()})

    dx = ["K80.100", "K80.101", "K80.200", "K35.800", "E11.900", "J18.900", "N17.900"]
    pr = ["51.2300", "51.2200", "45.1300", "87.4100", "99.0401"]
    return {
        "diagnoses": t(code=dx, name=dx),
        "procedures": t(code=pr, name=pr),
        "cc_mcc": t(code=["E11.900", "J18.900", "N17.900"], level=["CC", "MCC", "MCC"], exclusion_id=["4", "3", "7"]),
        "pdx_exclusion": t(code=["K80.100"], exclusion_id=["7"]),
        "or_procedures": t(code=["51.2300", "51.2200"], name=["lap chole", "open chole"]),
    }
