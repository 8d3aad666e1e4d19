"""Every write and lifecycle transition of executor configurations (CONTRACT §6):
unconfigured → configured → tested → active ⇄ disabled, each change audited."""

import time
import uuid
from typing import Any

from django.db import IntegrityError, transaction

from catalog import registry
from executors.choices import ExecutorConfigStatus as Status
from executors.models import ExecutorConfiguration
from executors.runtime.call import Failed, Refused, Transient, endpoint_call, perform
from executors.runtime.connections import connection_for
from executors.runtime.connectivity import connectivity_test
from executors.runtime.policy import NameResolutionError, OutboundPolicyError, check_destination
from flowker.actors import Actor
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError
from flowker.timefmt import format_timestamp, now
from flowker.transitions import transition
from providers.models import ProviderConfiguration
from providers.services import plain_config
from workflows.selectors import active_workflow_names_using, active_workflows_naming_endpoints

EDITABLE = (Status.UNCONFIGURED, Status.CONFIGURED, Status.DISABLED)
TESTABLE = (Status.CONFIGURED, Status.TESTED)
_NAME_TAKEN = "executor configuration name already exists"
LOST_RACE = "FLK-0351"


def _wrong_status(config: ExecutorConfiguration, what: str) -> FlowkerError:
    return FlowkerError(
        "FLK-0252",
        f"cannot {what} executor configuration in status {config.status}",
    )


def _audit(event_type: str, action: str, config: ExecutorConfiguration, actor: Actor, **extra):
    audit_record(
        event_type=event_type,
        action=action,
        resource_type="executor_config",
        resource_id=config.pk,
        actor=actor,
        result=extra.pop("result", "SUCCESS"),
        metadata={"executor_config.name": config.name, "status": config.status, **extra},
    )


def _check_references(executor_id: str | None, provider_config: Any) -> None:
    """What is given must exist and fit together; what is missing keeps it unconfigured."""
    executor = registry.get_executor(executor_id) if executor_id else None
    if executor_id and executor is None:
        raise FlowkerError(
            "FLK-0200",
            f"executor {executor_id!r} not found in catalog",
            fields={"executorId": "unknown catalog executor"},
        )
    if (
        executor is not None
        and provider_config is not None
        and executor.provider_id != provider_config.provider_id
    ):
        raise FlowkerError(
            "FLK-0151",
            f"provider configuration is for provider {provider_config.provider_id!r}, "
            f"executor {executor_id!r} needs {executor.provider_id!r}",
            fields={"providerConfigId": "belongs to another provider"},
        )


def is_complete(config: ExecutorConfiguration) -> bool:
    executor = registry.get_executor(config.executor_id) if config.executor_id else None
    return (
        executor is not None
        and config.provider_config is not None
        and executor.provider_id == config.provider_config.provider_id
        and any(e.get("name") and e.get("method") and e.get("path") for e in config.endpoints)
    )


def _provider_config(config_id: Any) -> ProviderConfiguration | None:
    if config_id is None:
        return None
    provider_config = ProviderConfiguration.objects.filter(pk=config_id).first()
    if provider_config is None:
        raise FlowkerError(
            "FLK-0290",
            "provider configuration not found",
            fields={"providerConfigId": "not found"},
        )
    return provider_config


def executor_config_check(
    *, changes: dict[str, Any], config: ExecutorConfiguration | None = None
) -> None:
    """What create (no `config`) or update would refuse, checked without writing (admin
    forms). `changes` uses `executor_config_create`'s keyword names."""
    if config is not None and config.status not in EDITABLE:
        raise _wrong_status(config, "modify")
    provider_config = (
        _provider_config(changes["provider_config_id"])
        if changes.get("provider_config_id")
        else (config.provider_config if config else None)
    )
    executor_id = changes.get("executor_id") or (config.executor_id if config else None)
    _check_references(executor_id, provider_config)
    taken = ExecutorConfiguration.objects.filter(name=changes.get("name"))
    if config is not None:
        taken = taken.exclude(pk=config.pk)
    if changes.get("name") and taken.exists():
        raise FlowkerError("FLK-0251", _NAME_TAKEN, fields={"name": "already exists"})


def executor_config_create(
    *,
    name: str,
    actor: Actor,
    description: str = "",
    executor_id: str = "",
    provider_config_id: uuid.UUID | str | None = None,
    endpoints: list[dict[str, Any]] | None = None,
    input_mapping: list[dict[str, Any]] | None = None,
    output_mapping: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ExecutorConfiguration:
    """Always created `unconfigured` (an update moves a complete one to `configured`)."""
    provider_config = _provider_config(provider_config_id)
    _check_references(executor_id, provider_config)
    try:
        with transaction.atomic():
            config = ExecutorConfiguration.objects.create(
                name=name,
                description=description or "",
                executor_id=executor_id or "",
                provider_config=provider_config,
                endpoints=endpoints or [],
                input_mapping=input_mapping,
                output_mapping=output_mapping,
                metadata=metadata or {},
            )
            _audit(EventType.EXECUTOR_CONFIG_CREATED, "CREATE", config, actor)
    except IntegrityError as exc:
        raise FlowkerError("FLK-0251", _NAME_TAKEN) from exc
    return config


# What an update may change, by `executor_config_create`'s keyword names (plus `status`).
UPDATABLE = frozenset(
    {"name", "description", "endpoints", "input_mapping", "output_mapping", "metadata"}
)


def executor_config_update(
    *, config: ExecutorConfiguration, changes: dict[str, Any], actor: Actor
) -> ExecutorConfiguration:
    """Partial update, metadata merged; `changes` uses `executor_config_create`'s keyword
    names, plus `status` (active/disabled). `tested`/`active` accept only `status`."""
    target_status = changes.get("status")
    edits = {key: value for key, value in changes.items() if key != "status"}
    try:
        with transaction.atomic():
            config = ExecutorConfiguration.objects.select_for_update().get(pk=config.pk)
            if edits or config.status == Status.UNCONFIGURED:
                _apply_changes(config, edits, actor)
            if target_status is not None and target_status != config.status:
                if target_status == Status.DISABLED:
                    config = executor_config_disable(config=config, actor=actor)
                elif config.status == Status.TESTED:
                    config = executor_config_activate(config=config, actor=actor)
                else:
                    config = executor_config_enable(config=config, actor=actor)
    except IntegrityError as exc:
        raise FlowkerError("FLK-0251", _NAME_TAKEN) from exc
    return config


def _apply_changes(config: ExecutorConfiguration, changes: dict[str, Any], actor: Actor) -> None:
    if config.status not in EDITABLE:
        raise _wrong_status(config, "modify")
    provider_config = config.provider_config
    if "provider_config_id" in changes:
        provider_config = _provider_config(changes["provider_config_id"])
    executor_id = changes.get("executor_id", config.executor_id)
    _check_references(executor_id, provider_config)
    connection_changed = (
        "endpoints" in changes and changes["endpoints"] != config.endpoints
    ) or provider_config != config.provider_config
    config.executor_id = executor_id or ""
    config.provider_config = provider_config
    for field in UPDATABLE - {"metadata"}:
        if field in changes:
            setattr(config, field, changes[field])
    if "metadata" in changes:
        config.metadata = {**config.metadata, **changes["metadata"]}
    if config.status == Status.DISABLED and connection_changed:
        config.status = Status.CONFIGURED
    config.save()
    _audit(EventType.EXECUTOR_CONFIG_UPDATED, "UPDATE", config, actor, changed=sorted(changes))
    if config.status == Status.UNCONFIGURED and is_complete(config):
        config.status = Status.CONFIGURED
        config.save(update_fields=["status", "updated_at"])
        _audit(EventType.EXECUTOR_CONFIG_CONFIGURED, "UPDATE", config, actor)


def executor_config_mark_configured(
    *, config: ExecutorConfiguration, actor: Actor
) -> ExecutorConfiguration:
    """Admin action: an unconfigured but complete configuration becomes `configured`."""
    with transaction.atomic():
        config = ExecutorConfiguration.objects.select_for_update().get(pk=config.pk)
        if config.status != Status.UNCONFIGURED:
            raise _wrong_status(config, "configure")
        if not is_complete(config):
            raise FlowkerError(
                "FLK-0252",
                "executor configuration is incomplete: it needs a catalog executor, a provider "
                "configuration of that executor's provider and an endpoint with name, method "
                "and path",
            )
        config.status = Status.CONFIGURED
        config.save(update_fields=["status", "updated_at"])
        _audit(EventType.EXECUTOR_CONFIG_CONFIGURED, "UPDATE", config, actor)
    return config


def _transition(
    config: ExecutorConfiguration,
    *,
    sources: tuple[str, ...],
    target: str,
    event_type: str,
    action: str,
    what: str,
    actor: Actor,
) -> ExecutorConfiguration:
    if config.status not in sources:
        raise _wrong_status(config, what)
    with transaction.atomic():
        transition(config, sources=sources, lost_race=LOST_RACE, status=target)
        _audit(event_type, action, config, actor)
    return config


def _refuse_ambiguous_endpoints(config: ExecutorConfiguration) -> None:
    """A configuration that becomes active must not offer an endpoint name that an active
    workflow calls, by name, through another configuration (CONTRACT §0)."""
    names = {endpoint.get("name") for endpoint in config.endpoints if endpoint.get("name")}
    if not names or config.provider_config_id is None:
        return
    workflows = active_workflows_naming_endpoints(
        provider_config_id=config.provider_config_id,
        endpoint_names=names,
        except_config_id=config.pk,
    )
    if workflows:
        raise FlowkerError(
            "FLK-0252",
            f"activating executor configuration {config.name!r} would make its endpoint "
            f"names ({', '.join(sorted(names))}) ambiguous for active workflows: "
            f"{', '.join(workflows)}; deactivate them or rename the endpoints",
        )


def executor_config_activate(
    *, config: ExecutorConfiguration, actor: Actor
) -> ExecutorConfiguration:
    _refuse_ambiguous_endpoints(config)
    return _transition(
        config,
        sources=(Status.TESTED,),
        target=Status.ACTIVE,
        event_type=EventType.EXECUTOR_CONFIG_ACTIVATED,
        action="ACTIVATE",
        what="activate",
        actor=actor,
    )


def executor_config_disable(
    *, config: ExecutorConfiguration, actor: Actor
) -> ExecutorConfiguration:
    return _transition(
        config,
        sources=(Status.TESTED, Status.ACTIVE),
        target=Status.DISABLED,
        event_type=EventType.EXECUTOR_CONFIG_DISABLED,
        action="DISABLE",
        what="disable",
        actor=actor,
    )


def executor_config_enable(*, config: ExecutorConfiguration, actor: Actor) -> ExecutorConfiguration:
    _refuse_ambiguous_endpoints(config)
    return _transition(
        config,
        sources=(Status.DISABLED,),
        target=Status.ACTIVE,
        event_type=EventType.EXECUTOR_CONFIG_ENABLED,
        action="ENABLE",
        what="enable",
        actor=actor,
    )


def executor_config_delete(*, config: ExecutorConfiguration, actor: Actor) -> None:
    with transaction.atomic():
        config = ExecutorConfiguration.objects.select_for_update().get(pk=config.pk)
        if config.status in (Status.TESTED, Status.ACTIVE):
            raise _wrong_status(config, "delete")
        workflows = active_workflow_names_using(executor_config_id=config.pk)
        if workflows:
            raise FlowkerError(
                "FLK-0252",
                "executor configuration is referenced by active workflows: " + ", ".join(workflows),
            )
        _audit(EventType.EXECUTOR_CONFIG_DELETED, "DELETE", config, actor)
        config.delete()


def executor_config_test(
    *,
    config: ExecutorConfiguration,
    actor: Actor,
    endpoint_name: str | None = None,
    test_input: Any = None,
) -> ExecutorConfiguration:
    """Test an endpoint. Without input: the provider's connectivity stages against
    base URL + endpoint path with GET (no side effects). With input: the real call."""
    if config.status not in TESTABLE:
        raise _wrong_status(config, "test")
    endpoint = config.endpoint(endpoint_name)
    if endpoint is None:
        raise FlowkerError(
            "FLK-0302",
            f"executor configuration has no endpoint named {endpoint_name!r}",
            fields={"endpointName": "unknown endpoint"},
        )
    try:
        if test_input is None:
            result = _connectivity(config, endpoint)
        else:
            result = _real_call(config, endpoint, test_input)
    except FlowkerError as exc:
        with transaction.atomic():
            _audit(
                EventType.EXECUTOR_CONFIG_TESTED,
                "TEST",
                config,
                actor,
                result="FAILED",
                endpoint=endpoint["name"],
                error=f"{exc.code}: {exc.message}",
            )
        raise
    passed = all(stage["status"] != "failed" for stage in result["stages"])
    result["endpointName"] = endpoint["name"]
    with transaction.atomic():
        # Only a pass makes it `tested`; a failing re-test means it must pass again. A status
        # changed while the test ran (e.g. activated) is not overwritten: the test lost a race.
        transition(
            config,
            sources=TESTABLE,
            lost_race=LOST_RACE,
            status=Status.TESTED if passed else Status.CONFIGURED,
            last_tested_at=now(),
            last_test_result=result,
        )
        _audit(
            EventType.EXECUTOR_CONFIG_TESTED,
            "TEST",
            config,
            actor,
            result="SUCCESS" if passed else "FAILED",
            endpoint=endpoint["name"],
        )
    return config


def _connectivity(config: ExecutorConfiguration, endpoint: dict[str, Any]) -> dict[str, Any]:
    provider_config = config.provider_config
    return connectivity_test(
        provider_config.provider_id,
        plain_config(provider_config),
        path=endpoint["path"],
        owner=str(provider_config.pk),
    )


def _real_call(
    config: ExecutorConfiguration, endpoint: dict[str, Any], test_input: Any
) -> dict[str, Any]:
    """The endpoint called for real, through the engine's call path (without the breaker: a
    test must reach the provider). One stage, `call`: passed on a 2xx answer."""
    provider_config = config.provider_config
    connection = connection_for(
        provider_config.provider_id, plain_config(provider_config), owner=str(provider_config.pk)
    )
    prepared = endpoint_call(
        connection=connection,
        endpoint=endpoint,
        body=test_input,
        idempotency_key=f"test:{config.pk}:{uuid.uuid4()}",
    )
    try:
        check_destination(prepared.request.url)
    except (OutboundPolicyError, NameResolutionError) as exc:
        raise FlowkerError("FLK-0341", f"the endpoint is a restricted destination: {exc}") from exc
    started_at = now()
    started = time.monotonic()
    outcome = perform(prepared)
    stage: dict[str, Any] = {"name": "call"}
    response = getattr(outcome, "response", None)
    if response is not None:
        ok = 200 <= response.status < 300
        stage.update(
            status="passed" if ok else "failed",
            details={
                "statusCode": response.status,
                "responseTimeMs": response.duration_ms,
                "url": response.url,
            },
        )
        if ok:
            stage["message"] = "Endpoint answered with a success status"
        else:
            stage["error"] = f"request returned status {response.status}"
    elif isinstance(outcome, Refused):
        stage.update(status="failed", error=f"refused by the outbound policy: {outcome.detail}")
    elif isinstance(outcome, Failed):
        stage.update(status="failed", error=outcome.message)
    elif isinstance(outcome, Transient):
        stage.update(status="failed", error=outcome.error)
    stage.setdefault("message", "Endpoint call failed")
    duration = round((time.monotonic() - started) * 1000)
    stage["durationMs"] = duration
    passed = stage["status"] == "passed"
    return {
        "overallStatus": "passed" if passed else "failed",
        "durationMs": duration,
        "stages": [stage],
        "summary": "Endpoint call succeeded" if passed else "Endpoint call failed",
        "startedAt": format_timestamp(started_at),
        "completedAt": format_timestamp(now()),
    }
