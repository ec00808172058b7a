"""Payment engine: groups -> weights -> prices (DRG and DIP), from a declarative policy.

Public API::

    policy = load_policy("zhejiang_drg")            # or a path; PolicyError on bad keys
    weights = compute_weights(history, policy)     # Weights: groups, coefficients, CMI
    priced = price(cases, weights, policy)         # one row per case, special review included
    result = settle(priced, policy)                # per-hospital statement and fund ledger
"""

from .benefit_policy import BenefitPolicy, load_benefit_policy
from .cost_sharing import CostSharingInputError, cost_sharing
from .indices import history_rw, indices, risk_levels
from .policy import PRESETS, Policy, PolicyError, load_policy, preset_path
from .pricing import point_value_from_budget, price, reserve_amount, round_half_up_cents
from .settlement import SettlementResult, settle
from .settlement_policy import SettlementPolicy
from .signals import low_standard_admissions, patient_selection, upcoding
from .signals_codes import all_signals, restricted_codes
from .special_review import quota
from .special_review import review as special_review_apply
from .supervision import SupervisionPolicy, load_supervision_policy, split_admissions
from .weights import Weights, compute_weights, load_weights

__all__ = [
    "BenefitPolicy",
    "CostSharingInputError",
    "cost_sharing",
    "load_benefit_policy",
    "PRESETS",
    "Policy",
    "SettlementPolicy",
    "SettlementResult",
    "SupervisionPolicy",
    "PolicyError",
    "Weights",
    "compute_weights",
    "history_rw",
    "indices",
    "load_policy",
    "load_supervision_policy",
    "load_weights",
    "point_value_from_budget",
    "preset_path",
    "price",
    "quota",
    "reserve_amount",
    "risk_levels",
    "round_half_up_cents",
    "settle",
    "special_review_apply",
    "split_admissions",
    "all_signals", "low_standard_admissions", "patient_selection", "restricted_codes", "upcoding",
]
