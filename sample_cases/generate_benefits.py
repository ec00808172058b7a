"""Generate the patient-side inputs of the demo region: ``sample_cases/benefits.csv``.

``python sample_cases/generate_benefits.py`` reads ``cases.csv`` and writes, for the settlement
year (2025), one row per case with the columns :func:`payment.cost_sharing` reads: the case's
``case_id, patient_id, hospital_id, hospital_level, total_cost, discharge_date`` and the drawn
``insurance, category, referral, out_of_area, self_pay, partial_self_pay`` (yuan). Seeded
(``SEED``) and separate from ``generate.py``'s stream, so ``cases.csv`` does not change.

Draws (synthetic, sized on domain.md §12): 35 % employees; retirees are employees aged 60+
(80 %); minors are residents under 18; about 6 % of residents are in an assistance category
(tekun, dibao, dibian, fanpin); a person's second stay of the year is referred ``up`` (60 %)
when it is at a higher level than the first, ``down`` (50 %) when lower, and 1 % of other stays
are ``irregular`` transfers; 3 % of stays are out of area with filing, 1 % without; out-of-
catalogue items about 6 % and partial self-pay about 9 % of the rest of the cost.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 90_2025
YEAR = "2025"
COLUMNS = ("case_id", "patient_id", "hospital_id", "hospital_level", "total_cost",
           "discharge_date", "insurance", "category", "referral", "out_of_area", "self_pay",
           "partial_self_pay")


def _cents(x: float) -> str:
    return f"{round(x + 1e-9, 2):.2f}"


def generate(cases_csv: Path = HERE / "cases.csv", seed: int = SEED) -> list[dict[str, str]]:
    """The benefit rows of the settlement year, in the order of ``cases_csv``."""
    with cases_csv.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["year"] == YEAR]
    rng = np.random.default_rng(seed)
    persons = sorted({r["patient_id"] for r in rows})
    u = rng.random((len(persons), 3))
    person = {}
    for (a, b, c), pid in zip(u, persons, strict=True):
        person[pid] = (a < 0.35, b, c)  # employee?, category draw, spare
    # Stays of each person in discharge order (case_id breaks ties, as §9 orders them).
    by_person: dict[str, list[dict[str, str]]] = {}
    for r in sorted(rows, key=lambda r: (r["patient_id"], r["discharge_date"], r["case_id"])):
        by_person.setdefault(r["patient_id"], []).append(r)
    previous = {}
    for stays in by_person.values():
        for before, after in zip(stays, stays[1:], strict=False):
            previous[after["case_id"]] = before
    out = []
    for r in rows:
        employee, cat_u, _ = person[r["patient_id"]]
        age = int(r["age"] or 0)
        if employee:
            category = "retiree" if age >= 60 and cat_u < 0.8 else "general"
        elif cat_u < 0.01:
            category = "tekun"
        elif cat_u < 0.04:
            category = "dibao"
        elif cat_u < 0.05:
            category = "dibian"
        elif cat_u < 0.06:
            category = "fanpin"
        else:
            category = "minor" if age < 18 else "general"
        v = rng.random(4)
        prev = previous.get(r["case_id"])
        referral = ""
        if prev is not None and int(r["hospital_level"]) > int(prev["hospital_level"]):
            referral = "up" if v[0] < 0.6 else ""
        elif prev is not None and int(r["hospital_level"]) < int(prev["hospital_level"]):
            referral = "down" if v[0] < 0.5 else ""
        elif v[0] < 0.01:
            referral = "irregular"
        out_of_area = "filed" if v[1] < 0.03 else "unfiled" if v[1] < 0.04 else ""
        total = float(r["total_cost"])
        self_pay = round(total * float(rng.beta(2.0, 30.0)), 2)
        partial = round((total - self_pay) * float(rng.beta(2.0, 20.0)), 2)
        out.append({
            "case_id": r["case_id"], "patient_id": r["patient_id"],
            "hospital_id": r["hospital_id"], "hospital_level": r["hospital_level"],
            "total_cost": r["total_cost"], "discharge_date": r["discharge_date"],
            "insurance": "employee" if employee else "resident", "category": category,
            "referral": referral, "out_of_area": out_of_area,
            "self_pay": _cents(self_pay), "partial_self_pay": _cents(partial),
        })
    return out


def main(out_dir: Path = HERE, seed: int = SEED) -> Path:
    """Write ``benefits.csv`` into ``out_dir`` (UTF-8, LF); returns its path."""
    path = Path(out_dir) / "benefits.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(generate(HERE / "cases.csv", seed))
    return path


if __name__ == "__main__":
    print(main())
