"""Password hashing for customers and marketers (argon2id with the library's current parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from game.errors import bad_input

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("tessera-dummy-password")

MIN_LENGTH = 8
MAX_LENGTH = 256


def validate_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise bad_input(f"password must have at least {MIN_LENGTH} characters", "password")
    if len(password) > MAX_LENGTH:
        raise bad_input(f"password must have at most {MAX_LENGTH} characters", "password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
