"""Read numbers from request parameters: ASCII digits that fit a PostgreSQL bigint."""

import re

_DIGITS = re.compile(r"[0-9]{1,19}")
BIGINT_MAX = 2**63 - 1


def number_param(raw: str) -> int | None:
    """Return the text as a non-negative integer a bigint column holds, else None.

    ``str.isdigit()`` is not enough: it accepts "²" and "٣" (``int()``
    refuses the first), and any number of digits (past 4,300 ``int()``
    refuses them, past 2**63 PostgreSQL does): each was a 500.
    """
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if value <= BIGINT_MAX else None
