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
    """The caller's IP: the socket's, or X-Forwarded-For's first hop when configured to trust it."""
    candidates = []
    if settings.FLOWKER_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        candidates.append(forwarded.split(",")[0].strip())
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
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
