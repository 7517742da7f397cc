import pytest

from messages_app.exceptions import HostNotAllowed, HostNotFound
from messages_app.netguard import is_public_address, resolve

BLOCKED = [
    "127.0.0.1", "127.1.2.3", "0x7f.1", "2130706433", "0177.0.0.1", "0.0.0.0", "10.1.2.3", "172.16.0.9",
    "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1", "[::1]", "::", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "fe80::1", "fc00::1", "fd12:3456::1", "64:ff9b::7f00:1", "2002:7f00:1::1",
    "224.0.0.1", "localhost",
]


@pytest.mark.parametrize("host", BLOCKED)
def test_it_refuses_private_and_local_destinations_in_every_spelling(host):
    with pytest.raises(HostNotAllowed):
        resolve(host, 993, allow_private=False)


@pytest.mark.parametrize("host", ["8.8.8.8", "2a00:1450:4001:80b::200e", "193.70.0.1"])
def test_it_lets_public_addresses_through(host):
    endpoint = resolve(host, 993, allow_private=False)
    assert is_public_address(endpoint.address)


def test_it_connects_to_the_address_it_checked():
    endpoint = resolve("0x7f.1", 143, allow_private=True)
    assert (endpoint.host, endpoint.address, endpoint.port) == ("0x7f.1", "127.0.0.1", 143)


def test_an_unresolvable_name_is_reported_as_not_found():
    with pytest.raises(HostNotFound):
        resolve("no-such-host.invalid", 993, allow_private=False)
