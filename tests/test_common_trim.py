"""The one §13 trimming rule (drgsim_common.trim) on hand-computed sets, through both callers.

Set 0: 1, 2, 3, 4, 100 (Q1 = 2, Q3 = 4, IQR = 2: [−4, 10] with k = 3, so 100 goes); set 1:
two values (fewer than min_cases = 3: kept whole); label −1 never kept. payment.weights
(DRG weights, numba statistics) and grouper.dip.stats (DIP scores, numpy statistics) call the
same rule and give the same mask.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from drgsim_common.columns import Column
from grouper import schema
from grouper.dip.stats import trim_keep
from payment import columns
from payment.weights import trim_mask

LABEL = np.array([0, 0, 0, 0, 0, 1, 1, -1], dtype=np.int64)
COST = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 500.0, 7.0])


@pytest.mark.parametrize(("method", "want"), [
    ("iqr", [1, 1, 1, 1, 0, 1, 1, 0]),
    # mean 22, sample SD 43.6... ; k = 1: [−21.6, 65.6] drops 100
    ("sd", [1, 1, 1, 1, 0, 1, 1, 0]),
    # Q(0.25) = 2, Q(0.75) = 4 by linear interpolation: keeps 2, 3, 4
    ("percentile", [0, 1, 1, 1, 0, 1, 1, 0]),
    ("none", [1, 1, 1, 1, 1, 1, 1, 0]),
])
def test_same_mask_from_both_packages(method, want):
    k = 1.0 if method == "sd" else 3.0
    dip = trim_keep(LABEL, COST, 2, method, k, 0.25, 0.75, 3)
    pol = SimpleNamespace(weights=SimpleNamespace(trim=method, trim_k=k, trim_lower=0.25,
                                                  trim_upper=0.75, trim_min_cases=3))
    drg = trim_mask(LABEL, COST, 2, pol)
    assert dip.astype(int).tolist() == want
    assert drg.astype(int).tolist() == want


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown trim method 'mad'"):
        trim_keep(LABEL, COST, 2, "mad", 3.0, 0.0, 1.0, 1)


def test_one_column_record():
    assert schema.Column is Column and columns.Column is Column
    assert Column("x", "int", True, "m", aliases=("甲",)).header_zh == "甲"
    assert Column("x", "int", True, "m").dtype == "Int64"
