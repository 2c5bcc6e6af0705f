"""The run's loopback is its own: services the test opens on the host's
127.0.0.1, ::1 and abstract unix names are out of reach, and nothing else
is routed anywhere.

Every probe targets only sockets this file opens on the host. Cases written
against outside addresses (public resolvers, cloud metadata) are covered
structurally instead: the run has no route at all, no internet socket can be
created, and names that need no network do not resolve.
"""

import socket
import threading
import uuid

import pytest

from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")


class Listeners:
    """TCP servers on the host's loopback that record every connection."""

    def __init__(self) -> None:
        self.servers: list[socket.socket] = []
        self.accepted: list[str] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def open(self, family: socket.AddressFamily, address: object) -> socket.socket:
        server = socket.socket(family, socket.SOCK_STREAM)
        server.bind(address)
        server.listen()
        server.settimeout(0.1)
        self.servers.append(server)
        thread = threading.Thread(target=self._serve, args=(server,))
        thread.start()
        self.threads.append(thread)
        return server

    def _serve(self, server: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            self.accepted.append(repr(server.getsockname()))
            conn.close()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        for server in self.servers:
            server.close()


@pytest.fixture
def listeners():
    opened = Listeners()
    yield opened
    opened.close()


CONNECT = """
import socket, sys
for target in sys.argv[1:]:
    family, host, port = target.split(",")
    try:
        s = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET)
        s.settimeout(1)
        s.connect((host, int(port)))
        print("ESCAPED", target)
    except OSError as exc:
        print("BLOCKED", target, exc.errno)
"""


async def test_host_loopback_services_are_unreachable(backend, listeners):
    targets = []
    for _ in range(3):
        port = listeners.open(socket.AF_INET, ("127.0.0.1", 0)).getsockname()[1]
        targets.append(f"4,127.0.0.1,{port}")
    if socket.has_ipv6:
        for _ in range(3):
            port = listeners.open(socket.AF_INET6, ("::1", 0)).getsockname()[1]
            targets.append(f"6,::1,{port}")
    result = await execute(backend, "python", CONNECT, args=targets)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["stdout"].count("BLOCKED") == len(targets)
    assert listeners.accepted == []


async def test_host_udp_on_loopback_receives_nothing(backend):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.3)
    port = receiver.getsockname()[1]
    source = f"""
import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"leak", ("127.0.0.1", {port}))
    print("ESCAPED sent")
except OSError as exc:
    print("BLOCKED", exc.errno)
"""
    try:
        result = await execute(backend, "python", source)
        with pytest.raises(TimeoutError):
            receiver.recv(16)
    finally:
        receiver.close()
    assert result["run"]["stdout"].startswith("BLOCKED")


async def test_host_abstract_unix_sockets_are_unreachable(backend, listeners):
    # Abstract unix names belong to a network namespace, and AF_UNIX is the
    # one family the run may use: the host's names must not be visible.
    name = f"\0playground-escape-test-{uuid.uuid4().hex}"
    listeners.open(socket.AF_UNIX, name)
    source = f"""
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect({name!r})
    print("ESCAPED abstract")
except OSError as exc:
    print("BLOCKED", exc.errno)
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"] == "BLOCKED 111\n"  # ECONNREFUSED
    assert listeners.accepted == []


async def test_raw_sockets_and_link_changes_are_refused(backend):
    source = """
import socket, subprocess
for args in [(socket.AF_PACKET, socket.SOCK_RAW),
             (socket.AF_INET, socket.SOCK_RAW, 1),
             (socket.AF_INET6, socket.SOCK_RAW, 58),
             (socket.AF_NETLINK, socket.SOCK_RAW, 0)]:
    try:
        socket.socket(*args)
        print("ESCAPED socket", args)
    except OSError as exc:
        print("BLOCKED socket", exc.errno)
for command in ("ip link add x type dummy", "ip link set lo down",
                "ip route add default dev lo"):
    done = subprocess.run(command.split(), capture_output=True)
    print("ESCAPED" if done.returncode == 0 else "BLOCKED", command)
print(open("/proc/net/dev").read().count(":"))
"""
    result = await execute(backend, "python", source)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["stdout"].count("BLOCKED") == 7
    assert result["run"]["stdout"].endswith("\n1\n")  # only lo, as before


async def test_nothing_is_routed_and_names_do_not_resolve(backend):
    source = """
import socket
print(len(open("/proc/net/route").read().splitlines()))
print({line.split()[-1] for line in open("/proc/net/ipv6_route")})
for name in ("localhost.invalid", "redis.invalid", "db.invalid"):
    try:
        socket.getaddrinfo(name, 80)
        print("ESCAPED resolved", name)
    except OSError as exc:
        print("BLOCKED", name)
"""
    result = await execute(backend, "python", source)
    lines = result["run"]["stdout"].splitlines()
    assert int(lines[0]) <= 1  # at most a header: no IPv4 route at all
    assert lines[1] in ("{'lo'}", "set()")
    assert "ESCAPED" not in result["run"]["output"]
    assert len(lines) == 5


async def test_no_request_field_turns_networking_on(backend):
    # Unknown request fields are ignored or refused, never a network switch.
    source = """
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("ESCAPED inet")
except OSError as exc:
    print("BLOCKED", exc.errno)
print(open("/proc/net/dev").read().count(":"))
"""
    switches = {"network": True, "enable_network": True, "network_enabled": True}
    result = await execute(backend, "python", source, **switches)
    assert result["run"]["stdout"] == "BLOCKED 97\n1\n"  # EAFNOSUPPORT; only lo
