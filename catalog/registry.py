"""The catalog: the providers, executors, triggers and workflow templates that ship with Flowker.

Read-only and defined in code. Other apps look entries up here; lists are sorted by id. The
schemas are shared objects: copy one before changing it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from catalog.definitions import http, midaz, tracer, transform
from catalog.definitions import templates as template_params
from catalog.definitions import triggers as trigger_schemas
from executors.runtime.auth import Authenticator

# (executor id, provider config, node data, request body) → (method, URL); ValueError when the
# configuration or the data cannot make one.
Router = Callable[[str, dict[str, Any], dict[str, Any], Any], tuple[str, str]]


@dataclass(frozen=True)
class ProviderSpec:
    """A provider, and the hooks that say how to call it, so that a new provider touches its
    `catalog/definitions/<provider>.py` and nothing in the engine."""

    id: str
    name: str
    description: str
    version: str
    config_schema: dict = field(hash=False, repr=False)
    # (decrypted config, owner: the configuration's id, scoping cached tokens) → the credential
    # it describes; ValueError when it is unusable.
    authenticator: Callable[[dict[str, Any], str], Authenticator] = field(
        hash=False, repr=False, compare=False
    )
    # Builds each executor's URL itself (its executors have no endpoint path); None: the URL
    # is the base URL joined with the node's or endpoint's path.
    router: Router | None = field(default=None, hash=False, repr=False, compare=False)
    # The executor a node of this provider runs when it names none.
    default_executor: str | None = None


@dataclass(frozen=True)
class ExecutorSpec:
    id: str
    name: str
    category: str
    version: str
    provider_id: str | None  # None: runs inside Flowker, needs no provider configuration
    schema: dict = field(hash=False, repr=False)


@dataclass(frozen=True)
class TriggerSpec:
    id: str
    name: str
    version: str
    schema: dict = field(hash=False, repr=False)


@dataclass(frozen=True)
class TemplateSpec:
    id: str
    name: str
    description: str
    version: str
    category: str
    param_schema: dict = field(hash=False, repr=False)
    # Parameter name → id of the provider whose configuration that parameter references.
    provider_params: dict[str, str] = field(hash=False)


_PROVIDERS = (
    ProviderSpec(
        id="http",
        name="HTTP",
        description="Any HTTP/JSON service: fraud engines, KYC/AML providers, payment processors",
        version="v1",
        config_schema=http.PROVIDER_CONFIG,
        authenticator=http.authenticator,
        default_executor="http.request",
    ),
    ProviderSpec(
        id="midaz",
        name="Midaz",
        description=(
            "Lerian Midaz core banking ledger provider for managing transactions, accounts, "
            "and balances"
        ),
        version="v1",
        config_schema=midaz.PROVIDER_CONFIG,
        authenticator=midaz.authenticator,
        router=midaz.route,
    ),
    ProviderSpec(
        id="tracer",
        name="Tracer",
        description=(
            "Lerian Tracer provider for transaction validation against compliance rules and "
            "financial limits"
        ),
        version="v1",
        config_schema=tracer.PROVIDER_CONFIG,
        authenticator=tracer.authenticator,
    ),
)

_EXECUTORS = (
    ExecutorSpec(
        id="http.request",
        name="HTTP Request",
        category="HTTP",
        version="v1",
        provider_id="http",
        schema=http.REQUEST,
    ),
    ExecutorSpec(
        id="transform.json",
        name="Transform JSON",
        category="Data",
        version="v1",
        provider_id=None,
        schema=transform.TRANSFORM_JSON,
    ),
    ExecutorSpec(
        id="midaz.create-transaction",
        name="Create Transaction",
        category="Midaz",
        version="v1",
        provider_id="midaz",
        schema=midaz.CREATE_TRANSACTION,
    ),
    ExecutorSpec(
        id="midaz.create-account",
        name="Create Account",
        category="Midaz",
        version="v1",
        provider_id="midaz",
        schema=midaz.CREATE_ACCOUNT,
    ),
    ExecutorSpec(
        id="midaz.get-account",
        name="Get Account",
        category="Midaz",
        version="v1",
        provider_id="midaz",
        schema=midaz.GET_ACCOUNT,
    ),
    ExecutorSpec(
        id="midaz.get-account-balance",
        name="Get Account Balance",
        category="Midaz",
        version="v1",
        provider_id="midaz",
        schema=midaz.GET_ACCOUNT_BALANCE,
    ),
    ExecutorSpec(
        id="tracer.validate-transaction",
        name="Validate Transaction",
        category="Tracer",
        version="v1",
        provider_id="tracer",
        schema=tracer.VALIDATE_TRANSACTION,
    ),
    ExecutorSpec(
        id="tracer.list-validations",
        name="List Validations",
        category="Tracer",
        version="v1",
        provider_id="tracer",
        schema=tracer.LIST_VALIDATIONS,
    ),
)

_TRIGGERS = (
    TriggerSpec(id="webhook", name="Webhook", version="v1", schema=trigger_schemas.WEBHOOK),
    TriggerSpec(id="manual", name="Manual", version="v1", schema=trigger_schemas.MANUAL),
)

_TEMPLATES = (
    TemplateSpec(
        id="tracer-midaz-validation",
        name="Tracer Validation + Midaz Transaction",
        description=(
            "Receives a webhook request, validates the transaction via Tracer, and creates a "
            "transaction in Midaz if approved"
        ),
        version="v1",
        category="Compliance",
        param_schema=template_params.TRACER_MIDAZ_VALIDATION,
        provider_params={"tracerProviderConfigId": "tracer", "midazProviderConfigId": "midaz"},
    ),
    TemplateSpec(
        id="payment-fraud-check",
        name="Payment Fraud Check",
        description=(
            "Receives a payment by webhook, scores it with a fraud service, and approves it "
            "when the score is below the threshold, else rejects it"
        ),
        version="v1",
        category="Payments",
        param_schema=template_params.PAYMENT_FRAUD_CHECK,
        provider_params={"fraudProviderConfigId": "http"},
    ),
)


Spec = TypeVar("Spec", ProviderSpec, ExecutorSpec, TriggerSpec, TemplateSpec)


def _by_id(specs: tuple[Spec, ...]) -> dict[str, Spec]:
    return {spec.id: spec for spec in sorted(specs, key=lambda spec: spec.id)}


_PROVIDERS_BY_ID = _by_id(_PROVIDERS)
_EXECUTORS_BY_ID = _by_id(_EXECUTORS)
_TRIGGERS_BY_ID = _by_id(_TRIGGERS)
_TEMPLATES_BY_ID = _by_id(_TEMPLATES)


def providers() -> list[ProviderSpec]:
    return list(_PROVIDERS_BY_ID.values())


def executors() -> list[ExecutorSpec]:
    return list(_EXECUTORS_BY_ID.values())


def triggers() -> list[TriggerSpec]:
    return list(_TRIGGERS_BY_ID.values())


def templates() -> list[TemplateSpec]:
    return list(_TEMPLATES_BY_ID.values())


def get_provider(id: str) -> ProviderSpec | None:
    return _PROVIDERS_BY_ID.get(id)


def get_executor(id: str) -> ExecutorSpec | None:
    return _EXECUTORS_BY_ID.get(id)


def get_trigger(id: str) -> TriggerSpec | None:
    return _TRIGGERS_BY_ID.get(id)


def get_template(id: str) -> TemplateSpec | None:
    return _TEMPLATES_BY_ID.get(id)


def executors_for_provider(provider_id: str) -> list[ExecutorSpec]:
    """The executors that call `provider_id`, sorted by id; [] for an unknown provider."""
    return [spec for spec in _EXECUTORS_BY_ID.values() if spec.provider_id == provider_id]
