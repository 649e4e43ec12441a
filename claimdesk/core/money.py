"""Money as an integer count of a currency's minor unit.

Floats are refused everywhere: 0.1 yen does not exist and 0.1 + 0.2 is not
0.3. Allocation spreads remainders so that the parts always add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# ISO 4217 minor-unit exponents for the currencies a marketplace meets most.
MINOR_UNITS: dict[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "SGD": 2,
    "USD": 2,
    "EUR": 2,
    "CNY": 2,
    "HKD": 2,
    "TWD": 2,
    "MYR": 2,
    "IDR": 2,
    "THB": 2,
}


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def minor_units(currency: str) -> int:
    """Return the number of decimal places of `currency`."""
    try:
        return MINOR_UNITS[currency]
    except KeyError as exc:
        raise ValueError(f"unknown currency {currency!r}") from exc


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: `minor` units of `currency` (¥100 is Money(100, "JPY"))."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money needs an int of minor units, got {type(self.minor).__name__}")
        minor_units(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return nothing, in `currency`."""
        return cls(0, currency)

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._check(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._check(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._check(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._check(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._check(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._check(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def is_negative(self) -> bool:
        """Return whether the amount is below zero."""
        return self.minor < 0

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split into parts proportional to non-negative integer `ratios`, exactly.

        The remainder goes one unit at a time to the parts with the largest
        fractional share, so the parts always sum to the whole.
        """
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError("ratios must be non-negative and not all zero")
        total = sum(ratios)
        sign = -1 if self.minor < 0 else 1
        amount = abs(self.minor)
        shares = [amount * r // total for r in ratios]
        remainders = [amount * r % total for r in ratios]
        leftover = amount - sum(shares)
        order = sorted(range(len(ratios)), key=lambda i: (-remainders[i], i))
        for i in order[:leftover]:
            shares[i] += 1
        return [Money(sign * s, self.currency) for s in shares]

    def percent_bp(self, basis_points: int) -> Money:
        """Return `basis_points`/10000 of the amount, rounded half up."""
        numerator = abs(self.minor) * basis_points
        value = (numerator + 5000) // 10000
        return Money(value if self.minor >= 0 else -value, self.currency)

    def format(self) -> str:
        """Return a display string such as `¥1,200` or `SGD 12.50`."""
        places = minor_units(self.currency)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**places) if places else (abs(self.minor), 0)
        body = f"{whole:,}" + (f".{frac:0{places}d}" if places else "")
        if self.currency == "JPY":
            return f"{sign}¥{body}"
        return f"{sign}{self.currency} {body}"

    def __str__(self) -> str:
        return self.format()


def money_sum(amounts: Iterable[Money], currency: str) -> Money:
    """Add up `amounts`, all in `currency` (an empty sum is zero)."""
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
