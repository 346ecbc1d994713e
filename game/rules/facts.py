"""What a rule's filters can see of an event: a flat dict of facts, the same for every rule."""

from __future__ import annotations

from typing import Any


def facts_of(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    if event_type == "purchase":
        items = payload.get("items") or []
        return {
            "amount_cents": payload.get("amount_cents"),
            "currency": payload.get("currency"),
            "channel": payload.get("channel"),
            "quantity": sum(int(i.get("quantity", 0)) for i in items),
            "category": sorted({i["category"] for i in items if i.get("category")}),
            "sku": sorted({i["sku"] for i in items if i.get("sku")}),
            "eco": any(i.get("eco") for i in items),
            "eco_quantity": sum(int(i.get("quantity", 0)) for i in items if i.get("eco")),
        }
    if event_type == "eco_action":
        return {key: payload.get(key) for key in ("action", "quantity", "verified", "co2e_g")}
    if event_type == "redemption":
        return {key: payload.get(key) for key in ("reward_id", "kind", "cost_points")}
    attributes = payload.get("attributes")
    return dict(attributes) if isinstance(attributes, dict) else {}
