"""The workflows the catalog's templates build: plain request bodies for workflow creation."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from catalog import registry
from catalog.schemas import schema_errors
from flowker.errors import FlowkerError
from providers.choices import ProviderConfigStatus
from providers.models import ProviderConfiguration


def template_params(*, template_id: str, params: Any) -> dict[str, Any]:
    """The template's parameters validated (422 FLK-0242) and completed with their defaults."""
    template = registry.get_template(template_id)
    if template is None:
        raise FlowkerError("FLK-0240", f"template not found: {template_id}")
    if not isinstance(params, dict):
        raise FlowkerError(
            "FLK-0242",
            f"invalid params for template {template_id}",
            fields={"params": "expected an object"},
        )
    errors = schema_errors(template.param_schema, params)
    if errors:
        raise FlowkerError(
            "FLK-0242",
            f"invalid params for template {template_id}",
            fields={
                f"params.{path}" if path else "params": reason for path, reason in errors.items()
            },
        )
    errors = _provider_param_errors(template.provider_params, params)
    if errors:
        raise FlowkerError("FLK-0242", f"invalid params for template {template_id}", fields=errors)
    defaults = {
        name: spec["default"]
        for name, spec in template.param_schema.get("properties", {}).items()
        if "default" in spec
    }
    return {**defaults, **params}


def _provider_param_errors(provider_params: dict[str, str], params: dict) -> dict[str, str]:
    """A parameter naming a provider configuration must name an active one of its provider."""

    errors = {}
    for param, provider_id in provider_params.items():
        if param not in params:
            continue
        config = ProviderConfiguration.objects.filter(pk=params[param]).first()
        expected = f"must be the id of an active {provider_id} provider configuration"
        if config is None:
            errors[f"params.{param}"] = f"{expected}; no provider configuration has this id"
        elif config.provider_id != provider_id:
            errors[f"params.{param}"] = f"{expected}; {config.name!r} is a {config.provider_id} one"
        elif config.status != ProviderConfigStatus.ACTIVE:
            errors[f"params.{param}"] = f"{expected}; {config.name!r} is {config.status}"
    return errors


def _node(node_id: str, node_type: str, name: str, x: int, y: int, data: dict) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": node_type,
        "name": name,
        "position": {"x": x, "y": y},
        "data": data,
    }


def _threshold_text(value: Any) -> str:
    number = Decimal(str(value))
    return format(number.normalize(), "f") if number == number.to_integral_value() else str(number)


def _payment_fraud_check(params: dict[str, Any]) -> dict[str, Any]:
    """The guide's payment-validation workflow."""
    trigger = {
        "triggerType": "webhook",
        "path": params["webhookPath"],
        "method": params["webhookMethod"],
    }
    if params.get("verifyToken"):
        trigger["verify_token"] = params["verifyToken"]

    def decision(value: str) -> dict[str, Any]:
        return {
            "action": "set_output",
            "output": {"decision": value, "score": "{{ check-fraud.score }}"},
        }

    return {
        "nodes": [
            _node("trigger-payment", "trigger", "Payment received", 0, 0, trigger),
            _node(
                "check-fraud",
                "executor",
                "Fraud check",
                200,
                0,
                {
                    "providerConfigId": params["fraudProviderConfigId"],
                    "endpointName": params["endpointName"],
                },
            ),
            _node(
                "evaluate-score",
                "conditional",
                "Score evaluation",
                400,
                0,
                {"condition": f"check-fraud.score < {_threshold_text(params['threshold'])}"},
            ),
            _node("approve", "action", "Approve payment", 600, -100, decision("approved")),
            _node("reject", "action", "Reject payment", 600, 100, decision("rejected")),
        ],
        "edges": [
            {"id": "e1", "source": "trigger-payment", "target": "check-fraud"},
            {"id": "e2", "source": "check-fraud", "target": "evaluate-score"},
            {"id": "e3", "source": "evaluate-score", "target": "approve", "condition": "true"},
            {"id": "e4", "source": "evaluate-score", "target": "reject", "condition": "false"},
        ],
    }


def _tracer_midaz_validation(params: dict[str, Any]) -> dict[str, Any]:
    """Upstream's template, reading the decision as `tracer-validate.decision`."""
    fields = [
        "requestId",
        "transactionType",
        "amount",
        "currency",
        "transactionTimestamp",
        "account",
    ]
    return {
        "nodes": [
            _node(
                "webhook-trigger",
                "trigger",
                "Webhook Trigger",
                250,
                0,
                {
                    "triggerType": "webhook",
                    "path": params["webhookPath"],
                    "method": params["webhookMethod"],
                },
            ),
            _node(
                "tracer-validate",
                "executor",
                "Tracer Validate Transaction",
                250,
                150,
                {
                    "executorId": "tracer.validate-transaction",
                    "providerConfigId": params["tracerProviderConfigId"],
                    "method": "POST",
                    "path": "/v1/validations",
                    "inputMapping": [
                        {"source": f"workflow.{name}", "target": name} for name in fields
                    ],
                },
            ),
            _node(
                "decision-check",
                "conditional",
                "Decision Check",
                250,
                300,
                {"condition": 'tracer-validate.decision == "ALLOW"'},
            ),
            _node(
                "midaz-create-tx",
                "executor",
                "Midaz Create Transaction",
                100,
                450,
                {
                    "executorId": "midaz.create-transaction",
                    "providerConfigId": params["midazProviderConfigId"],
                    "inputMapping": [
                        {"source": "workflow.transaction", "target": "send"},
                        {"source": "workflow.transactionDescription", "target": "description"},
                    ],
                },
            ),
        ],
        "edges": [
            {"id": "webhook-to-tracer", "source": "webhook-trigger", "target": "tracer-validate"},
            {"id": "tracer-to-decision", "source": "tracer-validate", "target": "decision-check"},
            {
                "id": "decision-to-midaz",
                "source": "decision-check",
                "target": "midaz-create-tx",
                "sourceHandle": "true",
                "label": "Approved",
            },
        ],
    }


BUILDERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "payment-fraud-check": _payment_fraud_check,
    "tracer-midaz-validation": _tracer_midaz_validation,
}


def build_from_template(*, template_id: str, params: Any) -> dict[str, Any]:
    """A workflow creation body (name, description, nodes, edges, metadata)."""
    values = template_params(template_id=template_id, params=params)
    template = registry.get_template(template_id)
    body = BUILDERS[template_id](values)
    body.update(
        name=values["workflowName"],
        description=values.get("workflowDescription") or "",
        metadata={"templateId": template_id, "templateVersion": template.version},
    )
    return body
