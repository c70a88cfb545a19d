"""Pure money helpers: Decimal USD <-> integer nano-USD, and zero-completion insurance."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

NANO = Decimal(1_000_000_000)
_ONE_NANO = Decimal("0.000000001")


def to_nano(usd: Decimal) -> int:
    """USD to integer nano-USD (banker's rounding at the 1e-9 digit)."""
    return int((usd * NANO).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_nano(nano: int) -> Decimal:
    """Integer nano-USD back to exact Decimal USD."""
    return (Decimal(nano) / NANO).quantize(_ONE_NANO)


def usd_out(usd: Decimal) -> float:
    """Decimal USD to a JSON number rounded to 1e-9 (the contract's output precision)."""
    return float(usd.quantize(_ONE_NANO, rounding=ROUND_HALF_EVEN))


def bill_attempt(
    cost: Decimal | None, output_tokens: int, text: str, error: bool
) -> tuple[Decimal | None, bool]:
    """What to bill for one attempt, and whether zero-completion insurance applied.

    An attempt that produced no output tokens, no text (whitespace counts as none) and no error
    is an empty answer: it is recorded at cost 0 with `empty_free=True`, whatever the price of its
    input tokens (OpenRouter's zero-completion insurance). Anything else keeps its cost, including
    `None` for an unknown price.
    """
    if not error and output_tokens <= 0 and not text.strip():
        return Decimal(0), True
    return cost, False
