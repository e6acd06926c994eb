"""Who is calling the admin API, and may they reach this tenant?

A bearer JWT (HS256 here, keyed by the app secret's ``admin_jwt_secret``) carries ``sub``, ``role``
(``firm`` or ``operator``) and the firm's ``tenant_id`` (or a ``tenants`` list). A firm user reaches only
its own tenants; an operator reaches all. Expiry is checked against the injected clock, so the local stack's
simulated time and a Lambda's wall time are treated alike. In production an HTTP API JWT authorizer
(RS256, the identity provider's JWKS) can verify the signature first; this check still runs behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hardcost.errors import AccessDeniedError, NotAuthenticatedError
from hardcost.signing_keys import checked_key

ALGORITHM = "HS256"
Role = Literal["firm", "operator"]


class AdminClaims(BaseModel):
    """The claims the admin API reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str = Field(min_length=1)
    role: Role
    tenant_id: str | None = None
    tenants: tuple[str, ...] = ()
    exp: int

    @model_validator(mode="after")
    def _firm_names_its_tenant(self) -> AdminClaims:
        if self.role == "firm" and not (self.tenant_id or self.tenants):
            raise ValueError("a firm token needs tenant_id or tenants")
        return self


class Principal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    role: Role
    tenants: frozenset[str]

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def require_tenant(self, tenant_id: str) -> None:
        if not self.is_operator and tenant_id not in self.tenants:
            raise AccessDeniedError("this token may not reach that tenant")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise AccessDeniedError("operators only")


def bearer_token(headers: dict[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticatedError("a bearer token is required")
    return token.strip()


def verify_token(token: str, *, key: str | None, audience: str, now: datetime) -> Principal:
    secret = checked_key(key)
    try:
        # Expiry is checked below against the injected clock, not PyJWT's wall clock.
        decoded: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": ["exp", "sub", "aud"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        claims = AdminClaims.model_validate(decoded)
    except (jwt.PyJWTError, ValidationError):
        raise NotAuthenticatedError("the token is invalid") from None
    if claims.exp <= int(now.timestamp()):
        raise NotAuthenticatedError("the token has expired")
    tenants = frozenset([*claims.tenants, *([claims.tenant_id] if claims.tenant_id else [])])
    return Principal(subject=claims.sub, role=claims.role, tenants=tenants)


def issue_token(
    *,
    key: str | None,
    audience: str,
    subject: str,
    role: Role,
    now: datetime,
    tenant_id: str | None = None,
    lifetime: timedelta = timedelta(hours=1),
) -> str:
    """For the local stack and tests (in production the identity provider issues tokens)."""
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if tenant_id is not None:
        claims["tenant_id"] = tenant_id
    return jwt.encode(claims, checked_key(key), algorithm=ALGORITHM)
