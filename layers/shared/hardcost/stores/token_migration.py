"""Moving a firm's tokens out of its legacy Secrets Manager secret (``hardcost/<stage>/tenants/<id>``, one per firm
before issue 14) into the token vault, on first read or by ``python -m hardcost.cli migrate-tokens``.

A tenant with a TOKENS item is read from it alone. One without is looked up in its legacy secret: when there is
one, its tokens are written as the item's first version on condition that no item exists yet, then the secret is
deleted. The condition settles every race with another worker doing the same or refreshing meanwhile: whoever
writes the item first wins and everyone else reads it, so a secret read before a refresh never overwrites the
rotated token the refresh wrote. A secret found gone is looked for once more in the vault, where the worker that
moved it put it. ``delete`` (disconnect) removes the item and any legacy secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from hardcost.errors import StoreError, SyncError, TokensChangedError
from hardcost.models.secrets import TenantCredentials, VersionedCredentials
from hardcost.stores.aws_errors import AWS_ERRORS, NOT_FOUND, error_code, translate
from hardcost.stores.ports import TokenVault

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any

Migration = Literal[
    "moved",
    "would_move",
    "already_moved",
    "left_over_secret_deleted",
    "would_delete_left_over_secret",
    "nothing_to_move",
]
OUTCOMES: dict[bool, tuple[Migration, ...]] = {  # by dry_run
    False: ("moved", "left_over_secret_deleted", "already_moved", "nothing_to_move"),
    True: ("would_move", "would_delete_left_over_secret", "already_moved", "nothing_to_move"),
}


class LegacyTokenSecrets:
    """The legacy tenant secrets, read and deleted only (nothing creates them any more)."""

    def __init__(self, secrets: SecretsManagerClient, secret_prefix: str) -> None:
        self._secrets = secrets
        self._prefix = secret_prefix
        self.reads = 0
        self.deletes = 0

    def name(self, tenant_id: str) -> str:
        return f"{self._prefix}tenants/{tenant_id}"

    def read(self, tenant_id: str) -> TenantCredentials | None:
        """The tokens of the tenant's legacy secret; None when it has none."""
        self.reads += 1
        try:
            value = self._secrets.get_secret_value(SecretId=self.name(tenant_id))
        except AWS_ERRORS as exc:
            if error_code(exc) == NOT_FOUND:
                return None
            raise translate(exc, "Secrets Manager", "read of a legacy tenant secret") from None
        try:
            return TenantCredentials.model_validate_json(value.get("SecretString") or "{}")
        except ValidationError:
            raise StoreError(f"the legacy secret of tenant {tenant_id} does not hold tokens") from None

    def delete(self, tenant_id: str) -> None:
        self.deletes += 1
        try:
            self._secrets.delete_secret(SecretId=self.name(tenant_id), ForceDeleteWithoutRecovery=True)
        except AWS_ERRORS as exc:
            if error_code(exc) != NOT_FOUND:
                raise translate(exc, "Secrets Manager", "delete of a legacy tenant secret") from None


class MigratingTokenVault:
    """A ``TokenVault`` over the vault proper that moves a tenant's legacy secret in when it first reads it."""

    def __init__(self, vault: TokenVault, legacy: LegacyTokenSecrets) -> None:
        self._vault = vault
        self.legacy = legacy

    def read(self, tenant_id: str) -> VersionedCredentials:
        found = self._vault.read(tenant_id)
        return found if found.version else self._move(tenant_id)

    def write(self, tenant_id: str, credentials: TenantCredentials, *, expected_version: int) -> VersionedCredentials:
        return self._vault.write(tenant_id, credentials, expected_version=expected_version)

    def delete(self, tenant_id: str) -> None:
        self._vault.delete(tenant_id)
        self.legacy.delete(tenant_id)

    def migrate(self, tenant_id: str, *, dry_run: bool = False) -> Migration:
        """What the operator's ``migrate-tokens`` does for one tenant (or, with ``dry_run``, would do)."""
        if self._vault.read(tenant_id).version:
            if self.legacy.read(tenant_id) is None:
                return "already_moved"
            if dry_run:
                return "would_delete_left_over_secret"
            self.legacy.delete(tenant_id)
            return "left_over_secret_deleted"
        if dry_run:
            return "would_move" if self.legacy.read(tenant_id) is not None else "nothing_to_move"
        return "moved" if self._move(tenant_id).version else "nothing_to_move"

    def _move(self, tenant_id: str) -> VersionedCredentials:
        legacy = self.legacy.read(tenant_id)
        if legacy is None:
            # No secret (never connected, or disconnected), or another worker moved it since our first read.
            return self._vault.read(tenant_id)
        try:
            moved = self._vault.write(tenant_id, legacy, expected_version=0)
        except TokensChangedError:
            # Another worker wrote the item first (moved the secret, or refreshed since): the item wins.
            moved = self._vault.read(tenant_id)
        self.legacy.delete(tenant_id)
        return moved


def migrate_all(vault: MigratingTokenVault, tenant_ids: Iterable[str], *, dry_run: bool = False) -> dict[str, Any]:
    """``migrate`` for each tenant: the tenants by outcome, and those that failed with their error (which names
    the tenant and the failure, never a token). One tenant's failure does not stop the others."""
    report: dict[str, Any] = {"dry_run": dry_run, **{outcome: [] for outcome in OUTCOMES[dry_run]}, "failed": {}}
    for tenant_id in tenant_ids:
        try:
            report[vault.migrate(tenant_id, dry_run=dry_run)].append(tenant_id)
        except SyncError as exc:
            report["failed"][tenant_id] = f"{type(exc).__name__}: {exc}"
    return report
