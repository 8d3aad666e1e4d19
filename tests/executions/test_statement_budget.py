"""How many SQL statements one execution of the guide's payment workflow costs, webhook request
and worker run together (issue 15: at most 15, audit and idempotency included). Pinned so a
change that adds round trips on the hot path shows up here, not only in `make bench`."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.engine import runner
from executions.models import Execution
from flowker.actors import Actor
from tests.support.stub_server import StubResponse, stub_server  # noqa: F401 - a fixture
from workflows.services import workflow_activate, workflow_create_from_template

TOKEN = "budget-token"
# Every statement the web request and the worker send for one execution (BEGIN/COMMIT included:
# Django reports the transaction boundaries it opens through savepoints only, so they are
# counted from the atomic blocks below).
STATEMENT_BUDGET = 15


@pytest.fixture
def payment_workflow(db, stub_server):  # noqa: F811
    from providers.services import provider_config_create

    stub_server.on(
        "POST", "/score-transaction", StubResponse(200, {"score": 12, "decision": "approve"})
    )
    actor = Actor.system()
    provider = provider_config_create(
        name="budget-fraud",
        provider_id="http",
        config={"base_url": stub_server.url_for("")},
        actor=actor,
    )
    workflow = workflow_create_from_template(
        template_id="payment-fraud-check",
        params={
            "workflowName": "budget-payments",
            "fraudProviderConfigId": str(provider.pk),
            "verifyToken": TOKEN,
        },
        actor=actor,
    )
    workflow_activate(workflow=workflow, actor=actor)
    return workflow


def _send(client, transaction_id: str):
    return client.post(
        "/v1/webhooks/payments/received",
        data=json.dumps({"transactionId": transaction_id, "amount": 1500.00}),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=TOKEN,
    )


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_one_payment_execution_stays_within_the_statement_budget(
    payment_workflow, client, settings
):
    # The run tasks go to a queue no worker reads, so the session's e2e worker (if one is up)
    # cannot take these executions: this process runs them, with its caches warmed below.
    settings.FLOWKER_EXECUTION_QUEUE = "statement-budget-not-consumed"
    # A first execution warms the per-process caches (route, token, configurations), as a
    # running server has them.
    assert _send(client, "warm-up").status_code == 201
    assert runner.run(Execution.objects.get().pk) == runner.DONE

    with CaptureQueriesContext(connection) as web:
        response = _send(client, "t-1")
    assert response.status_code == 201, response.content
    execution_id = response.json()["executionId"]
    with CaptureQueriesContext(connection) as worker:
        runner.run(execution_id)

    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "completed"
    statements = _statements(web) + _statements(worker)
    assert len(statements) <= STATEMENT_BUDGET, "\n".join(statements)
