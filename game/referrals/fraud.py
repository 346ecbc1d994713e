"""The fraud signals that put a qualification on hold, and the e-mail identity they compare."""

from __future__ import annotations

from enum import StrEnum

# Providers that deliver every dotted spelling of a mailbox to the same mailbox.
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


class HoldReason(StrEnum):
    SAME_EMAIL = "SAME_EMAIL"
    SAME_DEVICE = "SAME_DEVICE"
    SAME_PAYMENT = "SAME_PAYMENT"
    MONTHLY_CAP = "MONTHLY_CAP"
    VELOCITY = "VELOCITY"


def identity(email: str) -> str:
    """The mailbox an address delivers to: lowercase, without a +tag, and without dots where the provider
    ignores them (Gmail and its googlemail.com alias)."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        domain = _DOTLESS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"
