"""Provider authentication for outbound calls: static credentials, and OAuth2 tokens obtained
with oauthlib and cached, encrypted, in the Django cache that every worker shares."""

import base64
import hashlib
import hmac
import json
import logging
import math
import time
from typing import Any

import redis.exceptions
from django.conf import settings
from django.core.cache import cache
from oauthlib.oauth2 import BackendApplicationClient, LegacyApplicationClient, OAuth2Error

from executors.runtime import transport
from flowker import crypto, jsoncodec

logger = logging.getLogger("flowker.outbound.auth")

TOKEN_KEY_PREFIX = "oauth-token:"
DISCOVERY_KEY_PREFIX = "oidc-discovery:"
LOCK_POLL_SECONDS = 0.05
# A broken cache must not stop calls: without it every call simply fetches its own token.
CACHE_ERRORS = (redis.exceptions.RedisError, OSError)


class TokenError(Exception):
    """The token (or discovery) endpoint did not issue a token; `status_code` is its HTTP status,
    None when it could not be reached."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def transient(self) -> bool:
        """Worth retrying later: unreachable, throttled or a server error."""
        status = self.status_code
        return status is None or status in (408, 425, 429) or status >= 500


class Authenticator:
    """Adds a provider configuration's credentials to outgoing requests. This base sends none."""

    auth_type = "none"
    is_oauth = False

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> None:
        """Add the credentials to a request about to be sent (may replace existing headers)."""

    def invalidate(self) -> None:
        """Drop cached credentials so the next `apply` obtains fresh ones."""

    def endpoints(self) -> tuple[str, ...]:
        """URLs authentication itself calls (token, discovery), for the pre-flight policy check."""
        return ()

    def query_names(self) -> tuple[str, ...]:
        """Query parameters that carry a credential (masked wherever a URL is recorded)."""
        return ()

    def secrets(self) -> tuple[str, ...]:
        """The secret values this authenticator sends, masked wherever they would be recorded."""
        return ()


NO_AUTHENTICATION = Authenticator()


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def basic_credentials(username: str, password: str) -> str:
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class HeaderCredential(Authenticator):
    """A fixed secret in one header: bearer, basic, API key in a header."""

    def __init__(self, auth_type: str, name: str, value: str) -> None:
        self.auth_type = auth_type
        self.name = name
        self.value = value

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> None:
        _set_header(headers, self.name, self.value)

    def secrets(self) -> tuple[str, ...]:
        return (self.value, self.value.partition(" ")[2])


class QueryCredential(Authenticator):
    """An API key sent as a query parameter."""

    auth_type = "api_key"

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> None:
        query[self.name] = self.value

    def query_names(self) -> tuple[str, ...]:
        return (self.name,)

    def secrets(self) -> tuple[str, ...]:
        return (self.value,)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _secret_digest(*secrets: str) -> str:
    """Keyed, so a cache key read from Redis cannot be used to guess the secret offline."""
    message = "\x1f".join(secrets).encode("utf-8")
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except CACHE_ERRORS as exc:
        logger.warning("token cache unavailable", extra={"error": type(exc).__name__})
        return None


def _cache_set(key: str, value: Any, timeout: float) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except CACHE_ERRORS as exc:
        logger.warning("token cache unavailable", extra={"error": type(exc).__name__})


def _cache_add(key: str, timeout: int) -> bool:
    """Take a cache lock; True also when the cache is down (nothing to coordinate with)."""
    try:
        return bool(cache.add(key, "1", timeout=timeout))
    except CACHE_ERRORS as exc:
        logger.warning("token cache unavailable", extra={"error": type(exc).__name__})
        return True


def _cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except CACHE_ERRORS as exc:
        logger.warning("token cache unavailable", extra={"error": type(exc).__name__})


def usable_seconds(expires_in: float) -> float:
    """How long a token is used: its lifetime minus a margin of min(60 s, a tenth of it)."""
    return expires_in - min(60.0, expires_in / 10)


def _endpoint_timeout() -> float:
    return float(settings.FLOWKER_CONNECTIVITY_TIMEOUT_SECONDS)


def _error_detail(content: bytes) -> str:
    """The OAuth2 `error`/`error_description` of a failed token response, if it has them."""
    try:
        document = jsoncodec.loads(content)
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    parts = [str(document[name]) for name in ("error", "error_description") if document.get(name)]
    return (": " + " - ".join(parts))[:300] if parts else ""


class OAuthAuthenticator(Authenticator):
    """OAuth2 client-credentials or password grant, tokens shared through the Django cache.

    The cache key is derived from the owning provider configuration, (token URL, client id,
    username, scopes) and a keyed digest of the client secret and password, so a configuration
    that copies another's visible fields is never served (nor evicts) its token. The cached
    value is Fernet-encrypted. One refresh runs at a time per key; the others wait for its result.
    """

    is_oauth = True

    def __init__(
        self,
        auth_type: str,
        *,
        client_id: str,
        client_secret: str | None,
        token_url: str | None = None,
        issuer_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        scopes: list[str] | None = None,
        verify_tls: bool = True,
        owner: str = "",
    ) -> None:
        self.owner = owner
        self.auth_type = auth_type
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.issuer_url = issuer_url
        self.username = username
        self.password = password
        self.scopes = list(scopes or [])
        self.verify_tls = verify_tls

    def endpoints(self) -> tuple[str, ...]:
        return tuple(url for url in (self.token_url, self.issuer_url) if url)

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> None:
        _set_header(headers, "Authorization", f"Bearer {self.access_token()}")

    def secrets(self) -> tuple[str, ...]:
        return tuple(value for value in (self.client_secret, self.password) if value)

    def invalidate(self) -> None:
        _cache_delete(self._cache_key())

    def access_token(self) -> str:
        """A usable token: the cached one, or one fetched by this or another worker."""
        key = self._cache_key()
        lock_key = key + ":refresh"
        lock_ttl = math.ceil(2 * _endpoint_timeout()) + 1
        give_up_waiting = time.monotonic() + lock_ttl
        while True:
            token = self._cached(key)
            if token:
                return token
            holds_lock = _cache_add(lock_key, lock_ttl)
            if holds_lock or time.monotonic() >= give_up_waiting:
                try:
                    return self._cached(key) or self._fetch_and_store(key)
                finally:
                    if holds_lock:
                        _cache_delete(lock_key)
            time.sleep(LOCK_POLL_SECONDS)

    def fresh_token(self) -> str:
        """Ask the token endpoint now, ignoring the cache (connectivity tests prove credentials)."""
        return self._fetch_and_store(self._cache_key())

    def token_endpoint(self) -> str:
        """The configured token URL, or the one the issuer's discovery document names."""
        if self.token_url:
            return self.token_url
        issuer = (self.issuer_url or "").strip().removesuffix("/")
        key = DISCOVERY_KEY_PREFIX + _digest(issuer)
        cached = _cache_get(key)
        if isinstance(cached, str) and cached:
            return cached
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = transport.exchange(
                "GET",
                url,
                headers={"Accept": "application/json"},
                timeout=_endpoint_timeout(),
                verify=self.verify_tls,
            )
        except transport.TransportError as exc:
            raise TokenError(f"OIDC discovery failed: {exc}") from exc
        if response.status != 200:
            raise TokenError(f"discovery endpoint returned {response.status}", response.status)
        try:
            document = jsoncodec.loads(response.content)
        except ValueError:
            document = None
        endpoint = document.get("token_endpoint") if isinstance(document, dict) else None
        if not isinstance(endpoint, str) or not endpoint:
            raise TokenError("discovery document missing token_endpoint", response.status)
        _cache_set(key, endpoint, settings.FLOWKER_OIDC_DISCOVERY_TTL)
        return endpoint

    def _cache_key(self) -> str:
        scopes = " ".join(sorted(set(self.scopes)))
        return TOKEN_KEY_PREFIX + _digest(
            self.owner,
            self.token_endpoint(),
            self.client_id,
            self.username or "",
            scopes,
            _secret_digest(self.client_secret or "", self.password or ""),
        )

    def _cached(self, key: str) -> str | None:
        sealed = _cache_get(key)
        if not isinstance(sealed, str):
            return None
        try:
            entry = json.loads(crypto.decrypt(sealed))
        except (crypto.InvalidToken, ValueError):
            return None
        if time.time() >= entry.get("usable_until", 0):
            return None
        return entry.get("access_token") or None

    def _fetch_and_store(self, key: str) -> str:
        token = self._request_token()
        expires_in = token.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            lifetime = usable_seconds(float(expires_in))
            entry = {
                "access_token": token["access_token"],
                "scope": " ".join(token.get("scope") or self.scopes),
                "usable_until": time.time() + lifetime,
            }
            _cache_set(key, crypto.encrypt(json.dumps(entry)), math.ceil(lifetime))
        return str(token["access_token"])

    def _request_token(self) -> dict[str, Any]:
        scope = self.scopes or None
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        client: BackendApplicationClient | LegacyApplicationClient
        if self.username is None:
            client = BackendApplicationClient(self.client_id, scope=scope)
            body = client.prepare_request_body(scope=scope)
            headers["Authorization"] = basic_credentials(self.client_id, self.client_secret or "")
        else:
            client = LegacyApplicationClient(self.client_id, scope=scope)
            body = client.prepare_request_body(
                username=self.username,
                password=self.password or "",
                scope=scope,
                include_client_id=True,
                client_secret=self.client_secret or None,
            )
        url = self.token_endpoint()
        try:
            response = transport.exchange(
                "POST",
                url,
                headers=headers,
                data=body,
                timeout=_endpoint_timeout(),
                verify=self.verify_tls,
            )
        except transport.TransportError as exc:
            raise TokenError(f"token endpoint unreachable: {exc}") from exc
        if not 200 <= response.status < 300:
            detail = _error_detail(response.content)
            raise TokenError(f"token endpoint returned {response.status}{detail}", response.status)
        text = response.content.decode("utf-8", errors="replace")
        try:
            return dict(client.parse_request_body_response(text, scope=scope))
        except Warning as changed:
            # oauthlib reports a granted scope that differs from the request as a Warning
            # (unless a process-wide env var is set); the token it carries is valid.
            return dict(changed.token)
        except (OAuth2Error, ValueError, RecursionError) as exc:
            raise TokenError(
                f"token endpoint returned an unusable token response: {exc}", response.status
            ) from exc


def required_field(fields: dict[str, Any], context: str, name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{context} config: {name} is required")
    return value


def optional_field(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value else None


def scopes_field(fields: dict[str, Any], context: str, default: list[str]) -> list[str]:
    scopes = fields.get("scopes")
    if scopes is None:
        return default
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValueError(f"{context} config: scopes must be a list of strings")
    return scopes


def _oidc(
    auth_type: str, fields: dict[str, Any], verify_tls: bool, owner: str
) -> OAuthAuthenticator:
    token_url = optional_field(fields, "tokenURL")
    issuer_url = optional_field(fields, "issuer_url")
    if not token_url and not issuer_url:
        raise ValueError(f"{auth_type} config: tokenURL (or issuer_url) is required")
    password_grant = auth_type == "oidc_user"
    return OAuthAuthenticator(
        auth_type,
        token_url=token_url,
        issuer_url=issuer_url,
        client_id=required_field(fields, auth_type, "clientID"),
        client_secret=(
            optional_field(fields, "clientSecret")
            if password_grant
            else required_field(fields, auth_type, "clientSecret")
        ),
        username=required_field(fields, auth_type, "username") if password_grant else None,
        password=required_field(fields, auth_type, "password") if password_grant else None,
        scopes=scopes_field(fields, auth_type, ["openid"] if password_grant else []),
        verify_tls=verify_tls,
        owner=owner,
    )


def _api_key(fields: dict[str, Any]) -> Authenticator:
    name = required_field(fields, "api_key", "key")
    value = required_field(fields, "api_key", "value")
    location = fields.get("location") or "header"
    if location == "header":
        return HeaderCredential("api_key", name, value)
    if location == "query":
        return QueryCredential(name, value)
    raise ValueError("api_key config: location must be 'header' or 'query'")


def authenticator_from_block(authentication: Any, verify_tls: bool, owner: str) -> Authenticator:
    """The `authentication: {type, config}` block of an `http` provider configuration."""
    if not authentication:
        return NO_AUTHENTICATION
    auth_type = authentication.get("type") or "none"
    fields = authentication.get("config") or {}
    if auth_type == "none":
        return NO_AUTHENTICATION
    if auth_type == "api_key":
        return _api_key(fields)
    if auth_type == "bearer":
        token = required_field(fields, "bearer", "token")
        return HeaderCredential("bearer", "Authorization", f"Bearer {token}")
    if auth_type == "basic":
        username = required_field(fields, "basic", "username")
        password = required_field(fields, "basic", "password")
        return HeaderCredential("basic", "Authorization", basic_credentials(username, password))
    if auth_type in ("oidc_client_credentials", "oidc_user"):
        return _oidc(auth_type, fields, verify_tls, owner)
    raise ValueError(f"unknown auth type: {auth_type}")
