"""What a board shows of a customer: the display name, or a pseudonym made from the id when it is empty
(the same one every time, and nothing of the id can be read back from it)."""

from __future__ import annotations

import hashlib

_ADJECTIVES = (
    "Amber", "Brave", "Calm", "Clever", "Eager", "Gentle", "Golden", "Happy", "Jolly", "Keen",
    "Lively", "Lucky", "Mellow", "Nimble", "Quiet", "Rapid", "Silver", "Sunny", "Swift", "Witty",
)  # fmt: skip
_ANIMALS = (
    "Badger", "Beaver", "Bison", "Crane", "Dolphin", "Falcon", "Fox", "Hare", "Heron", "Lynx",
    "Marten", "Otter", "Owl", "Panda", "Puffin", "Robin", "Seal", "Stoat", "Wren", "Yak",
)  # fmt: skip


def pseudonym(customer_id: str) -> str:
    digest = hashlib.sha256(f"tessera-board:{customer_id}".encode()).digest()
    adjective = _ADJECTIVES[digest[0] % len(_ADJECTIVES)]
    animal = _ANIMALS[digest[1] % len(_ANIMALS)]
    return f"{adjective} {animal} {int.from_bytes(digest[2:4], 'big') % 1000:03d}"


def shown_name(customer_id: str, display_name: str | None) -> str:
    name = (display_name or "").strip()
    return name or pseudonym(customer_id)
