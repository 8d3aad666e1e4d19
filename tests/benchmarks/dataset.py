"""A history of 1,000,000 executions for the read-API benchmark, loaded once per schema.

`python -m tests.benchmarks.dataset` (with DATABASE_URL set) migrates the database, creates a
few workflows through the services, then fills executions and steps with set-based SQL
(`generate_series`), spread over the last 30 days. A database already loaded for the same
migrations is kept, so a second `make bench` does not pay the load again.
"""

import hashlib
import os
import sys

import django

EXECUTIONS = int(os.environ.get("BENCH_HISTORY_EXECUTIONS", "1000000"))
WORKFLOWS = 4
IN_PROGRESS = 40  # the newest executions are still running, part-way through their steps
# Bumped whenever the rows this module writes change, so `--check` asks for a reload.
VERSION = 2


def _signature() -> str:
    from django.db.migrations.loader import MigrationLoader

    names = sorted(f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations)
    key = f"{VERSION}:{EXECUTIONS}:{','.join(names)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _loaded(signature: str) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('executions_execution'::regclass)")
        (comment,) = cursor.fetchone()
    return comment == f"bench:{signature}"


def _workflows() -> list[str]:
    from flowker.actors import Actor
    from providers.services import provider_config_create
    from workflows.services import workflow_activate, workflow_create_from_template

    actor = Actor.system()
    provider = provider_config_create(
        name="history-fraud",
        provider_id="http",
        config={"base_url": "http://127.0.0.1:9/"},
        actor=actor,
    )
    ids = []
    for number in range(WORKFLOWS):
        workflow = workflow_create_from_template(
            template_id="payment-fraud-check",
            params={
                "workflowName": f"history-{number}",
                "fraudProviderConfigId": str(provider.pk),
                "webhookPath": f"history/{number}",
                "verifyToken": "history-token",
            },
            actor=actor,
        )
        workflow_activate(workflow=workflow, actor=actor)
        ids.append(str(workflow.pk))
    return ids


# Most completed, one in ten failed, one in fifty cancelled, four steps each; the newest few are
# still running (two steps written so far, no completion time).
_EXECUTIONS_SQL = """
INSERT INTO executions_execution (
    id, workflow_id, status, input_data, output_data, error, nodes, edges, total_steps,
    current_step_number, idempotency_key, request_hash, started_at, completed_at, deadline_at,
    dispatched_at, dispatch_count, lease_owner, lease_expires_at
)
SELECT
    gen_random_uuid(),
    (%(workflows)s::uuid[])[1 + n %% %(workflow_count)s],
    CASE WHEN n <= %(in_progress)s THEN 'running'
         WHEN n %% 10 = 0 THEN 'failed' WHEN n %% 50 = 1 THEN 'cancelled' ELSE 'completed' END,
    jsonb_build_object('transactionId', 'h' || n, 'amount', 1500.00),
    CASE WHEN n %% 10 = 0 OR n <= %(in_progress)s THEN NULL ELSE '{"score": 42}'::jsonb END,
    CASE WHEN n %% 10 = 0 AND n > %(in_progress)s
         THEN '{"code": "FLK-0502", "message": "provider answered 500"}'::jsonb END,
    '[]'::jsonb, '[]'::jsonb, 4, CASE WHEN n <= %(in_progress)s THEN 2 ELSE 4 END, NULL, '',
    at, CASE WHEN n > %(in_progress)s THEN at + interval '40 milliseconds' END,
    at + interval '5 minutes', at, 1,
    CASE WHEN n <= %(in_progress)s THEN 'bench-worker' ELSE '' END,
    CASE WHEN n <= %(in_progress)s THEN at + interval '5 minutes' END
FROM (
    SELECT n, now() - (interval '30 days' * n / %(total)s) AS at
    FROM generate_series(1, %(total)s) AS n
) AS history
"""

_STEPS_SQL = """
INSERT INTO executions_executionstep (
    id, execution_id, step_number, node_id, node_type, step_name, status, input, output,
    workflow_updates, error_code, error_message, attempts, call_details, retry_at, started_at,
    completed_at, duration_ms
)
SELECT
    gen_random_uuid(), e.id, s.number, s.node, s.kind, s.node, 'completed', NULL,
    '{"score": 42}'::jsonb, '{}'::jsonb, '', '', '[]'::jsonb, NULL, NULL,
    e.started_at, e.completed_at, 10
FROM executions_execution AS e
CROSS JOIN (
    VALUES (1, 'trigger-payment', 'trigger'), (2, 'check-fraud', 'executor'),
           (3, 'evaluate-score', 'conditional'), (4, 'approve', 'action')
) AS s(number, node, kind)
WHERE e.status <> 'running' OR s.number <= 2
"""


def is_current() -> bool:
    """Whether the database already holds the history for today's migrations."""
    from django.db import DatabaseError

    try:
        return _loaded(_signature())
    except DatabaseError:
        return False


def load() -> None:
    """Migrate an empty database and fill it."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "--noinput", verbosity=0)
    signature = _signature()
    workflows = _workflows()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            _EXECUTIONS_SQL,
            {
                "workflows": workflows,
                "workflow_count": WORKFLOWS,
                "total": EXECUTIONS,
                "in_progress": IN_PROGRESS,
            },
        )
        cursor.execute(_STEPS_SQL)
        # What autovacuum does to a live table: statistics, and the visibility map that lets
        # index-only scans skip the heap.
        cursor.execute("VACUUM (ANALYZE) executions_execution")
        cursor.execute("VACUUM (ANALYZE) executions_executionstep")
        cursor.execute(f"COMMENT ON TABLE executions_execution IS 'bench:{signature}'")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowker.settings")
    django.setup()
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if is_current() else 3)
    load()
