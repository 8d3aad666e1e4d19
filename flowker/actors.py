"""Who did it: the actor recorded in the audit trail for every change."""

import ipaddress
from dataclasses import dataclass
from typing import Any

from django.conf import settings

UNKNOWN_IP = "0.0.0.0"


@dataclass(frozen=True)
class Actor:
    type: str  # api_key | user | system | webhook | anonymous
    id: str
    ip: str = UNKNOWN_IP

    @classmethod
    def system(cls) -> "Actor":
        return cls(type="system", id="flowker")


def client_ip(request: Any) -> str:
    """The caller's IP. With N trusted proxies in front (FLOWKER_TRUSTED_PROXY_COUNT), it is the
    X-Forwarded-For hop the Nth proxy appended, counted from the right: hops further left were
    written by the caller and prove nothing. Without proxies (or with fewer hops than proxies),
    the socket's address."""
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.FLOWKER_TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return UNKNOWN_IP


def actor_from_request(request: Any) -> Actor:
    """The API key's name, the admin user, or anonymous when auth is disabled."""
    ip = client_ip(request)
    api_key = getattr(request, "auth", None)
    if api_key is not None and hasattr(api_key, "prefix"):
        return Actor(type="api_key", id=api_key.name, ip=ip)
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(type="user", id=user.get_username(), ip=ip)
    return Actor(type="anonymous", id="anonymous", ip=ip)
