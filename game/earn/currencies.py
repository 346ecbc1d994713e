"""ISO 4217 currencies and their minor-unit exponents (amounts are integers in minor units)."""

from __future__ import annotations

# Currencies a European or North-American retail programme may meet; extend as brands need more.
MINOR_UNITS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2, "NOK": 2, "DKK": 2,
    "PLN": 2, "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "MAD": 2, "TND": 3, "XOF": 0, "XAF": 0, "JPY": 0,
    "KRW": 0, "CNY": 2, "HKD": 2, "SGD": 2, "INR": 2, "BRL": 2, "MXN": 2, "ZAR": 2, "AED": 2, "SAR": 2,
    "TRY": 2, "ILS": 2, "KWD": 3, "BHD": 3,
}  # fmt: skip


def minor_unit_exponent(currency: str) -> int | None:
    return MINOR_UNITS.get(currency)
