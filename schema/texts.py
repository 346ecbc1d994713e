"""Texts marketers write in each of the programme's languages."""

from __future__ import annotations

import strawberry


@strawberry.type(description="A text in each language it was written in.")
class LocalizedText:
    fr: str | None = strawberry.field(description="In French; null if not written in French.")
    en: str | None = strawberry.field(description="In English; null if not written in English.")

    @classmethod
    def of(cls, texts: dict[str, str]) -> LocalizedText:
        return cls(fr=texts.get("fr"), en=texts.get("en"))


@strawberry.input(
    description="A text in French, English or both; the field that takes it says how long each may be."
)
class LocalizedTextInput:
    fr: str | None = strawberry.field(default=None, description="In French, trimmed; leave out if none.")
    en: str | None = strawberry.field(default=None, description="In English, trimmed; leave out if none.")

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("fr", self.fr), ("en", self.en)) if v is not None}
