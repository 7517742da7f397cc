"""Decide which address a connection may go to (protection against server-side request forgery).

A non-staff user must not make the server connect to loopback, private, link-local, shared or
unspecified addresses. The check runs on the *resolved* address and the caller connects to that
very address (no second lookup an attacker could flip with a short-TTL DNS record).
"""

import ipaddress
import socket
from dataclasses import dataclass

from messages_app.exceptions import HostNotAllowed, HostNotFound

# Ranges the stdlib flags do not cover on every Python version, or that wrap other addresses.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (shared address space)
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("198.18.0.0/15"),
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 wraps an IPv4 address
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("fc00::/7"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fec0::/10"),
]


@dataclass(frozen=True)
class Endpoint:
    """Where to connect: the name (for TLS verification and display) and the checked address."""

    host: str
    address: str
    port: int


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-mapped (::ffff:127.0.0.1), 6to4 (2002::/16) and Teredo embed an IPv4 address.
        if ip.ipv4_mapped:
            candidates.append(ip.ipv4_mapped)
        if ip.sixtofour:
            candidates.append(ip.sixtofour)
        if ip.teredo:
            candidates.extend(ip.teredo)
        if ip in ipaddress.ip_network("::/96"):  # deprecated IPv4-compatible form ::127.0.0.1
            candidates.append(ipaddress.IPv4Address(int(ip)))
    for candidate in candidates:
        if (candidate.is_private or candidate.is_loopback or candidate.is_link_local
                or candidate.is_multicast or candidate.is_reserved or candidate.is_unspecified
                or any(candidate in net for net in _EXTRA_BLOCKED if net.version == candidate.version)):
            return False
    return True


def resolve(host: str, port: int, *, allow_private: bool) -> Endpoint:
    """Resolve `host` and return the first address the caller may connect to.

    getaddrinfo also normalises the odd spellings of addresses (0x7f.1, 2130706433, 0177.0.0.1,
    [::1]) to the address they really mean, so the check sees what the socket would use.
    """
    name = host.strip().strip("[]")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(str(exc), host=host, port=port) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise HostNotFound("no address", host=host, port=port)
    if allow_private:
        return Endpoint(host=name, address=addresses[0], port=port)
    # Every address must be public: a name resolving to one public and one private address
    # could otherwise be steered to the private one.
    blocked = [address for address in addresses if not is_public_address(address)]
    if blocked:
        raise HostNotAllowed(blocked[0], host=host, port=port)
    return Endpoint(host=name, address=addresses[0], port=port)
