"""Kubernetes quantities (`500m`, `2Gi`, `1e3`, or a number) as the API server reads them: their
value, to compare and check, and the text the Deployment carries."""

import decimal
import math
import re
from decimal import Decimal

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_NUMBER = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
# The API server reads an exponent as a 32-bit integer; a larger one is not a quantity.
_MAX_EXPONENT = 2**31 - 1
# Exact for every quantity of the admitted length (64 characters, times 2**60), and room for every
# exponent the API server reads, so that no value here overflows; the work stays that of a few
# digits, whatever the exponent.
_CONTEXT = decimal.Context(prec=128, Emax=4 * _MAX_EXPONENT, Emin=-4 * _MAX_EXPONENT, traps=[decimal.InvalidOperation])


def value(q: str | int | float) -> Decimal:
    """The quantity's value. Raises ValueError for one the API server cannot hold. A string
    must have matched the quantity pattern already."""
    if isinstance(q, float) and not math.isfinite(q):
        raise ValueError("not a number a quantity can hold")
    if not isinstance(q, str):
        return Decimal(str(q))
    number = _NUMBER.match(q)
    if number is None:
        raise ValueError("not a quantity")
    amount, suffix = Decimal(number.group(0)), q[number.end() :]
    if suffix in _BINARY:
        return _CONTEXT.multiply(amount, 2 ** _BINARY[suffix])
    if suffix[:1] in ("e", "E"):
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError("the exponent is larger than a quantity can hold")
        return _CONTEXT.scaleb(amount, exponent)
    return _CONTEXT.scaleb(amount, _DECIMAL[suffix])


def is_whole(v: Decimal) -> bool:
    return v == _CONTEXT.to_integral_value(v)


def text(q: str | int | float) -> str:
    """As the Deployment carries it: the same bytes whatever number type the request carried."""
    if isinstance(q, float) and q.is_integer():
        return str(int(q))
    return str(q)
