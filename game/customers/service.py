"""Customer accounts: registration, login, and the customer-scoped read."""

from __future__ import annotations

import re
import unicodedata
from uuid import UUID
from zoneinfo import available_timezones

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from game.access.errors import AccessReason
from game.access.passwords import hash_password, validate_password, verify_password
from game.access.viewer import Viewer
from game.customers.errors import CustomerReason
from game.customers.models import Customer
from game.errors import DomainError, ErrorCode, bad_input, not_found
from game.ledger.models import Balance
from game.sql import fetch_one

# Deliverability is the mail server's business; this only rejects what cannot be an address.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MAX_EMAIL_LENGTH = 254
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def email_key(email: str) -> str:
    """The form an address is stored and looked up in: fullwidth and other compatibility look-alikes fold
    to the same account (NFKC), case does not matter."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def normalise_email(email: str) -> str:
    email = email_key(email)
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise bad_input("email is not a valid address", "email")
    # Zero-width spaces and joiners, soft hyphens, direction marks: invisible, so one address could be
    # registered many times over looking the same.
    if any(unicodedata.category(char) == "Cf" for char in email):
        raise bad_input("email contains invisible characters", "email")
    return email


def _display_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise bad_input("displayName must have 1 to 80 characters", "displayName")
    return name


def _locale(locale: str) -> str:
    if not _LOCALE.match(locale) or len(locale) > 16:
        raise bad_input("locale must be a language tag such as 'fr' or 'en-GB'", "locale")
    return locale


def _timezone(timezone: str) -> str:
    if timezone not in available_timezones():
        raise bad_input("timezone must be an IANA name such as 'Europe/Paris'", "timezone")
    return timezone


async def register(
    email: str, password: str, display_name: str, locale: str = "en", timezone: str = "UTC"
) -> Customer:
    email = normalise_email(email)
    await validate_password(password, email, display_name)
    display_name, locale, timezone = _display_name(display_name), _locale(locale), _timezone(timezone)
    password_hash = await hash_password(password)  # before the transaction: no connection held meanwhile
    try:
        async with in_transaction():
            customer = await Customer.create(
                email=email,
                password_hash=password_hash,
                display_name=display_name,
                locale=locale,
                timezone=timezone,
            )
            await Balance.create(customer=customer, points=0)
    except IntegrityError:
        raise DomainError(
            ErrorCode.CONFLICT,
            "an account with this email already exists",
            field="email",
            reason=AccessReason.EMAIL_TAKEN,
        ) from None
    return customer


async def authenticate(email: str, password: str) -> Customer:
    key = email_key(email)
    customer = await Customer.get_or_none(email=key) if len(key) <= MAX_EMAIL_LENGTH else None
    if not await verify_password(customer.password_hash if customer else None, password) or customer is None:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "invalid email or password", reason=AccessReason.INVALID_CREDENTIALS
        )
    return customer


def readable_by(viewer: Viewer) -> QuerySet[Customer]:
    """The customers this viewer may read: a customer only ever sees themself."""
    if viewer.customer_id is None:
        return Customer.filter(id=None)
    return Customer.filter(id=viewer.customer_id)


_SHOWN = ("id", "email", "display_name", "locale", "timezone", "tags", "created_at")


async def signed_in_customer(viewer: Viewer) -> Customer:
    """The viewer's own account; a valid token whose account is gone (erased on request, say) is refused."""
    # Named columns: the password hash (and the token version, which the request's session check already
    # compared) stay in the database. A partial object: tortoise refuses to save it whole.
    customer = await readable_by(viewer).only(*_SHOWN).first()
    if customer is None:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "this account no longer exists", reason=AccessReason.ACCOUNT_GONE
        )
    return customer


async def existing_customer_id(customer_id: str) -> UUID:
    """For API keys and marketers, who act on any customer of the programme: the id, known to exist."""
    try:
        uid = UUID(customer_id)
    except ValueError:
        raise not_found("no customer with this id", CustomerReason.UNKNOWN_CUSTOMER) from None
    if await fetch_one("SELECT 1 AS found FROM customer WHERE id = $1", uid) is None:
        raise not_found("no customer with this id", CustomerReason.UNKNOWN_CUSTOMER)
    return uid


async def customer_locale(customer_id: UUID) -> str:
    """The customer's language, for texts pushed to them ("en" when the account is gone)."""
    row = await fetch_one("SELECT locale FROM customer WHERE id = $1", customer_id)
    return str(row["locale"]) if row else "en"
