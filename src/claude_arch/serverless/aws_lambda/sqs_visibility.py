"""Hand SQS records back with a delay: their visibility timeout set from the API's ``retry-after``.

A record reported in ``batchItemFailures`` becomes visible again when the queue's visibility
timeout (set for the function's whole batch, often minutes) runs out: too late after a 529 that
asked for 10 s, too early for a 429 whose window resets in 50 s. Before the handler returns, each
handed-back record's visibility is set to its own delay (``ChangeMessageVisibilityBatch``, ten
at a time), the way AWS documents for backoff with partial batch responses.

The SQS client (boto3, which the Lambda runtime provides) is built on the first throttled
record of an execution environment, not on its cold start. A failure to change the visibility is
logged and changes nothing else: the records are still reported and come back after the queue's
own timeout. The function's role needs ``sqs:ChangeMessageVisibility`` and ``sqs:GetQueueUrl``
on the queue (``deploy/aws-lambda/template.yaml`` grants them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["QueueVisibility", "queue_of"]

_log = logging.getLogger("claude_arch.serverless")
_BATCH = 10  # ChangeMessageVisibilityBatch takes at most ten entries


def queue_of(arn: str) -> tuple[str, str, str]:
    """(region, account, queue name) of an SQS queue ARN.

    >>> queue_of("arn:aws:sqs:us-east-1:123456789012:claude-arch-jobs")
    ('us-east-1', '123456789012', 'claude-arch-jobs')
    """
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn!r}")
    return parts[3], parts[4], parts[5]


class QueueVisibility:
    """Sets how long handed-back records stay invisible; one SQS client per region, reused."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _client(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                import boto3  # type: ignore[import-untyped]  # on the first throttled record only

                client = boto3.client("sqs", region_name=region)
                self._clients[region] = client
            return client

    def _url(self, client: Any, arn: str) -> str:
        url = self._urls.get(arn)
        if url is None:
            _, account, name = queue_of(arn)
            url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._urls[arn] = url
        return url

    def delay(self, records: Sequence[tuple[str, str, str, int]]) -> int:
        """Make each ``(queue ARN, message id, receipt handle, seconds)`` record visible again in
        its seconds; returns how many were changed (failures are logged, not raised)."""
        changed = 0
        by_queue: dict[str, list[tuple[str, str, int]]] = {}
        for arn, message_id, receipt, seconds in records:
            by_queue.setdefault(arn, []).append((message_id, receipt, seconds))
        for arn, entries in by_queue.items():
            try:
                client = self._client(queue_of(arn)[0])
                url = self._url(client, arn)
                for start in range(0, len(entries), _BATCH):
                    chunk = entries[start : start + _BATCH]
                    answer = client.change_message_visibility_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
                            for i, (_, receipt, seconds) in enumerate(chunk)
                        ],
                    )
                    changed += len(answer.get("Successful", []))
                    for failed in answer.get("Failed", []):
                        _log.warning(
                            "visibility not changed",
                            extra={
                                "message_id": chunk[int(failed["Id"])][0],
                                "code": failed.get("Code"),
                            },
                        )
            except Exception as exc:  # the records still go back, after the queue's own timeout
                _log.warning("visibility not changed: %s", type(exc).__name__, extra={"queue": arn})
        return changed
