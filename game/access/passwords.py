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

from game.errors import bad_input

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("tessera-dummy-password")

_pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="argon2")

MIN_LENGTH = 8
MAX_LENGTH = 256


def validate_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise bad_input(f"password must have at least {MIN_LENGTH} characters", "password")
    if len(password) > MAX_LENGTH:
        raise bad_input(f"password must have at most {MAX_LENGTH} characters", "password")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
