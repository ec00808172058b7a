"""Independent plain-Python reference of the payment rules (domain.md §4–§8 with §13).

Written from ``../shared/domain.md`` alone; imports nothing from ``payment``, ``grouper`` or
``drgsim``. Money is ``decimal.Decimal`` rounded half-up to the cent once per amount; points are
Python floats. The policy is a nested dict with the library's keys (``docs/payment.md``), so
one override dict drives both this reference and ``payment``.

    pol = ref_policy(overrides)
    w = ref_weights(history_rows, pol)
    priced = ref_price(case_rows, w, pol)
    result = ref_settle(priced, w, pol)
"""

from .money import cents, dec, half_up, largest_remainder
from .policy import DEFAULTS, merge, ref_policy
from .pricing import classify, readmissions, ref_price, yuan_per_point
from .review import quota
from .settle import ref_settle, release_share, tier_parts
from .weights import RefWeights, budget_point_value, quantile, ref_weights, trimmed

__all__ = [
    "DEFAULTS", "RefWeights", "budget_point_value", "cents", "classify", "dec", "half_up",
    "largest_remainder", "merge", "quantile", "quota", "readmissions", "ref_policy", "ref_price",
    "ref_settle", "ref_weights", "release_share", "tier_parts", "trimmed", "yuan_per_point",
]
