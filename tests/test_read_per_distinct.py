"""Reading each distinct cell once (grouper.cases._per_distinct) equals reading cell by cell:
values, dtypes, row statuses and the warnings' text, on a large messy export."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import grouper.cases as cases_mod
from grouper.cases import canonicalise


def _messy(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = np.array(["45", "45岁", "４５", " 45 ", "thirty", "", "1e400", "45.5", "7", "99999999999999999999"],
                    dtype=object)
    costs = np.array(["12,345.60", "¥800", "800元", "abc", "1e308", "5000", "-3", ""], dtype=object)
    dates = np.array(["2025-10-01", "2025-10-32", "2025年10月1日", "20251001", "45931", "",
                      "2025/10/02 08:30"], dtype=object)
    df = pd.DataFrame({
        "病案号": [f"C{i}" for i in range(n)],
        "性别": rng.choice(np.array(["男", "女", "1", "2", "x", ""], dtype=object), n),
        "年龄": rng.choice(ages, n),
        "住院天数": rng.choice(np.array(["3", "3天", "０", "-1", "2.5", ""], dtype=object), n),
        "离院方式": rng.choice(np.array(["1", "5", "9", ""], dtype=object), n),
        "主要诊断": "A00.000",
        "总费用": np.where(rng.random(n) < 0.5, rng.choice(costs, n),
                        np.round(rng.uniform(100, 9000, n), 2).astype(str)),
        "出院日期": rng.choice(dates, n),
    })
    return df.astype("str")


@pytest.mark.parametrize("n", [1_200, 5_000])
def test_distinct_reading_equals_cell_by_cell(n, monkeypatch):
    df = _messy(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = canonicalise(df, "export.xlsx", required=())
        monkeypatch.setattr(cases_mod, "_DISTINCT_MIN_ROWS", 10**12)
        slow = canonicalise(df, "export.xlsx", required=())
    pd.testing.assert_frame_equal(fast, slow)
    # the export's mistakes are there to be found, in both
    assert (fast["read_status"] == "BAD_VALUE").sum() > n // 4
    assert fast["read_warnings"].str.contains("年龄 'thirty' is not a number").any()
    assert fast["read_warnings"].str.contains("出院日期 '2025-10-32'").any()
