"""Who may call a field, declared beside it: `permission_classes=[IsCustomer]`."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from game.access.errors import AccessReason
from game.access.viewer import Role, Scope
from game.errors import DomainError, ErrorCode
from schema.context import Info


def _require(info: Info, role: Role, what: str) -> None:
    context = info.context
    if context.viewer.role is role:
        return
    if context.viewer.role is Role.ANONYMOUS:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED,
            context.auth_error or f"this needs {what}",
            reason=context.auth_reason or AccessReason.CREDENTIALS_REQUIRED,
        )
    raise DomainError(ErrorCode.FORBIDDEN, f"this needs {what}", reason=AccessReason.WRONG_ROLE)


class IsCustomer(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require(info, Role.CUSTOMER, "a signed-in customer")
        return True


class IsMarketer(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require(info, Role.MARKETER, "a signed-in marketer")
        return True


class IsSignedIn(BasePermission):
    """A customer or a marketer: a person with a session."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.viewer.role not in (Role.CUSTOMER, Role.MARKETER):
            _require(info, Role.CUSTOMER, "a signed-in customer or marketer")
        return True


def _require_scope(info: Info, scope: Scope) -> None:
    _require(info, Role.SERVICE, "an API key (X-API-Key header)")
    if scope.value not in info.context.viewer.scopes:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"this API key lacks the '{scope.value}' scope",
            reason=AccessReason.MISSING_SCOPE,
        )


class CanRecordPurchases(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_scope(info, Scope.PURCHASES)
        return True


class CanRecordEcoActions(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_scope(info, Scope.ECO)
        return True


class CanRedeemCoupons(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _require_scope(info, Scope.REWARDS)
        return True
