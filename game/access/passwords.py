"""Password hashing for customers and marketers (argon2id with the library's current parameters).

Hashing takes tens of milliseconds of CPU and 64 MiB by design: it runs in a small pool of threads of its own
(argon2 releases the GIL), so a flood of logins neither stalls the event loop nor takes unbounded memory, and
does not starve the default executor that name resolution uses.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from game.access.errors import AccessReason
from game.errors import bad_input

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("tessera-dummy-password")

_pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="argon2")

MIN_LENGTH = 8
MAX_LENGTH = 256


# zxcvbn's estimate, 0 (a top-10 password) to 4: 2 and up resists online guessing (logins are throttled).
MIN_SCORE = 2
# zxcvbn's cost grows with the length; what a password adds past this many characters is not worth scoring.
SCORED_LENGTH = 64


async def validate_password(password: str, *personal: str) -> None:
    """Length, then zxcvbn's strength estimate (dictionaries of common passwords, names, keyboard patterns,
    dates, and the account's own email and name), in the hashing pool: it is CPU work too."""
    if len(password) < MIN_LENGTH:
        raise bad_input(f"password must have at least {MIN_LENGTH} characters", "password")
    if len(password) > MAX_LENGTH:
        raise bad_input(f"password must have at most {MAX_LENGTH} characters", "password")
    loop = asyncio.get_running_loop()
    inputs = [part for text in personal for part in (text, *text.replace("@", " ").split()) if part]
    result = await loop.run_in_executor(_pool, zxcvbn, password[:SCORED_LENGTH], inputs)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        why = feedback.get("warning") or "it is too easy to guess"
        hint = " ".join(feedback.get("suggestions") or [])
        raise bad_input(
            f"password too weak: {why.rstrip('.')}. {hint}".strip(),
            "password",
            reason=AccessReason.WEAK_PASSWORD,
        )


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
