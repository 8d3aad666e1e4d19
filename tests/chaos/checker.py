"""The checker of `make chaos`: every request sent is looked up in the database by its
`Idempotency-Key`, and every provider call the stub logged is matched with the attempts the
engine recorded for that step.

- accepted: answered 2xx, plus executions that exist for a request whose answer never came
  (a client timeout during an outage may still have committed);
- lost: accepted but not terminal (or, answered 2xx, with no execution row at all);
- duplicate_calls: per step (`<executionId>:<nodeId>`, the Idempotency-Key the engine sends),
  provider calls beyond the attempts recorded on the step;
- http_500: any 5xx other than a 503 (a 503 must be FLK-0006 with Retry-After: a refusal).

It reads through any DB-API cursor (psycopg in the program, Django's in the tests).
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

TERMINAL = ("completed", "failed", "cancelled")
SLOW_ANSWER_S = 5.0


@dataclass
class Sent:
    key: str  # the request's Idempotency-Key
    status: int  # 0 when no answer came (connection error, client timeout)
    code: str = ""  # the FLK code of an error answer
    retry_after: bool = False
    latency_s: float = 0.0
    execution_id: str | None = None
    at: float = 0.0  # epoch when it was sent


def calls_by_step(calls: list[list]) -> Counter:
    """The stub's log ([epoch, mode, idempotency key], ...) counted by Idempotency-Key."""
    return Counter(key for _, _, key in calls if key)


def executions_for(cursor: Any, keys: list[str]) -> dict[str, tuple]:
    """{idempotency key: (id, status, error code, epoch completed)} of the executions."""
    if not keys:
        return {}
    cursor.execute(
        "SELECT idempotency_key, id::text, status, error->>'code', "
        "extract(epoch FROM completed_at)::float8 FROM executions_execution "
        "WHERE idempotency_key = ANY(%s::text[])",
        [keys],
    )
    return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def attempts_for(cursor: Any, execution_ids: list[str]) -> dict[str, int]:
    """{'<executionId>:<nodeId>': attempts recorded} of the executions' steps."""
    if not execution_ids:
        return {}
    cursor.execute(
        "SELECT execution_id::text || ':' || node_id, jsonb_array_length(attempts) "
        "FROM executions_executionstep WHERE execution_id = ANY(%s::uuid[])",
        [execution_ids],
    )
    return {key: count for key, count in cursor.fetchall()}


def duplicate_calls(calls: Counter, attempts: dict[str, int], execution_ids: set[str]) -> dict:
    """Calls beyond the recorded attempts, per step, for the given executions."""
    extra = {}
    for key, count in calls.items():
        execution_id = key.split(":", 1)[0]
        if execution_id in execution_ids and count > attempts.get(key, 0):
            extra[key] = count - attempts.get(key, 0)
    return extra


def _refusal(sent: Sent) -> str:
    if sent.status == 0:
        return "no answer"
    return f"{sent.status} {sent.code}".strip()


def check(cursor: Any, sent: list[Sent], calls: Counter) -> dict[str, Any]:
    rows = executions_for(cursor, [s.key for s in sent])
    answered = {s.key for s in sent if 200 <= s.status < 300}
    accepted = answered | {s.key for s in sent if s.key in rows}
    ids = {rows[key][0] for key in accepted if key in rows}
    extra = duplicate_calls(calls, attempts_for(cursor, sorted(ids)), ids)
    refused = Counter(_refusal(s) for s in sent if not 200 <= s.status < 300)
    failed = Counter(
        rows[key][2] or "?" for key in accepted if key in rows and rows[key][1] == "failed"
    )
    lost = sorted(key for key in accepted if key not in rows or rows[key][1] not in TERMINAL)
    finished = [rows[key][3] for key in accepted if key in rows and rows[key][3] is not None]
    return {
        "sent": len(sent),
        "accepted": len(accepted),
        "accepted_without_answer": len(accepted - answered),
        "refused": dict(sorted(refused.items())),
        "completed": sum(1 for key in accepted if key in rows and rows[key][1] == "completed"),
        "failed": dict(sorted(failed.items())),
        "cancelled": sum(1 for key in accepted if key in rows and rows[key][1] == "cancelled"),
        "lost": len(lost),
        "duplicate_calls": sum(extra.values()),
        "http_500": sum(1 for s in sent if s.status >= 500 and s.status != 503),
        "refusals_without_retry_after": sum(
            1 for s in sent if s.status == 503 and not (s.code == "FLK-0006" and s.retry_after)
        ),
        "answers_over_5s": sum(1 for s in sent if s.latency_s > SLOW_ANSWER_S),
        "examples": {
            "lost": [
                {"key": key, "execution": rows.get(key, (None, "no row"))[0],
                 "status": rows.get(key, (None, "no row"))[1]}
                for key in lost[:5]
            ],
            "duplicate_steps": dict(list(extra.items())[:5]),
        },
        "last_completed_epoch": max(finished) if finished else None,
    }  # fmt: skip
