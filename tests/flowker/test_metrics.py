"""`/metrics`: access, the multiprocess exposition, beat's gauges, and the shipped alert rules
and dashboard (which must name only metrics Flowker exports)."""

import datetime
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from executions.models import Execution
from executions.tasks import refresh_gauges
from flowker import metrics
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from flowker.audit.tasks import checkpoint
from tests.factories import (
    guide_workflow,
    make_audit_event,
    make_provider_config,
    with_webhook,
)
from workflows.services import workflow_create

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "flowker.json"


def scrape(client, **headers) -> dict[str, float]:
    """{'name{label="v",…}': value} of every sample the node exports."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_metrics_are_open_without_a_token(anon_client, settings):
    settings.FLOWKER_METRICS_TOKEN = ""
    anon_client.get("/health")
    assert any(name.startswith("django_http_requests") for name in scrape(anon_client))


def test_metrics_need_the_bearer_token_once_it_is_set(anon_client, settings):
    settings.FLOWKER_METRICS_TOKEN = "scrape-secret-1"
    missing = anon_client.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["code"] == "UNAUTHORIZED"
    assert missing["WWW-Authenticate"] == "Bearer"
    wrong = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-2")
    assert wrong.status_code == 401
    assert scrape(anon_client, HTTP_AUTHORIZATION="Bearer scrape-secret-1")


def test_samples_written_by_any_process_of_the_node_are_exported(anon_client):
    before = scrape(anon_client).get(
        'flowker_retries_scheduled_total{provider_config="metrics-probe"}', 0
    )
    metrics.RETRIES_SCHEDULED.labels("metrics-probe").inc()
    # Another process of the node: a separate interpreter writing to the same folder.
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from flowker import metrics; "
         "metrics.RETRIES_SCHEDULED.labels('metrics-probe').inc(2)"],
        check=True, cwd=REPO,
    )  # fmt: skip
    after = scrape(anon_client)['flowker_retries_scheduled_total{provider_config="metrics-probe"}']
    assert after - before == 3


@pytest.mark.django_db
def test_beat_refresh_publishes_the_backlog_and_the_oldest_pending_age(anon_client):

    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    now = timezone.now()

    def execution(status, started_ago, **fields):
        row = Execution.objects.create(
            workflow=workflow,
            status=status,
            deadline_at=now + datetime.timedelta(minutes=5),
            **fields,
        )
        Execution.objects.filter(pk=row.pk).update(
            started_at=now - datetime.timedelta(seconds=started_ago)
        )

    execution("pending", 42)
    execution("pending", 3)
    execution("running", 1, lease_owner="w1", lease_expires_at=now + datetime.timedelta(seconds=60))
    execution("running", 1, lease_owner="", lease_expires_at=now + datetime.timedelta(seconds=9))
    execution("completed", 500)

    refresh_gauges()

    samples = scrape(anon_client)
    assert samples['flowker_backlog_executions{status="pending"}'] == 2
    assert samples['flowker_backlog_executions{status="running"}'] == 1
    assert samples['flowker_backlog_executions{status="waiting_retry"}'] == 1
    assert 42 <= samples["flowker_oldest_pending_seconds{}"] < 60
    assert samples["flowker_worker_heartbeat_timestamp_seconds{}"] > now.timestamp() - 5


@pytest.mark.django_db
def test_audit_verification_stamps_an_intact_chain_and_flags_a_broken_one(anon_client):
    make_audit_event()
    make_audit_event(metadata={"n": 2})
    assert checkpoint() is True
    samples = scrape(anon_client)
    assert samples["flowker_audit_chain_broken{}"] == 0
    stamped = samples["flowker_audit_chain_verified_timestamp_seconds{}"]
    assert stamped > timezone.now().timestamp() - 5

    from django.db import connection

    latest = AuditEvent.objects.order_by("-id").first()
    with connection.cursor() as cursor:  # tamper below the application, as an attacker would
        cursor.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE audit_events SET metadata = '{\"n\": 99}' WHERE id = %s", [latest.id]
        )
        cursor.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    assert checkpoint() is False
    samples = scrape(anon_client)
    assert samples["flowker_audit_chain_broken{}"] == 1
    assert samples["flowker_audit_chain_verified_timestamp_seconds{}"] == stamped


def _exported_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            names.add(family.name)
            for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
                names.add(family.name + suffix)
    return names


def _referenced(expression: str) -> set[str]:
    return set(re.findall(r"\bflowker_[a-z_]+\b", expression))


def test_alert_rules_and_dashboard_name_only_exported_metrics():
    exported = _exported_names()
    expressions = re.findall(r"expr: (?:\|\n)?((?:.*\n)+?)(?=\s+for:)", ALERTS.read_text())
    dashboard = json.loads(DASHBOARD.read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 15
    for expression in expressions:
        assert _referenced(expression) <= exported, expression


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_alert_rules_pass_promtool():
    checked = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout


@pytest.mark.django_db
def test_webhook_answers_are_counted_by_route_and_outcome(client_api, anon_client, settings):
    settings.FLOWKER_MAX_INPUT_BYTES = 1024 * 1024
    provider = make_provider_config()
    body = with_webhook(guide_workflow(provider.pk), path="metrics/hook", verify_token="hook-token")
    created = client_api.post("/v1/workflows", body, format="json")
    assert created.status_code == 201, created.content
    workflow_id = created.json()["workflowId"]
    assert client_api.post(f"/v1/workflows/{workflow_id}/activate").status_code == 200
    route = 'route="POST /metrics/hook"'
    before = scrape(anon_client)

    def send(data, **headers):
        return anon_client.post(
            "/v1/webhooks/metrics/hook", data, content_type="application/json", **headers
        )

    token = {"HTTP_X_WEBHOOK_TOKEN": "hook-token"}
    assert send('{"amount": 1}', HTTP_IDEMPOTENCY_KEY="k1", **token).status_code == 201
    assert send('{"amount": 1}', HTTP_IDEMPOTENCY_KEY="k1", **token).status_code == 200
    assert send('{"amount": 1}', HTTP_X_WEBHOOK_TOKEN="wrong").status_code == 401
    assert send("{not json", **token).status_code == 400
    assert send("x" * (1024 * 1024 + 1), **token).status_code == 413
    assert anon_client.post("/v1/webhooks/nowhere", "{}", content_type="application/json")
    after = scrape(anon_client)

    def moved(labels):
        key = f"flowker_webhook_requests_total{{{labels}}}"
        return after.get(key, 0) - before.get(key, 0)

    assert moved(f'outcome="accepted",{route}') == 1
    assert moved(f'outcome="replayed",{route}') == 1
    assert moved(f'outcome="unauthorized",{route}') == 1
    assert moved(f'outcome="invalid_body",{route}') == 1
    assert moved('outcome="too_large",route="unmatched"') == 1
    assert moved('outcome="unauthorized",route="unmatched"') == 1
