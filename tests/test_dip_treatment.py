"""DIP treatment types of every CHS-DRG 1.1 procedure code against the rule as written.

The reference here reads the scheme's CSV files and ``grouper/dip/README.md`` itself and imports
nothing from ``grouper.dip``: diagnostic subcategories of 01–86 are those in which the scheme
names a code "…诊断性操作" (the ICD-9-CM-3 "Other diagnostic procedures on …" code of every
subcategory titled "Diagnostic procedures on …"), less the README's therapeutic exceptions; plus
categories 87–91 and the README's diagnostic exceptions; OR-list codes are surgery.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared_data import require_shared

README = Path(__file__).resolve().parents[1] / "grouper" / "dip" / "README.md"
TYPES = ("conservative", "diagnostic", "therapeutic", "surgery")


def _scheme_dir() -> Path:
    return require_shared() / "schemes" / "chs-drg-1.1"


def _readme_rule() -> tuple[list[str], list[tuple[str, str]]]:
    """(the README's list of 'Diagnostic procedures on …' subcategories, its exception rows)."""
    text = README.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("| treatment type |"))
    listed = re.search(r"62 subcategories: ([\d. ]+) —", line)
    assert listed, "README treatment-type row no longer lists the subcategories"
    subcats = listed.group(1).split()
    table = text[text.index("### Treatment-type exceptions"):text.index("## Catalogue folder")]
    exceptions = []
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) != 3 or cells[1] not in TYPES:
            continue
        for part in cells[0].split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d\d)\.(\d)(\d)–\1\.\2(\d)", part)
            if m:  # a range such as 95.41–95.47
                base = f"{m.group(1)}.{m.group(2)}"
                exceptions += [(f"{base}{d}", cells[1]) for d in range(int(m.group(3)), int(m.group(4)) + 1)]
            else:
                exceptions.append((part, cells[1]))
    return subcats, exceptions


def _reference(scheme: Path) -> pd.DataFrame:
    """Every procedure code of the scheme with its type, derived from the rule as written."""
    procs = pd.read_csv(scheme / "procedures.csv", dtype=str, keep_default_na=False)
    or_codes = set(pd.read_csv(scheme / "or_procedures.csv", dtype=str, keep_default_na=False)["code"])
    _, exceptions = _readme_rule()
    therapeutic_exc = {p for p, t in exceptions if t == "therapeutic"}
    named = {c[:4] for c, n in zip(procs["code"], procs["name"], strict=True)
             if "诊断性操作" in n and c[:2].isdigit() and 1 <= int(c[:2]) <= 86}
    diag_sub = named - therapeutic_exc
    types = []
    for code in procs["code"]:
        exc = [(p, t) for p, t in exceptions if code.startswith(p)]
        if code in or_codes:
            t = "surgery"
        elif exc:
            t = max(exc, key=lambda e: len(e[0]))[1]
        elif code[:2] in {"87", "88", "89", "90", "91"} or code[:4] in diag_sub:
            t = "diagnostic"
        else:
            t = "therapeutic"
        types.append(t)
    return pd.DataFrame({"code": procs["code"], "name": procs["name"], "type": types})


def test_readme_list_is_the_schemes_own_diagnostic_subcategories():
    scheme = _scheme_dir()
    procs = pd.read_csv(scheme / "procedures.csv", dtype=str, keep_default_na=False)
    subcats, exceptions = _readme_rule()
    named = {c[:4] for c, n in zip(procs["code"], procs["name"], strict=True)
             if "诊断性操作" in n and c[:2].isdigit() and 1 <= int(c[:2]) <= 86}
    assert len(subcats) == 62 == len(set(subcats))
    assert set(subcats) == named - {p for p, t in exceptions if t == "therapeutic"}
    assert "41.3" in subcats
    assert not {"75.1", "77.4", "80.2", "80.3"} & set(subcats)


def test_every_chs_drg_procedure_code_has_its_documented_type():
    from grouper.dip.treatment import treatment_types  # the code under test

    scheme = _scheme_dir()
    ref = _reference(scheme)
    or_codes = pd.read_csv(scheme / "or_procedures.csv", dtype=str, keep_default_na=False)["code"]
    got = np.asarray(TYPES, dtype=object)[treatment_types(ref["code"], or_codes)]
    bad = ref[got != ref["type"].to_numpy(dtype=object)].assign(code_type=got[got != ref["type"].to_numpy(dtype=object)])
    assert bad.empty, f"{len(bad)} codes differ from the documented rule:\n{bad.head(20).to_string()}"
    assert len(ref) > 13000


@pytest.mark.parametrize(("code", "expected"), [
    ("41.3100", "diagnostic"),     # 骨髓活组织检查: 41.3 Diagnostic procedures on bone marrow and spleen
    ("41.3800", "diagnostic"),     # 骨髓其他诊断性操作
    ("41.3900", "diagnostic"),     # 脾其他诊断性操作
    ("75.1x00", "therapeutic"),    # 诊断性羊膜穿刺: 75.1 is titled "Diagnostic amniocentesis"
    ("77.4000", "surgery"),        # 骨活组织检查: 77.4 Biopsy of bone, not diagnostic; on the OR list
    ("80.2000", "surgery"),        # 关节镜检查: 80.2 Arthroscopy, not diagnostic; on the OR list
    ("78.8000", "diagnostic"),     # 骨诊断性操作: 78.8 Diagnostic procedures on bone, NEC
    ("87.4100", "diagnostic"),     # chapter 16, 87 Diagnostic radiology
    ("95.4100", "diagnostic"),     # exception: audiometry
    ("99.0401", "therapeutic"),
])
def test_hand_checked_codes(code, expected):
    ref = _reference(_scheme_dir()).set_index("code")["type"]
    if code not in ref.index:
        pytest.skip(f"{code} not in this version of the scheme")
    assert ref[code] == expected
    from grouper.dip.treatment import treatment_types

    or_codes = pd.read_csv(_scheme_dir() / "or_procedures.csv", dtype=str, keep_default_na=False)["code"]
    assert TYPES[treatment_types([code], or_codes)[0]] == ref[code]
