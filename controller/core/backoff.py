"""Capped exponential backoff: the one formula behind both retry delays.

The workflow waits `backoff(failed_attempts, ...)` between reconciles after failures; the Twilio
gateway draws its per-request jitter below `backoff(retry_number + 1, ...)`. One function, one
argument order, so the two cannot drift apart. Pure.
"""

from __future__ import annotations

# 2**62 already dwarfs any sensible cap; the bound keeps the float math finite.
_MAX_EXPONENT = 62


def backoff(attempt: int, base: float, cap: float) -> float:
    """`base` doubled for each attempt after the first, at most `cap`; 0 for no attempt yet."""
    if attempt <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(attempt - 1, _MAX_EXPONENT)))
