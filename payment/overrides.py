"""Scenario overrides: dotted keys (``settlement.reserve_rate``) merged into a policy, and
which keys settlement alone reads (their change needs no re-pricing)."""

from __future__ import annotations

from typing import Any

from .policy import merge_overrides as _merge
from .settlement_policy import SettlementPolicy

__all__ = ["SETTLEMENT_PV_KEYS", "is_settlement_key", "nest", "override_policy"]

# [point_value] keys read only by settlement (their change needs no re-pricing).
SETTLEMENT_PV_KEYS = {
    "point_value.reimbursement_ratio",
    "point_value.reserve_withheld",
    "point_value.reserve_rate",
    "point_value.budget",
}


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} → {"a": {"b": 1}} (already nested dicts are kept)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = _merge(node[parts[-1]], value)
        else:
            node[parts[-1]] = value
    return out




def override_policy(policy: Any, overrides: dict[str, Any]) -> Any:
    """A new policy with dotted or nested ``overrides`` merged in and re-validated.

    A full ``Policy`` uses its own ``with_overrides``; a bare :class:`SettlementPolicy` takes the
    keys under ``settlement.`` (or its own keys directly).
    """
    nested = nest(overrides)
    if isinstance(policy, SettlementPolicy):
        nested = nested.get("settlement", nested)
        return SettlementPolicy.model_validate(_merge(policy.model_dump(), nested))
    if "settlement" in nested and getattr(policy, "settlement", None) is None:
        # Policy.with_overrides merges into the dump; give it a table to merge into.
        nested["settlement"] = _merge(SettlementPolicy().model_dump(), nested["settlement"])
    return policy.with_overrides(nested)


def is_settlement_key(key: str) -> bool:
    """True when only settlement reads ``key`` (a settlement-only grid can sweep it)."""
    return key.startswith("settlement.") or key in SETTLEMENT_PV_KEYS

