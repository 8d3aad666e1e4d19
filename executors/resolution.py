"""Resolving an executor node to the call it makes (CONTRACT §7): which catalog executor, which
provider and executor configuration, which endpoint (method, path, timeout) and mappings.
Used by workflow validation at save/activation and by the engine at run time."""

import uuid
from dataclasses import dataclass
from typing import Any

from catalog import registry
from catalog.registry import ExecutorSpec
from executors.choices import ExecutorConfigStatus
from executors.models import ExecutorConfiguration
from providers.choices import ProviderConfigStatus
from providers.models import ProviderConfiguration

# Node data keys the engine reads; the rest is validated against the executor's schema.
ENGINE_KEYS = frozenset(
    {
        "executorId",
        "executorConfigId",
        "providerConfigId",
        "endpointName",
        "inputMapping",
        "outputMapping",
        "transforms",
        "method",
        "path",
        "timeout",
    }
)


class ResolutionError(Exception):
    def __init__(self, code: str, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class ExecutorCall:
    executor: ExecutorSpec
    provider_config: ProviderConfiguration | None
    executor_config: ExecutorConfiguration | None
    endpoint_name: str | None
    method: str
    path: str | None  # appended to the provider's base URL; None = the executor builds its URL
    timeout: float | None
    input_mapping: list[dict[str, Any]] | None
    output_mapping: list[dict[str, Any]] | None
    transforms: list[dict[str, Any]] | None


def schema_data(data: dict[str, Any]) -> dict[str, Any]:
    """The node data the executor's JSON Schema describes (engine keys removed)."""
    return {key: value for key, value in data.items() if key not in ENGINE_KEYS}


def _uuid(value: Any, field: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ResolutionError(
            "FLK-0150", f"{what} is not a valid UUID: {value}", field=field
        ) from exc


def _executor_config(data: dict[str, Any]) -> ExecutorConfiguration | None:
    if not data.get("executorConfigId"):
        return None
    config_id = _uuid(data["executorConfigId"], "executorConfigId", "executorConfigId")
    config = ExecutorConfiguration.objects.filter(pk=config_id).first()
    if config is None:
        raise ResolutionError(
            "FLK-0250",
            f"executor configuration {config_id} not found",
            field="executorConfigId",
        )
    return config


def _provider_config(
    data: dict[str, Any], executor_config: ExecutorConfiguration | None
) -> ProviderConfiguration | None:
    if data.get("providerConfigId"):
        config_id = _uuid(data["providerConfigId"], "providerConfigId", "providerConfigId")
    elif executor_config is not None and executor_config.provider_config_id:
        config_id = executor_config.provider_config_id
    else:
        return None
    config = ProviderConfiguration.objects.filter(pk=config_id).first()
    if config is None:
        raise ResolutionError(
            "FLK-0150", f"provider configuration {config_id} not found", field="providerConfigId"
        )
    return config


def _executor(
    data: dict[str, Any],
    executor_config: ExecutorConfiguration | None,
    provider_config: ProviderConfiguration | None,
) -> ExecutorSpec:
    executor_id = data.get("executorId") or (executor_config.executor_id if executor_config else "")
    if not executor_id and provider_config is not None:
        provider = registry.get_provider(provider_config.provider_id)
        executor_id = provider.default_executor if provider is not None else None
    if not executor_id:
        raise ResolutionError(
            "FLK-0150",
            "executor node needs executorId, executorConfigId, or providerConfigId of an http "
            "provider configuration",
            field="executorId",
        )
    executor = registry.get_executor(executor_id)
    if executor is None:
        raise ResolutionError(
            "FLK-0104",
            f"referenced executor {executor_id!r} not found",
            field="executorId",
        )
    if executor_config is not None and executor_config.executor_id not in ("", executor.id):
        raise ResolutionError(
            "FLK-0151",
            f"executor configuration is for {executor_config.executor_id!r}, node uses "
            f"{executor.id!r}",
            field="executorConfigId",
        )
    return executor


def _endpoint(
    data: dict[str, Any],
    executor_config: ExecutorConfiguration | None,
    provider_config: ProviderConfiguration | None,
    bound_statuses: tuple[str, ...],
) -> tuple[ExecutorConfiguration | None, dict[str, Any] | None]:
    """The executor configuration endpoint the node calls, if any."""
    name = data.get("endpointName")
    if executor_config is not None:
        endpoint = executor_config.endpoint(name)
        if name and endpoint is None:
            raise ResolutionError(
                "FLK-0150",
                f"executor configuration {executor_config.name!r} has no endpoint {name!r}",
                field="endpointName",
            )
        return executor_config, endpoint
    if name and provider_config is not None:
        for candidate in endpoint_candidates(provider_config, name, bound_statuses):
            return candidate, candidate.endpoint(name)
    return None, None


def endpoint_candidates(
    provider_config: Any, name: str, statuses: tuple[str, ...]
) -> list[ExecutorConfiguration]:
    """Executor configurations of a provider configuration (in the given statuses, oldest
    first) that have an endpoint called `name`."""
    bound = ExecutorConfiguration.objects.filter(
        provider_config=provider_config, status__in=statuses
    ).order_by("created_at")
    return [candidate for candidate in bound if candidate.endpoint(name) is not None]


def resolve_executor_node(
    data: dict[str, Any],
    *,
    bound_statuses: tuple[str, ...] = (ExecutorConfigStatus.ACTIVE,),
    require_active_provider: bool = True,
) -> ExecutorCall:
    """Resolve a node's call; raises ResolutionError naming the offending data key."""
    executor_config = _executor_config(data)
    provider_config = _provider_config(data, executor_config)
    executor = _executor(data, executor_config, provider_config)
    if executor.provider_id is None:
        return ExecutorCall(
            executor=executor,
            provider_config=None,
            executor_config=None,
            endpoint_name=None,
            method="POST",
            path=None,
            timeout=None,
            input_mapping=data.get("inputMapping"),
            output_mapping=None,
            transforms=data.get("transforms"),
        )
    if provider_config is None:
        raise ResolutionError(
            "FLK-0150", "providerConfigId is required for executor nodes", field="providerConfigId"
        )
    if provider_config.provider_id != executor.provider_id:
        raise ResolutionError(
            "FLK-0151",
            f"provider configuration is for provider {provider_config.provider_id!r}, executor "
            f"{executor.id!r} needs {executor.provider_id!r}",
            field="providerConfigId",
        )
    if require_active_provider and provider_config.status != ProviderConfigStatus.ACTIVE:
        raise ResolutionError(
            "FLK-0150",
            f"provider configuration {provider_config.name!r} is not active",
            field="providerConfigId",
        )
    executor_config, endpoint = _endpoint(data, executor_config, provider_config, bound_statuses)
    if data.get("path"):
        path: str | None = data["path"]
    elif endpoint is not None:
        path = endpoint["path"]
    elif data.get("endpointName"):
        path = data["endpointName"]
    elif registry.get_provider(executor.provider_id).router is not None:
        path = None  # the provider's router builds the URL
    else:
        path = ""
    method = data.get("method") or (endpoint or {}).get("method") or "POST"
    timeout = data.get("timeout") or (endpoint or {}).get("timeoutSeconds")
    defaults = executor_config
    return ExecutorCall(
        executor=executor,
        provider_config=provider_config,
        executor_config=executor_config,
        endpoint_name=(endpoint or {}).get("name") or data.get("endpointName"),
        method=str(method).upper(),
        path=path,
        timeout=float(timeout) if timeout else None,
        input_mapping=data.get("inputMapping") or (defaults.input_mapping if defaults else None),
        output_mapping=data.get("outputMapping") or (defaults.output_mapping if defaults else None),
        transforms=data.get("transforms"),
    )


def check_runnable(call: ExecutorCall) -> None:
    """At run time the provider configuration must be active and the executor configuration
    not disabled (changed since activation, or while a retry waited): FLK-0512."""
    provider_config, executor_config = call.provider_config, call.executor_config
    if provider_config is not None and provider_config.status != ProviderConfigStatus.ACTIVE:
        raise ResolutionError(
            "FLK-0512", f"provider configuration {provider_config.name!r} is disabled"
        )
    if executor_config is not None and executor_config.status == ExecutorConfigStatus.DISABLED:
        raise ResolutionError(
            "FLK-0512", f"executor configuration {executor_config.name!r} is disabled"
        )
