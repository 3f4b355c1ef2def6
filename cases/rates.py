"""A rate as the notices and the assessment write it: four decimal places, rounded half-up.

It lives here, below both, because a notice's on-time rate (notices) and items 13 and 15
(scoring) must print the same figure for the same cases; scoring keeps the exact fraction for
its ladders and uses this only for display and the JSON.
"""

from __future__ import annotations


def rate_str(numerator: int, denominator: int) -> str | None:
    """numerator/denominator rounded half-up to 4 decimal places; None without a denominator."""
    if not denominator:
        return None
    scaled = (numerator * 20000 + denominator) // (2 * denominator)
    return f"{scaled // 10000}.{scaled % 10000:04d}"
