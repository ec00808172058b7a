"""Plain-Python reference of the fund month by month (domain.md §8a), decimal money.

Imports nothing from ``payment``. It works on plain data: per hospital its 12 gross advances,
its settled final amount, its special-review payments per ledger month, its monthly entitlement
at the provisional point value and its recorded monthly payments of the previous years; per fund
the opening balance, the income and other-spending series and last year's monthly expenditure.
Amounts are ``Decimal`` yuan with 2 decimals; ratios are ``Fraction``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
Z = Decimal("0.00")


def yuan(x) -> Decimal:
    """A number (float, str, int or Decimal) as yuan rounded half-up to the cent."""
    return Decimal(repr(x) if isinstance(x, float) else str(x)).quantize(CENT, ROUND_HALF_UP)


def frac(x) -> Fraction:
    return Fraction(Decimal(repr(x) if isinstance(x, float) else str(x)))


def fund_eligible(opening, history_exp, need_months, deficit_last_year, projected_deficit,
                  require_no_deficit=True, enabled=True) -> bool:
    """Balance on 1 January ÷ mean monthly expenditure of last year ≥ the cover, no deficit."""
    if not enabled or not history_exp or sum(history_exp) <= 0:
        return False
    cover = Fraction(opening) / (Fraction(sum(history_exp)) / len(history_exp))
    if cover < frac(need_months):
        return False
    return not (require_no_deficit and (deficit_last_year or projected_deficit))


def prepayment(hist_total, hist_months, k, score=None, min_score=None) -> Decimal:
    """k × (recorded total ÷ months recorded), rounded half-up once; none without history."""
    if hist_months == 0 or hist_total <= 0:
        return Z
    if min_score is not None and (score is None or frac(score) < frac(min_score)):
        return Z
    c = frac(k) * Fraction(hist_total) / hist_months * 100  # cents, exact
    n = (2 * c.numerator + c.denominator) // (2 * c.denominator)  # half-up (c ≥ 0)
    return Decimal(n) / 100


def recovery(P: Decimal, gross: list[Decimal], rule: str, n: int):
    """(deductions per month January–December, owed at the clearing)."""
    ded = [Z] * 12
    if rule == "rollover":
        return ded, Z
    if rule == "at_clearing":
        return ded, P
    inst = (P / n).quantize(CENT, ROUND_DOWN)
    carried = Z
    for m in range(12):
        due = inst if m < n - 1 else (P - inst * (n - 1) if m == n - 1 else Z)
        owed = carried + due
        ded[m] = min(owed, gross[m])
        carried = owed - ded[m]
    return ded, carried


def run(fund: dict, hospitals: list[dict], policy: dict) -> dict:
    """The ledger of one fund.

    ``fund``: opening, income[T], other[T], history_exp[], deficit_last_year. Each hospital:
    gross[12], final, sr[T], ent[12], hist_total, hist_months, score. ``policy``: k, need (cover
    months), rule, n, alert, min_score, clearing_month, enabled, require_no_deficit,
    repeat_after_year.
    """
    T = 12 + policy["clearing_month"]
    income, other = fund["income"], fund["other"]
    sr_year = sum((sum(h["sr"][:12], Z) for h in hospitals), Z)
    gross_year = sum((sum(h["gross"], Z) for h in hospitals), Z)
    proj_def = sum(income[:12], Z) < gross_year + sr_year + sum(other[:12], Z)
    ok = fund_eligible(fund["opening"], fund["history_exp"], policy["need"],
                       fund["deficit_last_year"], proj_def, policy["require_no_deficit"],
                       policy["enabled"])
    accounts = []
    for h in hospitals:
        P = (prepayment(h["hist_total"], h["hist_months"], policy["k"], h["score"],
                        policy["min_score"]) if ok and frac(policy["k"]) > 0 else Z)
        ded, owed = recovery(P, h["gross"], policy["rule"], policy["n"])
        net = [g - d for g, d in zip(h["gross"], ded, strict=True)]
        clearing = h["final"] - sum(h["gross"], Z) - sum(h["sr"], Z) - owed
        accounts.append({"P": P, "ded": ded, "net": net, "owed": owed, "clearing": clearing,
                         "outstanding": P - sum(ded, Z) - owed, "sr": h["sr"],
                         "final": h["final"], "ent": h["ent"], "gross": h["gross"]})
    rows = []
    bal = fund["opening"]
    exps = list(fund["history_exp"])
    for t in range(T):
        prep = sum((a["P"] for a in accounts), Z) if t == 0 else Z
        if t < 12:
            adv = sum((a["net"][t] for a in accounts), Z)
        elif policy["repeat_after_year"]:
            adv = sum((a["gross"][t - 12] for a in accounts), Z)
        else:
            adv = Z
        sr = sum((a["sr"][t] for a in accounts), Z)
        clr = sum((a["clearing"] for a in accounts), Z) if t == T - 1 else Z
        out = prep + adv + sr + other[t] + clr
        opening = bal
        bal = opening + income[t] - out
        exps.append(out)
        win = exps[-12:]
        mean = Fraction(sum(win, Z)) / len(win)
        mor = Fraction(bal) / mean if mean > 0 else None
        rows.append({"opening": opening, "income": income[t], "prepayment": prep,
                     "advances": adv, "special_review": sr, "other": other[t],
                     "clearing": clr, "expenditure": out, "closing": bal, "mor": mor,
                     "alert": mor is not None and mor < frac(policy["alert"])})
    cash = []
    for a in accounts:
        cr = ce = Z
        pos = []
        for t in range(T):
            cr += (a["P"] if t == 0 else Z) + (a["net"][t] if t < 12 else Z) + a["sr"][t]
            ce += (a["ent"][t] if t < 12 else Z) + a["sr"][t]
            pos.append((cr, ce))
        cash.append(pos)
    return {"eligible": ok, "projected_deficit": proj_def, "accounts": accounts, "rows": rows,
            "cash": cash}
