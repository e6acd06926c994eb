"""What the admin function reads from its environment beyond ``hardcost.config.Settings``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from hardcost.config import parse_environment

QBO_ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


class AdminSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # Intuit's consent page; the local stack points it at the QBO simulator.
    QBO_AUTHORIZE_URL: Annotated[str, Field(min_length=1)] = "https://appcenter.intuit.com/connect/oauth2"
    # Where the browser reaches this API (for the OAuth redirect URIs); derived from the request when unset.
    ADMIN_PUBLIC_URL: str | None = None
    # HS256 key for admin tokens and onboarding state; unset in AWS, where the app secret holds it.
    ADMIN_JWT_SECRET: str | None = Field(default=None, repr=False)
    ADMIN_JWT_AUDIENCE: Annotated[str, Field(min_length=1)] = "hard-cost-sync-admin"
    OAUTH_STATE_SECONDS: Annotated[int, Field(ge=60, le=3600)] = 600


def parse_admin_settings(environ: Mapping[str, str]) -> AdminSettings:
    return parse_environment(AdminSettings, environ)


@cache
def get_admin_settings() -> AdminSettings:
    return parse_admin_settings(os.environ)
