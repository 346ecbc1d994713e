from __future__ import annotations

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.models import Model


class Customer(Model):
    id = fields.UUIDField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200)
    display_name = fields.CharField(max_length=80)
    locale = fields.CharField(max_length=16, default="en")
    timezone = fields.CharField(max_length=64, default="UTC")
    # Set by marketers or the CRM; challenges can target customers by tag.
    # db_default: the column arrived after customers did, and existing rows need a value.
    tags: fields.Field[list[str]] = fields.JSONField(default=list, db_default=SqlDefault("'[]'"))
    created_at = fields.DatetimeField(auto_now_add=True)
    # Bumped to revoke every access token issued before (logoutEverywhere).
    token_version = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "customer"
