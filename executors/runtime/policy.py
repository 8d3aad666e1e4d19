"""Outbound address policy (CONTRACT §8): which destinations Flowker may call.

`classify_address` and `classify_host_name` are pure; the transport applies them to the address
it actually connects to, and `check_destination` is the static pre-flight of connectivity tests.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Instance-metadata services hand out cloud credentials: never reachable, whatever the flags.
METADATA_HOST_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.gcp.internal",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean…
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer
    )
)

_net = ipaddress.ip_network
ALWAYS_REFUSED = (
    (_net("0.0.0.0/8"), "this-network range 0.0.0.0/8"),
    (_net("::/128"), "unspecified address"),
    (_net("169.254.0.0/16"), "link-local address"),
    (_net("fe80::/10"), "link-local address"),
    (_net("224.0.0.0/4"), "multicast address"),
    (_net("ff00::/8"), "multicast address"),
    (_net("240.0.0.0/4"), "reserved range 240.0.0.0/4"),
    (_net("192.0.0.0/24"), "reserved range 192.0.0.0/24"),
    (_net("192.0.2.0/24"), "documentation range"),
    (_net("198.51.100.0/24"), "documentation range"),
    (_net("203.0.113.0/24"), "documentation range"),
    (_net("2001:db8::/32"), "documentation range"),
    (_net("198.18.0.0/15"), "benchmarking range"),
    (_net("100::/64"), "discard-only range"),
    (_net("fec0::/10"), "deprecated site-local range"),
)
PRIVATE_UNLESS_ALLOWED = (
    (_net("127.0.0.0/8"), "loopback address"),
    (_net("::1/128"), "loopback address"),
    (_net("10.0.0.0/8"), "private address"),
    (_net("172.16.0.0/12"), "private address"),
    (_net("192.168.0.0/16"), "private address"),
    (_net("fc00::/7"), "private address"),
    (_net("100.64.0.0/10"), "shared address space (CGNAT)"),
)
# IPv6 forms that carry an IPv4 destination: judged by the IPv4 address inside.
_NAT64 = _net("64:ff9b::/96")
_PRIVATE_HINT = "set FLOWKER_OUTBOUND_ALLOW_PRIVATE=true to allow it"


class OutboundPolicyError(Exception):
    """A destination the outbound policy refuses; never retried."""

    def __init__(self, host: str, reason: str, *, address: str | None = None) -> None:
        where = f"{host} ({address})" if address and address != host else host
        super().__init__(f"outbound policy refuses {where}: {reason}")
        self.host = host
        self.reason = reason
        self.address = address


class NameResolutionError(Exception):
    """The destination's host name does not resolve."""

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"cannot resolve host {host}: {detail}")
        self.host = host


def allow_private() -> bool:
    return bool(settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE)


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def classify_address(ip: str | IPAddress, *, allow_private: bool = False) -> str | None:
    """The reason the policy refuses `ip`, or None when it may be connected to."""
    address = _embedded_ipv4(ipaddress.ip_address(ip) if isinstance(ip, str) else ip)
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    if address in METADATA_ADDRESSES:
        return "cloud metadata endpoint"
    for network, reason in ALWAYS_REFUSED:
        if address in network:
            return reason
    for network, reason in PRIVATE_UNLESS_ALLOWED:
        if address in network:
            return None if allow_private else f"{reason}; {_PRIVATE_HINT}"
    if address.is_reserved or address.is_unspecified:
        return "reserved range"
    return None


def classify_host_name(host: str, *, allow_private: bool = False) -> str | None:
    """The reason the policy refuses a host by its name alone, or None."""
    name = host.strip().rstrip(".").lower()
    if name in METADATA_HOST_NAMES:
        return "cloud metadata endpoint"
    if name == "localhost" or name.endswith(".localhost"):
        return None if allow_private else f"the name localhost; {_PRIVATE_HINT}"
    return None


def refuse_host_name(host: str) -> None:
    reason = classify_host_name(host, allow_private=allow_private())
    if reason:
        raise OutboundPolicyError(host, reason)


def refuse_scheme(url: str) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        where = parts.hostname or "the destination"
        raise OutboundPolicyError(where, f"scheme {scheme or '(none)'!r} is not http or https")


def check_destination(url: str) -> None:
    """Static pre-flight: http(s), a host, a name that resolves, every address permitted."""
    refuse_scheme(url)
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise OutboundPolicyError("the destination", "the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise OutboundPolicyError(host, f"invalid port: {exc}") from exc
    refuse_host_name(host)
    try:
        resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NameResolutionError(host, str(exc)) from exc
    permit_private = allow_private()
    for *_, sockaddr in resolved:
        reason = classify_address(sockaddr[0], allow_private=permit_private)
        if reason:
            raise OutboundPolicyError(host, reason, address=sockaddr[0])
