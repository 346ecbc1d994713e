"""Texts marketers write in each of the programme's languages."""

from __future__ import annotations

import strawberry


@strawberry.type(description="A text in each language it was written in.")
class LocalizedText:
    fr: str | None
    en: str | None

    @classmethod
    def of(cls, texts: dict[str, str]) -> LocalizedText:
        return cls(fr=texts.get("fr"), en=texts.get("en"))


@strawberry.input(description="A text in French, English or both.")
class LocalizedTextInput:
    fr: str | None = None
    en: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("fr", self.fr), ("en", self.en)) if v is not None}
