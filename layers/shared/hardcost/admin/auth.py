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
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from hardcost.errors import AccessDeniedError, NotAuthenticatedError
from hardcost.signing_keys import checked_key

ALGORITHM = "HS256"
ISSUER = "hard-cost-sync"  # the identity provider's issuer in production: ADMIN_JWT_ISSUER
MAX_LIFETIME = timedelta(hours=12)  # an admin token's exp - iat, at most
CLOCK_LEEWAY = timedelta(seconds=60)  # the identity provider's clock may run this far ahead of ours
Role = Literal["firm", "operator"]


class AdminClaims(BaseModel):
    """The claims the admin API reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str = Field(min_length=1)
    role: Role
    tenant_id: str | None = None
    tenants: tuple[str, ...] = ()
    iss: str
    exp: StrictInt
    iat: StrictInt
    nbf: StrictInt | None = None

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


def verify_token(token: str, *, key: str | None, audience: str, now: datetime, issuer: str = ISSUER) -> Principal:
    """A token of ours: signed with the key, for this audience and issuer, issued and valid now (by the injected
    clock, within a minute's leeway), living at most ``MAX_LIFETIME``."""
    secret = checked_key(key)
    try:
        # Expiry is checked below against the injected clock, not PyJWT's wall clock.
        decoded: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={
                "require": ["exp", "iat", "iss", "sub", "aud"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        claims = AdminClaims.model_validate(decoded)
    except (jwt.PyJWTError, ValidationError):
        raise NotAuthenticatedError("the token is invalid") from None
    at, leeway = int(now.timestamp()), int(CLOCK_LEEWAY.total_seconds())
    if claims.exp <= at:
        raise NotAuthenticatedError("the token has expired")
    if claims.iat > at + leeway or (claims.nbf is not None and claims.nbf > at + leeway):
        raise NotAuthenticatedError("the token is not valid yet")
    if claims.exp - claims.iat > MAX_LIFETIME.total_seconds():
        raise NotAuthenticatedError("the token lives longer than an admin token may")
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
    issuer: str = ISSUER,
) -> str:
    """For the local stack and tests (in production the identity provider issues tokens)."""
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role,
        "aud": audience,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if tenant_id is not None:
        claims["tenant_id"] = tenant_id
    return jwt.encode(claims, checked_key(key), algorithm=ALGORITHM)
