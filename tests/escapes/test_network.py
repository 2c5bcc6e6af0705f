"""The program has no network: not the host's loopback, not anything else."""

import socket
import threading

import pytest

from tests.conftest import execute

pytestmark = pytest.mark.usefixtures("host_is_clean")


@pytest.fixture
def host_listener():
    """A TCP server on the host's 127.0.0.1 that records any connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


async def test_host_loopback_is_unreachable(backend, host_listener):
    port, accepted = host_listener
    source = f"""
import socket
for host in ("127.0.0.1", "localhost", "::1"):
    try:
        socket.create_connection((host, {port}), timeout=1).close()
        print("ESCAPED connect", host)
    except OSError as exc:
        print("BLOCKED", host, type(exc).__name__)
"""
    result = await execute(backend, "python", source)
    assert "ESCAPED" not in result["run"]["output"]
    assert accepted == []


async def test_the_run_has_its_own_network_with_only_loopback(backend):
    source = """
lines = open("/proc/net/dev").read().splitlines()[2:]
print(sorted(line.split(":")[0].strip() for line in lines))
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"].strip() == "['lo']"


async def test_sockets_other_than_unix_are_refused(backend):
    source = """
import socket
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
    try:
        socket.socket(family, socket.SOCK_DGRAM if family != socket.AF_PACKET
                      else socket.SOCK_RAW)
        print("ESCAPED socket", family.name)
    except OSError as exc:
        print("BLOCKED", family.name, exc.errno)
socket.socketpair()
print("unix sockets work")
"""
    result = await execute(backend, "python", source)
    assert "ESCAPED" not in result["run"]["output"]
    assert result["run"]["stdout"].endswith("unix sockets work\n")


async def test_name_resolution_fails(backend):
    source = """
import socket
try:
    socket.getaddrinfo("playground-test.invalid", 80)
    print("ESCAPED resolved")
except OSError as exc:
    print("BLOCKED", type(exc).__name__)
"""
    result = await execute(backend, "python", source)
    assert result["run"]["stdout"].startswith("BLOCKED")
