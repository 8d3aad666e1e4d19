"""The guide's payment-validation workflow end to end: API → worker → provider stub."""

from decimal import Decimal

import pytest

from tests.factories import guide_workflow, make_provider_config
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUIDE_INPUT = (
    b'{"inputData": {"transactionId": "txn-98765", "amount": 1500.00, '
    b'"currency": "BRL", "customerId": "cust-12345"}}'
)


def _activated_guide_workflow(client, stub):
    provider = make_provider_config(base_url=stub.url)
    created = client.post("/v1/workflows", guide_workflow(provider.pk), format="json").json()
    assert client.post(f"/v1/workflows/{created['workflowId']}/activate").status_code == 200
    return created["workflowId"]


@pytest.mark.parametrize(
    ("score", "taken", "skipped"), [(42, "approve", "reject"), (95, "reject", "approve")]
)
def test_guide_workflow_takes_the_branch_the_score_decides(
    worker, stub_server, client_api, score, taken, skipped
):
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": score}))
    workflow_id = _activated_guide_workflow(client_api, stub_server)

    response = client_api.post(
        f"/v1/workflows/{workflow_id}/executions",
        GUIDE_INPUT,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"pay-{score}",
        HTTP_PREFER="wait=20",
    )

    assert response.status_code == 200, response.content
    assert response["Preference-Applied"] == "wait=20"
    results = response.json()
    assert results["status"] == "completed", results
    steps = {step["nodeId"]: step for step in results["stepResults"]}
    assert [s["nodeId"] for s in results["stepResults"]][:2] == ["check-fraud", "evaluate-score"]
    assert steps["check-fraud"]["output"]["score"] == score
    assert steps["evaluate-score"]["output"]["branchTaken"] == ("true" if score < 80 else "false")
    assert steps[taken]["status"] == "completed"
    assert steps[skipped]["status"] == "skipped" and steps[skipped]["durationMs"] == 0
    assert [s["stepNumber"] for s in results["stepResults"]] == [1, 2, 3, 4]
    assert results["finalOutput"]["check-fraud"]["score"] == score

    [call] = stub_server.requests("POST", "/score-transaction")
    assert call.body == {
        "transactionId": "txn-98765",
        "amount": Decimal("1500.00"),
        "currency": "BRL",
        "customerId": "cust-12345",
    }
    assert b'"amount": 1500.00' in call.raw_body or b'"amount":1500.00' in call.raw_body
    assert call.header("Idempotency-Key") == f"{results['executionId']}:check-fraud"

    status = client_api.get(f"/v1/executions/{results['executionId']}").json()
    assert status["currentStepNumber"] == status["totalSteps"] == 4
    from flowker.audit.models import AuditEvent

    events = AuditEvent.objects.filter(resource_id=results["executionId"]).order_by("id")
    assert [e.event_type for e in events] == ["EXECUTION_STARTED", "EXECUTION_COMPLETED"]
    assert events[1].actor_type == "system"
