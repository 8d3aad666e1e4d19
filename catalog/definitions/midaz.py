"""Midaz, Lerian's core-banking ledger: its provider configuration, its four executors, and
how to call it (each executor's route on one of two components; OIDC or a bearer API key)."""

from typing import Any

from catalog.definitions.common import (
    decimal_text,
    document,
    free_object,
    http_url,
    required_text,
    secret_text,
    text,
    uuid_text,
)
from executors.runtime.auth import (
    NO_AUTHENTICATION,
    Authenticator,
    HeaderCredential,
    OAuthAuthenticator,
    optional_field,
    required_field,
    scopes_field,
)
from executors.runtime.urls import fill_path, join_url

# The guide's form: one base URL for both components and an API key sent as a bearer token.
_SHORT_FORM: dict[str, Any] = {
    "title": "Single base URL and API key",
    "type": "object",
    "required": ["base_url", "api_key"],
    "properties": {
        "base_url": http_url("Base URL of both the onboarding and the transaction components."),
        "api_key": secret_text("Sent as `Authorization: Bearer <api_key>`."),
        "organization_id": uuid_text("Organization used when the node does not name one."),
        "ledger_id": uuid_text("Ledger used when the node does not name one."),
    },
    # Closed, so that a long-form configuration never matches this alternative too.
    "additionalProperties": False,
}

_LONG_FORM: dict[str, Any] = {
    "title": "Component URLs and OIDC client credentials",
    "type": "object",
    "required": ["onboarding_base_url", "transaction_base_url", "organization_id", "ledger_id"],
    "properties": {
        "onboarding_base_url": http_url(
            "Onboarding component (organizations, ledgers, assets, accounts)."
        ),
        "transaction_base_url": http_url(
            "Transaction component (transactions, operations, balances)."
        ),
        "organization_id": uuid_text("Organization used when the node does not name one."),
        "ledger_id": uuid_text("Ledger used when the node does not name one."),
        "auth": {
            "type": "object",
            "description": "OIDC client credentials for a JWT bearer token.",
            "required": ["issuer_url", "client_id", "client_secret"],
            "properties": {
                "issuer_url": http_url("OIDC issuer that hands out the tokens."),
                "client_id": required_text("OAuth 2.0 client id."),
                "client_secret": secret_text("OAuth 2.0 client secret."),
                "scopes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Scopes to request.",
                },
            },
        },
    },
}

PROVIDER_CONFIG = document(
    {"oneOf": [_SHORT_FORM, _LONG_FORM]},
    title="Midaz provider configuration",
    description="Either one base URL with an API key, or the two component URLs with OIDC.",
)


def _entry(direction: str) -> dict[str, Any]:
    """One source or destination of a transaction."""
    return {
        "type": "object",
        "required": ["accountAlias"],
        "properties": {
            "accountAlias": text("Account alias, e.g. @user123."),
            "amount": {
                "type": "object",
                "description": f"Exact amount {direction} this account.",
                "properties": {
                    "asset": text("Asset code."),
                    "value": decimal_text("Amount as a decimal string."),
                },
            },
            "share": free_object(f"Proportional share {direction} this account."),
            "description": text("Description of this entry."),
            "metadata": free_object("Metadata of this entry."),
        },
    }


CREATE_TRANSACTION = document(
    {
        "type": "object",
        "required": ["send"],
        "properties": {
            "description": text("Transaction description.", maxLength=256),
            "code": text("Transaction code.", maxLength=100),
            "pending": {
                "type": "boolean",
                "default": False,
                "description": "Create a pending transaction that must be committed later.",
            },
            "chartOfAccountsGroupName": text("Chart of accounts group name."),
            "metadata": free_object("Custom metadata."),
            "send": {
                "type": "object",
                "description": "Asset, amount, sources and destinations.",
                "required": ["asset", "value"],
                "properties": {
                    "asset": text("Asset code, e.g. BRL."),
                    "value": decimal_text("Amount as a decimal string."),
                    "source": {
                        "type": "object",
                        "properties": {"from": {"type": "array", "items": _entry("from")}},
                    },
                    "distribute": {
                        "type": "object",
                        "properties": {"to": {"type": "array", "items": _entry("to")}},
                    },
                },
            },
        },
    },
    title="Create Midaz transaction",
    description="POST .../transactions/json on the transaction component.",
)

CREATE_ACCOUNT = document(
    {
        "type": "object",
        "required": ["assetCode", "type"],
        "properties": {
            "name": text("Account name.", maxLength=256),
            "assetCode": text("Asset code, e.g. BRL.", maxLength=100),
            "type": text("Account type.", maxLength=256),
            "alias": text("Account alias, e.g. @user123.", maxLength=100),
            "parentAccountId": uuid_text("Parent account, for account hierarchies."),
            "portfolioId": uuid_text("Portfolio of the account."),
            "segmentId": uuid_text("Segment of the account."),
            "entityId": text("External entity identifier.", maxLength=256),
            "status": {
                "type": "object",
                "description": "Account status.",
                "properties": {
                    "code": text("Status code."),
                    "description": text("Status description."),
                },
            },
            "metadata": free_object("Custom metadata."),
        },
    },
    title="Create Midaz account",
    description="POST .../accounts on the onboarding component.",
)

GET_ACCOUNT = document(
    {
        "type": "object",
        "required": ["accountId"],
        "properties": {"accountId": uuid_text("Account to read.")},
    },
    title="Get Midaz account",
    description="GET .../accounts/{accountId} on the onboarding component.",
)

GET_ACCOUNT_BALANCE = document(
    {
        "type": "object",
        "required": ["accountId"],
        "properties": {
            "accountId": uuid_text("Account whose balances to read."),
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": 10,
                "description": "Page size.",
            },
            "cursor": text("Cursor of the page to read."),
        },
    },
    title="Get Midaz account balance",
    description="GET .../accounts/{accountId}/balances on the transaction component.",
)


_ACCOUNTS = "/v1/organizations/{organization_id}/ledgers/{ledger_id}/accounts"
# Executor id → (method, base URL key of the long form, path template) (upstream-engine §5.2).
ROUTES: dict[str, tuple[str, str, str]] = {
    "midaz.create-transaction": (
        "POST",
        "transaction_base_url",
        "/v1/organizations/{organization_id}/ledgers/{ledger_id}/transactions/json",
    ),
    "midaz.create-account": ("POST", "onboarding_base_url", _ACCOUNTS),
    "midaz.get-account": ("GET", "onboarding_base_url", _ACCOUNTS + "/{accountId}"),
    "midaz.get-account-balance": (
        "GET",
        "transaction_base_url",
        _ACCOUNTS + "/{accountId}/balances",
    ),
}


def route(
    executor_id: str, config: dict[str, Any], node_data: dict[str, Any], body: Any
) -> tuple[str, str]:
    """(method, URL) of a Midaz executor call; path parameters come from the provider config,
    else the node data, else the request body's top level. ValueError when unusable."""
    try:
        method, base_key, template = ROUTES[executor_id]
    except KeyError:
        raise ValueError(f"unknown midaz executor: {executor_id}") from None
    key = "base_url" if "base_url" in config else base_key
    base = config.get(key)
    if not isinstance(base, str) or not base.strip():
        raise ValueError(f'missing required field "{key}" in provider config')
    base = base.strip().rstrip("/")
    path = fill_path(template, executor_id, config, node_data, body)
    version = path.lstrip("/").split("/", 1)[0]
    if base.rsplit("/", 1)[-1] == version:
        # The guide's short form ends in the version (`…/api/v1`): do not say it twice.
        path = path.lstrip("/").removeprefix(version)
    return method, join_url(base, path)


def authenticator(config: dict[str, Any], owner: str) -> Authenticator:
    """Long form: OIDC client credentials through discovery; short form: Bearer api_key."""
    auth = config.get("auth")
    if auth:
        return OAuthAuthenticator(
            "oidc_client_credentials",
            issuer_url=required_field(auth, "midaz auth", "issuer_url"),
            client_id=required_field(auth, "midaz auth", "client_id"),
            client_secret=required_field(auth, "midaz auth", "client_secret"),
            scopes=scopes_field(auth, "midaz auth", []),
            owner=owner,
        )
    api_key = optional_field(config, "api_key")
    if api_key:
        return HeaderCredential("bearer", "Authorization", f"Bearer {api_key}")
    return NO_AUTHENTICATION
