"""Who may call the API besides customers: marketers (people) and API keys (shop tills, e-shops, CRMs)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Marketer(Model):
    id = fields.UUIDField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200)
    display_name = fields.CharField(max_length=80, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    # Disabled marketers are refused at once, whatever tokens they hold (`tessera disable-marketer`).
    disabled_at = fields.DatetimeField(null=True)
    # Bumped to revoke every access token issued before (logoutEverywhere, disabling).
    token_version = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "marketer"


class ApiKey(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80)
    # The namespace of the idempotency keys this key sends; a rotated key with the same name keeps it.
    source = fields.CharField(max_length=80)
    prefix = fields.CharField(max_length=16)
    # sha256 of the whole key: keys are random 256-bit secrets, so a slow password hash buys nothing here.
    key_hash = fields.CharField(max_length=64, unique=True)
    scopes: fields.Field[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class AuthSession(Model):
    """One refresh token of a signed-in customer or marketer, stored hashed.

    A refresh token is used once: refreshing marks it used and issues the next one of the same `family` (the
    session). Presenting a used token again means it was copied: the whole family is revoked.
    """

    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.UUIDField(db_index=True)
    subject_id = fields.UUIDField(db_index=True)
    role = fields.CharField(max_length=16)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_session"
