"""Every write and status change of workflows: validated, audited in the same transaction.

Status transitions read the current status, refuse a wrong one (422 FLK-0102/0103), then
update conditionally on it (flowker.transitions): a lost race answers 409 FLK-0350.
"""

import copy
from typing import Any

from django.db import IntegrityError, transaction

from catalog.building import build_from_template
from executors.choices import ExecutorConfigStatus
from executors.models import ExecutorConfiguration
from executors.services import executor_config_activate
from flowker.actors import Actor
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError
from flowker.transitions import guarded_delete, transition
from webhooks.services import webhook_routes_clear, webhook_routes_register
from workflows.choices import WorkflowStatus
from workflows.models import Workflow
from workflows.secrets import seal_callback, seal_trigger_secrets
from workflows.validation import validate_definition

_NAME_TAKEN = "workflow name already exists"
LOST_RACE = "FLK-0350"


def _audit(event_type: str, action: str, workflow: Workflow, actor: Actor, **extra: Any) -> None:
    audit_record(
        event_type=event_type,
        action=action,
        resource_type="workflow",
        resource_id=workflow.pk,
        actor=actor,
        metadata={"workflow.name": workflow.name, **extra},
    )


def _name_taken(exc: IntegrityError) -> FlowkerError:
    return FlowkerError("FLK-0101", _NAME_TAKEN, fields={"name": "already exists"})


def workflow_create(
    *, data: dict[str, Any], actor: Actor, audit_extra: dict | None = None
) -> Workflow:
    nodes, edges = data.get("nodes") or [], data.get("edges") or []
    validate_definition(nodes, edges)
    try:
        with transaction.atomic():
            workflow = Workflow.objects.create(
                name=data["name"],
                description=data.get("description") or "",
                nodes=seal_trigger_secrets(nodes),
                edges=edges,
                metadata=data.get("metadata") or {},
                callback=seal_callback(data.get("callback")),
            )
            _audit(EventType.WORKFLOW_CREATED, "CREATE", workflow, actor, **(audit_extra or {}))
    except IntegrityError as exc:
        raise _name_taken(exc) from exc
    return workflow


def _require_status(workflow: Workflow, allowed: tuple[str, ...], code: str, what: str) -> None:
    if workflow.status not in allowed:
        raise FlowkerError(code, f"cannot {what} a workflow in status {workflow.status}")


def workflow_update(*, workflow: Workflow, data: dict[str, Any], actor: Actor) -> Workflow:
    """PUT: replaces name, description, nodes and edges of a draft; merges metadata."""
    _require_status(workflow, (WorkflowStatus.DRAFT,), "FLK-0103", "modify")
    nodes = seal_trigger_secrets(data.get("nodes") or [], stored=workflow.nodes)
    edges = data.get("edges") or []
    validate_definition(nodes, edges)
    try:
        with transaction.atomic():
            transition(
                workflow,
                sources=(WorkflowStatus.DRAFT,),
                lost_race=LOST_RACE,
                name=data["name"],
                description=data.get("description") or "",
                nodes=nodes,
                edges=edges,
                metadata={**workflow.metadata, **(data.get("metadata") or {})},
                callback=seal_callback(data.get("callback"), stored=workflow.callback),
            )
            _audit(EventType.WORKFLOW_UPDATED, "UPDATE", workflow, actor)
    except IntegrityError as exc:
        raise _name_taken(exc) from exc
    return workflow


def workflow_delete(*, workflow: Workflow, actor: Actor) -> None:
    _require_status(workflow, (WorkflowStatus.DRAFT, WorkflowStatus.INACTIVE), "FLK-0103", "delete")
    with transaction.atomic():
        guarded_delete(workflow, sources=(workflow.status,), lost_race=LOST_RACE)
        audit_record(
            event_type=EventType.WORKFLOW_DELETED,
            action="DELETE",
            resource_type="workflow",
            resource_id=workflow.pk,
            actor=actor,
            metadata={"workflow.id": str(workflow.pk), "workflow.name": workflow.name},
        )


def workflow_clone(*, workflow: Workflow, name: str, actor: Actor) -> Workflow:
    """A new draft with the same description, nodes (trigger secrets included), edges,
    metadata and callback (its secret included)."""
    try:
        with transaction.atomic():
            clone = Workflow.objects.create(
                name=name,
                description=workflow.description,
                nodes=copy.deepcopy(workflow.nodes),
                edges=copy.deepcopy(workflow.edges),
                metadata=copy.deepcopy(workflow.metadata),
                callback=copy.deepcopy(workflow.callback),
            )
            _audit(
                EventType.WORKFLOW_CLONED,
                "CLONE",
                clone,
                actor,
                **{"workflow.source_id": str(workflow.pk)},
            )
    except IntegrityError as exc:
        raise _name_taken(exc) from exc
    return clone


def workflow_activate(*, workflow: Workflow, actor: Actor) -> Workflow:
    """draft → active: full validation, webhook routes registered (the database decides
    conflicts), referenced tested executor configurations activated."""

    definition = validate_definition(workflow.nodes, workflow.edges, activation=True)
    _require_status(workflow, (WorkflowStatus.DRAFT,), "FLK-0102", "activate")
    with transaction.atomic():
        transition(
            workflow,
            sources=(WorkflowStatus.DRAFT,),
            lost_race=LOST_RACE,
            status=WorkflowStatus.ACTIVE,
            executor_bindings=definition.executor_bindings,
        )
        webhook_routes_register(workflow=workflow, routes=definition.webhook_routes)
        tested = ExecutorConfiguration.objects.filter(
            pk__in=definition.executor_config_ids, status=ExecutorConfigStatus.TESTED
        )
        for config in tested:
            executor_config_activate(config=config, actor=actor)
        _audit(EventType.WORKFLOW_ACTIVATED, "ACTIVATE", workflow, actor)
    return workflow


def workflow_deactivate(*, workflow: Workflow, actor: Actor) -> Workflow:
    _require_status(workflow, (WorkflowStatus.ACTIVE,), "FLK-0102", "deactivate")
    with transaction.atomic():
        transition(
            workflow,
            sources=(WorkflowStatus.ACTIVE,),
            lost_race=LOST_RACE,
            status=WorkflowStatus.INACTIVE,
        )
        webhook_routes_clear(workflow=workflow)
        _audit(EventType.WORKFLOW_DEACTIVATED, "DEACTIVATE", workflow, actor)
    return workflow


def workflow_draft(*, workflow: Workflow, actor: Actor) -> Workflow:
    _require_status(workflow, (WorkflowStatus.INACTIVE,), "FLK-0102", "move to draft")
    with transaction.atomic():
        transition(
            workflow,
            sources=(WorkflowStatus.INACTIVE,),
            lost_race=LOST_RACE,
            status=WorkflowStatus.DRAFT,
        )
        _audit(EventType.WORKFLOW_DRAFTED, "DRAFT", workflow, actor)
    return workflow


def workflow_create_from_template(
    *, template_id: str, params: dict[str, Any], actor: Actor
) -> Workflow:
    data = build_from_template(template_id=template_id, params=params)
    return workflow_create(data=data, actor=actor, audit_extra={"template.id": template_id})
