"""Where and how to call a provider: the connection a provider configuration describes (base
URL, headers, timeout, TLS, and the credential of the provider's catalog hook)."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog import registry
from executors.runtime.auth import Authenticator
from executors.runtime.http import OutboundRequest
from executors.runtime.urls import join_url

# Upstream's order when one base URL stands for the provider (connectivity tests).
BASE_URL_KEYS = ("base_url", "onboarding_base_url", "transaction_base_url")


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
        a provider's router), carrying the provider's headers, timeout and TLS setting."""
        return OutboundRequest(
            method=method,
            url=url or join_url(self.base_url, path),
            headers={**self.headers, **(headers or {})},
            query=dict(query or {}),
            body=body,
            timeout=timeout or self.timeout,
            verify_tls=self.verify_tls,
            # The configured header values are secret (catalog); never record them.
            secrets=tuple(self.headers.values()),
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


def authenticator_for(
    provider_id: str, config: dict[str, Any], *, owner: str = ""
) -> Authenticator:
    """The authenticator of a (decrypted) provider configuration, from its provider's catalog
    hook; ValueError when it is unusable. `owner` (the provider configuration's id) scopes its
    cached OAuth2 tokens."""
    provider = registry.get_provider(provider_id)
    if provider is None:
        raise ValueError(f"unknown provider: {provider_id}")
    return provider.authenticator(config, owner)


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
