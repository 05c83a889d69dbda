"""Which URLs reach this machine, and which are public https URLs.

Shared by the settings (refused at start outside the local stage) and the FranceConnect adapter
(the issuer and every endpoint its discovery document announces).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback_host(host: str) -> bool:
    """This machine: localhost names, 127.0.0.0/8 in any IPv4 notation, ::1, IPv4-mapped
    loopback and the unspecified address (0.0.0.0 and :: reach this machine too)."""
    host = host.rstrip(".").casefold()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:
            # The short and numeric forms resolvers also accept: 127.1, 2130706433, 0x7f.1.
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def check_public_https_url(name: str, value: str) -> None:
    """Refuse (ValueError naming the environment variable) unless `value` is an https URL whose
    host is not this machine."""
    try:
        parts = urlsplit(value)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # a malformed IPv6 host
        scheme, host = "", None
    if scheme != "https" or not host:
        raise ValueError(f"{name.upper()} must be an https URL outside the local stage, got {value!r}")
    if is_loopback_host(host):
        raise ValueError(
            f"{name.upper()} must not point to this machine outside the local stage, got {value!r}"
        )


def is_loopback_url(value: str) -> bool:
    """An http or https URL whose host is this machine (the local stack's emulators)."""
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname or "")
    except ValueError:  # a malformed IPv6 host
        return False
