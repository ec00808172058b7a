"""Decimal helpers of the reference: yuan to the cent, half-up, read as the decimal written."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")


def dec(x: object) -> Decimal:
    """A number as the decimal it prints as (0.1 → Decimal('0.1')); Decimals pass through."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        return Decimal(int(x))
    if isinstance(x, int):
        return Decimal(x)
    f = float(x)  # type: ignore[arg-type]
    if not math.isfinite(f):
        raise ValueError(f"not a finite amount: {x!r}")
    return Decimal(repr(f))


#: money is first read to 1e-6 cent (1e-8 yuan): a product of floats such as 118.7399… × 82.301…
#: = 9772.4349999999955 stands for the half 9772.435 that exact arithmetic on the decimals
#: meant (the library documents the same reading); then rounded half-up to the cent
NOISE = Decimal("1e-8")


def cents(x: object) -> Decimal:
    """Round half-up (away from zero on an exact half) to 0.01 yuan, after reading the amount
    to 1e-8 yuan (:data:`NOISE`)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return dec(x).quantize(NOISE, ROUND_HALF_UP).quantize(CENT, ROUND_HALF_UP)


def half_up(x: object, decimals: int) -> Decimal:
    """Round half-up to ``decimals`` decimals."""
    with localcontext() as ctx:
        ctx.prec = 60
        return dec(x).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def floor_int(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_FLOOR))


def ceil_int(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_CEILING))


def half_up_int(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_HALF_UP))


def largest_remainder(exact: list[Decimal], total: Decimal, keys: list[str]) -> list[Decimal]:
    """Split ``total`` (whole cents) over ``exact`` amounts: floors in cents, then one cent each
    to the largest fractional parts (ties: key order) until the parts add up to ``total``."""
    fl = [floor_int(e * 100) for e in exact]
    left = int(total * 100) - sum(fl)
    frac = [(e * 100 - f, i) for i, (e, f) in enumerate(zip(exact, fl, strict=True))]
    order = sorted(range(len(exact)), key=lambda i: (-frac[i][0], keys[i]))
    out = list(fl)
    for i in order[:max(left, 0)]:
        out[i] += 1
    return [Decimal(v) / 100 for v in out]
