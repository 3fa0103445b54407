from ipaddress import IPv4Address, IPv4Interface

from nvrsim.simulator.core.device import Network


def test_a_networks_address_as_text_follows_its_address():
    network = Network(address=IPv4Interface("127.77.0.5/24"), gateway=IPv4Address("127.77.0.1"))
    assert network.ip == "127.77.0.5"
    network.address = IPv4Interface("127.77.0.9/24")  # as a move through the network sets it
    assert network.ip == "127.77.0.9"
    assert network == Network(
        address=IPv4Interface("127.77.0.9/24"), gateway=IPv4Address("127.77.0.1")
    )
