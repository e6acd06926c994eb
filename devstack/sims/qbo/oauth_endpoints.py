"""Intuit's OAuth endpoints as the simulator serves them: the OpenID discovery document, the token endpoint, the
consent redirect, revocation."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from devstack.sims.http.server import Request
from devstack.sims.qbo import responses
from devstack.sims.qbo.oauth import TokenStore
from devstack.sims.qbo.responses import Reply

# Where Intuit serves its discovery documents (intuit-oauth's DISCOVERY_URL, qbo-api.md §5); intuit-oauth asks for
# them with a trailing slash
DISCOVERY_PATHS = frozenset(
    f"/.well-known/{name}{slash}"
    for name in ("openid_configuration", "openid_sandbox_configuration")
    for slash in ("", "/")
)
JWKS_PATH = "/op/v1/jwks"
USERINFO_PATH = "/v1/openid_connect/userinfo"


def discovery_document(base_url: str) -> dict[str, Any]:
    """fixtures/qbo/oauth_openid_discovery_dotnet_sdk_test.json, key for key, each endpoint moved to this host on
    Intuit's path. Sandbox and production documents are the same here: one host plays both [ours]."""
    return {
        "issuer": f"{base_url}/op/v1",
        "authorization_endpoint": f"{base_url}/connect/oauth2",
        "token_endpoint": f"{base_url}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base_url}{USERINFO_PATH}",
        "revocation_endpoint": f"{base_url}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{base_url}{JWKS_PATH}",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


class OAuthEndpoints:
    def __init__(self, tokens: TokenStore, client_id: str, client_secret: str, lock: threading.RLock) -> None:
        self._tokens = tokens
        self._client_id = client_id
        self._client_secret = client_secret
        self._lock = lock
        # The company a user is "signed in" to for GET /connect/oauth2; None -> 501.
        self._authorizing_realm: str | None = None

    def set_authorizing_realm(self, realm_id: str | None) -> None:
        with self._lock:
            self._authorizing_realm = realm_id

    def _client_ok(self, req: Request, form: Mapping[str, list[str]]) -> bool:
        auth = req.header("Authorization") or ""
        scheme, _, encoded = auth.partition(" ")
        if scheme.casefold() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            # client_secret_post is also listed by Intuit's discovery document
            client_id = (form.get("client_id") or [""])[0]
            secret = (form.get("client_secret") or [""])[0]
        return client_id == self._client_id and secret == self._client_secret

    def openid(self, req: Request) -> Reply:
        """The discovery document, the (empty) key set and the userinfo endpoint: the simulator issues no ID
        tokens, so it signs nothing and knows no user."""
        if req.path == JWKS_PATH:
            return Reply(200, responses.dumps({"keys": []}))
        if req.path == USERINFO_PATH:
            return Reply(501, b"userinfo not simulated: the simulator issues no ID tokens", "text/plain")
        return Reply(200, responses.dumps(discovery_document(req.base_url)))

    def token(self, req: Request) -> Reply:
        if req.method != "POST":
            return responses.oauth_error(405, "invalid_request")
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        if not self._client_ok(req, form):
            return responses.oauth_error(401, "invalid_client")
        include_hard = (req.header("x-include-refresh-token-hard-expires-in") or "").strip().lower() == "true"
        grant_type = (form.get("grant_type") or [""])[0]
        if grant_type == "refresh_token":
            token = (form.get("refresh_token") or [""])[0]
            if not token:
                return responses.oauth_error(400, "invalid_request")
            issued = self._tokens.refresh(token, include_hard)
        elif grant_type == "authorization_code":
            code = (form.get("code") or [""])[0]
            if not code:
                return responses.oauth_error(400, "invalid_request")
            redirect_uri = form["redirect_uri"][0] if form.get("redirect_uri") else None
            issued = self._tokens.exchange_code(code, redirect_uri, include_hard)
        else:
            return responses.oauth_error(400, "unsupported_grant_type")
        if issued is None:
            # exact body of fixtures/qbo/oauth_token_error_invalid_grant_jsclient_mock.json
            return responses.oauth_error(400, "invalid_grant", "Token invalid")
        return Reply(200, responses.dumps(issued))

    def authorize(self, req: Request) -> Reply:
        with self._lock:
            realm_id = self._authorizing_realm
        if realm_id is None:
            text = b"authorize page not simulated; use QboSimulator.issue_authorization_code()"
            return Reply(501, text, "text/plain")
        redirect_uri = req.param("redirect_uri")
        if req.param("client_id") != self._client_id:
            return responses.oauth_error(401, "invalid_client")
        if req.param("response_type") != "code" or not redirect_uri:
            return responses.oauth_error(400, "invalid_request")
        code = self._tokens.new_authorization_code(realm_id, redirect_uri)
        # Intuit appends code, state and realmId to the redirect URI (qbo-api.md §5)
        answer = {"code": code, "realmId": realm_id} | ({"state": state} if (state := req.param("state")) else {})
        separator = "&" if "?" in redirect_uri else "?"
        return Reply(302, b"", "text/plain", headers={"Location": f"{redirect_uri}{separator}{urlencode(answer)}"})

    def revoke(self, req: Request) -> Reply:
        if req.method != "POST":
            return responses.oauth_error(405, "invalid_request")
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        if not self._client_ok(req, form):
            return responses.oauth_error(401, "invalid_client")
        token = (form.get("token") or [""])[0]
        if not token:
            try:
                parsed = _json_object(req.body)
            except ValueError:
                return responses.oauth_error(400, "invalid_request")
            token = str(parsed.get("token") or "")
        if not token:
            return responses.oauth_error(400, "invalid_request")
        # unknown tokens also get 200 (RFC 7009 §2.2); Intuit's own behaviour for them is not recorded
        self._tokens.revoke(token)
        return Reply(200, b"")


def _json_object(body: bytes) -> dict[str, Any]:
    parsed = json.loads(body.decode("utf-8") or "{}")
    if not isinstance(parsed, dict):
        raise ValueError("expected a JSON object")
    return parsed
