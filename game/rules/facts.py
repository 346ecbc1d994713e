"""What a rule's filters can see of an event: a flat dict of facts, the same for every rule.

Every event has `verified`: true when a till, a partner or the platform recorded it (purchases, refunds,
verified eco actions), false when the customer declared it (trackEvent, declared eco actions). A customer's
own attributes cannot claim it.
"""

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
            "verified": True,
        }
    if event_type == "eco_action":
        facts = {key: payload.get(key) for key in ("action", "quantity", "co2e_g")}
        return facts | {"verified": payload.get("verified") is True}
    if event_type == "redemption":
        return {key: payload.get(key) for key in ("reward_id", "kind", "cost_points")} | {"verified": True}
    attributes = payload.get("attributes")
    if "attributes" not in payload:  # recorded by the platform (a refund, a qualified referral)
        return {key: value for key, value in payload.items() if key != "verified"} | {"verified": True}
    return (dict(attributes) if isinstance(attributes, dict) else {}) | {"verified": False}
