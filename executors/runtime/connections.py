"""Where and how to call a provider: the connection a provider configuration describes, and the
URLs of the Midaz executors (upstream-engine §5.2/§5.3)."""

from dataclasses import dataclass
from string import Formatter
from typing import Any
from urllib.parse import quote

from django.conf import settings

from executors.runtime.auth import Authenticator, authenticator_for
from executors.runtime.http import OutboundRequest

# Upstream's order when one base URL stands for the provider (connectivity tests).
BASE_URL_KEYS = ("base_url", "onboarding_base_url", "transaction_base_url")

_ACCOUNTS = "/v1/organizations/{organization_id}/ledgers/{ledger_id}/accounts"
MIDAZ_ROUTES: dict[str, tuple[str, str, str]] = {
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


def join_url(base: str, path: str) -> str:
    """`base` and `path` with exactly one `/` between them; an empty path leaves `base` as is."""
    if not path:
        return base
    return base.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class Connection:
    base_url: str
    headers: dict[str, str]
    timeout: float
    verify_tls: bool
    authenticator: Authenticator

    def request(
        self,
        method: str,
        path: str = "",
        *,
        url: str | None = None,
        headers: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any | None = None,
        timeout: float | None = None,
    ) -> OutboundRequest:
        """A request to `path` under the base URL (or to `url` as given, e.g. from
        `midaz_call`), carrying the provider's headers, timeout and TLS setting."""
        return OutboundRequest(
            method=method,
            url=url or join_url(self.base_url, path),
            headers={**self.headers, **(headers or {})},
            query=dict(query or {}),
            body=body,
            timeout=timeout or self.timeout,
            verify_tls=self.verify_tls,
        )


def base_url_of(config: dict[str, Any]) -> str:
    """The first non-empty base URL of a configuration, "" when it has none."""
    for key in BASE_URL_KEYS:
        value = config.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _timeout(config: dict[str, Any]) -> float:
    value = config.get("timeout_seconds")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return float(settings.FLOWKER_HTTP_TIMEOUT_SECONDS)


def connection_for(provider_id: str, config: dict[str, Any], *, owner: str = "") -> Connection:
    """The connection of a decrypted provider configuration; ValueError when it is unusable.
    `owner` is the provider configuration's id (it scopes cached OAuth2 tokens)."""
    headers = config.get("headers")
    return Connection(
        base_url=base_url_of(config),
        headers={
            name: value
            for name, value in (headers.items() if isinstance(headers, dict) else ())
            if isinstance(value, str)
        },
        timeout=_timeout(config),
        verify_tls=config.get("verify_tls", True) is not False,
        authenticator=authenticator_for(provider_id, config, owner=owner),
    )


def _path_parameter(name: str, executor_id: str, sources: tuple[dict[str, Any], ...]) -> str:
    for source in sources:
        value = source.get(name)
        if isinstance(value, str) and value:
            if value in (".", ".."):
                raise ValueError(f'invalid path parameter "{name}" for executor {executor_id}')
            return quote(value, safe="")
    raise ValueError(f'missing required path parameter "{name}" for executor {executor_id}')


def midaz_call(
    executor_id: str, config: dict[str, Any], node_data: dict[str, Any], body: dict[str, Any]
) -> tuple[str, str]:
    """(method, URL) of a Midaz executor call; path parameters come from the provider config,
    else the node data, else the request body's top level."""
    try:
        method, base_key, template = MIDAZ_ROUTES[executor_id]
    except KeyError:
        raise ValueError(f"unknown midaz executor: {executor_id}") from None
    key = "base_url" if "base_url" in config else base_key
    base = config.get(key)
    if not isinstance(base, str) or not base.strip():
        raise ValueError(f'missing required field "{key}" in provider config')
    sources = tuple(s for s in (config, node_data, body) if isinstance(s, dict))
    names = [name for _, name, _, _ in Formatter().parse(template) if name]
    values = {name: _path_parameter(name, executor_id, sources) for name in names}
    base = base.strip().rstrip("/")
    path = template.format(**values)
    version = path.lstrip("/").split("/", 1)[0]
    if base.rsplit("/", 1)[-1] == version:
        # The guide's short form ends in the version (`…/api/v1`): do not say it twice.
        path = path.lstrip("/").removeprefix(version)
    return method, join_url(base, path)
