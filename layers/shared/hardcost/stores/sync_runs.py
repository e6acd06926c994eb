"""Runs a person asked for ("Sync now", Retry), one item each under the tenant (``RUN#<id>``, gone after a day):
the record as started, the poll's outcome set once it ran, and the mapper's tallies added per message (``ADD``,
so workers never overwrite each other's counts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.models.records import RUN_TALLIES, SyncRunRecord
from hardcost.stores import aws_errors, keys
from hardcost.stores.items import Items, translate

RUN_KEPT = timedelta(days=1)


class SyncRunStore(Items):
    def start(self, run: SyncRunRecord) -> None:
        expires = int((run.requested_at + RUN_KEPT).timestamp())
        self._put(keys.tenant_pk(run.tenant_id), keys.run_sk(run.run_id), run, expires_at=expires)

    def polled(self, tenant_id: str, run_id: str, *, at: datetime, outcome: str, enqueued: int, detail: str) -> None:
        self._update(
            tenant_id,
            run_id,
            "SET polled_at = :at, outcome = :o, enqueued = :n, detail = :d",
            {":at": at.isoformat(), ":o": outcome, ":n": enqueued, ":d": detail},
        )

    def tally(self, tenant_id: str, run_id: str, counts: Mapping[str, int]) -> None:
        added = {name: n for name, n in counts.items() if name in RUN_TALLIES and n}
        if not added:
            return
        expression = "ADD " + ", ".join(f"tally_{name} :{name}" for name in added)
        self._update(tenant_id, run_id, expression, {f":{name}": n for name, n in added.items()})

    def _update(self, tenant_id: str, run_id: str, expression: str, values: dict[str, Any]) -> None:
        self.operations += 1
        try:
            self._table.update_item(
                Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.run_sk(run_id)},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            if aws_errors.condition_failed(exc):
                return  # expired or never started: nothing to follow
            raise translate(exc, "run update") from None

    def get(self, tenant_id: str, run_id: str) -> SyncRunRecord | None:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.run_sk(run_id)}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "run read") from None
        if not item or "data" not in item:
            return None
        started = SyncRunRecord.model_validate(item["data"])
        update: dict[str, Any] = {
            "tallies": {name: int(str(item[f"tally_{name}"])) for name in RUN_TALLIES if f"tally_{name}" in item}
        }
        if "outcome" in item:
            update |= {
                "polled_at": datetime.fromisoformat(str(item["polled_at"])),
                "outcome": str(item["outcome"]),
                "enqueued": int(str(item["enqueued"])),
                "detail": str(item.get("detail", "")),
            }
        return SyncRunRecord.model_validate({**started.model_dump(), **update})
