"""Settlement aggregates per chunk or partition, merged once: the streaming and Dask engines'
name for :func:`payment.settlement_merge.merge_settlement_inputs` (the rule and its layout live
in ``payment``)."""

from __future__ import annotations

from payment.settlement_merge import merge_settlement_inputs

__all__ = ["merge_settlement_inputs"]
