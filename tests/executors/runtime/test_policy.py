"""The outbound address policy: pure classification (no traffic) and the static pre-flight."""

import re
import socket

import pytest

from executors.runtime.policy import (
    NameResolutionError,
    OutboundPolicyError,
    check_destination,
    classify_address,
    classify_host_name,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "cloud metadata endpoint"),
        ("fd00:ec2::254", "cloud metadata endpoint"),
        ("100.100.100.200", "cloud metadata endpoint"),
        ("169.254.10.1", "link-local address"),
        ("fe80::1", "link-local address"),
        ("fe80::1%1", "link-local address"),
        ("0.0.0.0", "this-network range 0.0.0.0/8"),
        ("0.1.2.3", "this-network range 0.0.0.0/8"),
        ("::", "unspecified address"),
        ("224.0.0.1", "multicast address"),
        ("239.255.255.250", "multicast address"),
        ("ff02::1", "multicast address"),
        ("240.0.0.1", "reserved range 240.0.0.0/4"),
        ("255.255.255.255", "reserved range 240.0.0.0/4"),
        ("192.0.2.10", "documentation range"),
        ("2001:db8::1", "documentation range"),
        ("198.18.0.1", "benchmarking range"),
        ("::ffff:169.254.169.254", "cloud metadata endpoint"),
    ],
)
def test_always_refused_addresses_are_refused_even_when_private_is_allowed(address, reason):
    assert classify_address(address) == reason
    assert classify_address(address, allow_private=True) == reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.1.2.3", "loopback address"),
        ("::1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("172.31.255.255", "private address"),
        ("192.168.1.1", "private address"),
        ("fc00::1", "private address"),
        ("fd12:3456::1", "private address"),
        ("100.64.0.1", "shared address space (CGNAT)"),
        ("100.127.255.254", "shared address space (CGNAT)"),
        ("::ffff:10.0.0.1", "private address"),
        ("::ffff:127.0.0.1", "loopback address"),
        ("64:ff9b::a00:1", "private address"),
    ],
)
def test_private_addresses_are_refused_unless_allowed(address, reason):
    refusal = classify_address(address)
    assert refusal is not None
    assert refusal.startswith(reason)
    assert "FLOWKER_OUTBOUND_ALLOW_PRIVATE" in refusal
    assert classify_address(address, allow_private=True) is None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111"]
)
def test_public_addresses_are_permitted(address):
    assert classify_address(address) is None
    assert classify_address(address, allow_private=True) is None


@pytest.mark.parametrize(
    "name",
    [
        "metadata.google.internal",
        "METADATA.GOOGLE.INTERNAL.",
        "metadata.azure.internal",
        "metadata",
    ],
)
def test_cloud_metadata_names_are_always_refused(name):
    assert classify_host_name(name) == "cloud metadata endpoint"
    assert classify_host_name(name, allow_private=True) == "cloud metadata endpoint"


def test_the_name_localhost_is_refused_unless_private_is_allowed():
    assert classify_host_name("localhost").startswith("the name localhost")
    assert classify_host_name("api.localhost").startswith("the name localhost")
    assert classify_host_name("localhost", allow_private=True) is None
    assert classify_host_name("api.example.com") is None


def test_check_destination_refuses_localhost_without_the_private_flag(settings):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(OutboundPolicyError, match="outbound policy refuses localhost"):
        check_destination("http://localhost:8080/health")


def test_check_destination_refuses_a_loopback_literal_without_the_private_flag(settings):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(OutboundPolicyError, match="loopback address"):
        check_destination("http://127.0.0.1:8080/health")


def test_check_destination_permits_loopback_with_the_private_flag(settings):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = True
    check_destination("http://127.0.0.1:8080/health")
    check_destination("https://localhost/")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "127.0.0.1:80"])
def test_check_destination_refuses_schemes_other_than_http(url):
    with pytest.raises(OutboundPolicyError, match="is not http or https"):
        check_destination(url)


def test_check_destination_refuses_a_url_without_host():
    with pytest.raises(OutboundPolicyError, match="no host"):
        check_destination("http:///path")


def test_check_destination_reports_a_name_that_does_not_resolve(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # Stands in for a failing resolver, so the test never sends a DNS query.
    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(NameResolutionError, match=re.escape("cannot resolve host fraud.example")):
        check_destination("https://fraud.example/score")
