"""`make bench`: the sandbox's cost against the bare process, row by row.

Every row measures the playground and its baseline in the same run,
interleaved where they are latencies, and prints median, 90th percentile and
the ratio. Rows 2 to 7 drive a local daphne started here; row 1 drives a
supervisor of this process directly. Under five minutes on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import site  # noqa: E402
from executor import config  # noqa: E402
from executor.backends.local import SupervisorConnection  # noqa: E402
from executor.job import Job, Stage, new_run_id  # noqa: E402
from tests import servers  # noqa: E402

PYTHON = "/usr/bin/python3"
BIG_OUTPUT_BYTES = 20_000_000
BIG_OUTPUT = f"import sys\nsys.stdout.buffer.write(b'x' * {BIG_OUTPUT_BYTES})\n"


@dataclass
class Row:
    name: str
    unit: str
    ours: list[float]
    base: list[float]
    target: str = ""
    higher_is_better: bool = False
    met: bool | None = None
    runs: int = 0  # hello runs the row made on the site

    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.base)


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10)[8]


def ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


async def interleave(
    count: int,
    ours: Callable[[], Awaitable[float]],
    base: Callable[[], Awaitable[float]],
) -> tuple[list[float], list[float]]:
    """Alternate the two so that load from elsewhere falls on both alike."""
    a, b = [], []
    for _ in range(count):
        a.append(await ours())
        b.append(await base())
    return a, b


async def timed(action: Awaitable[object]) -> float:
    started = time.perf_counter()
    await action
    return time.perf_counter() - started


# -- row 1: /bin/true through the executor ---------------------------------


def true_job() -> Job:
    limits = config.get().stage_limits("run", 4096)
    return Job(
        new_run_id(),
        "bench",
        "1",
        [],
        [Stage("run", ["/bin/true"], limits)],
        {"PATH": "/usr/bin:/bin"},
    )


async def run_job(connection: SupervisorConnection, job: Job) -> None:
    run = await connection.submit(job)
    async for _ in run.events():
        pass


async def spawn(*argv: str, stdout: int | None = None) -> None:
    process = await asyncio.create_subprocess_exec(*argv, stdout=stdout)
    if stdout == asyncio.subprocess.PIPE:
        await process.communicate()
    await process.wait()


async def row_true(count: int) -> Row:
    connection = SupervisorConnection(config.get())
    await connection.start()
    try:
        await asyncio.sleep(0.5)  # the pool fills
        await interleave(
            20,
            lambda: timed(run_job(connection, true_job())),
            lambda: timed(spawn("/bin/true")),
        )
        ours, base = await interleave(
            count,
            lambda: timed(run_job(connection, true_job())),
            lambda: timed(spawn("/bin/true")),
        )
    finally:
        await connection.close()
    return Row(
        "1. /bin/true, executor vs bare spawn", "ms", ms(ours), ms(base), "<= 3x"
    )


# -- rows 2 to 7: the site ---------------------------------------------------


HELLO_BODY = site.execute_body()
# A run with an argument never takes a pooled interpreter started before it
# (runtimes' `prestart`): its interpreter starts with the run.
COLD_BODY = site.execute_body(args=["x"])


async def http_hello(client: site.HttpClient, body: bytes = HELLO_BODY) -> float:
    started = time.perf_counter()
    status, answer = await client.post("/api/v2/execute", body)
    if status != 200 or answer["run"]["stdout"] != "hello\n":
        raise RuntimeError(f"the bench run failed: {status} {answer}")
    return time.perf_counter() - started


async def bare_hello() -> float:
    return await timed(spawn(PYTHON, "-c", site.HELLO, stdout=asyncio.subprocess.PIPE))


async def bare_first_byte() -> tuple[float, float]:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        PYTHON, "-c", site.HELLO, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    await process.stdout.read(1)
    first = time.perf_counter() - started
    await process.communicate()
    return first, time.perf_counter() - started


async def row_http(
    address: str, count: int, name: str, body: bytes, target: str = ""
) -> Row:
    client = site.HttpClient(address)
    await interleave(5, lambda: http_hello(client, body), bare_hello)
    ours, base = await interleave(count, lambda: http_hello(client, body), bare_hello)
    await client.close()
    return Row(name, "ms", ms(ours), ms(base), target)


async def rows_websocket(address: str, count: int) -> tuple[Row, Row]:
    firsts, exits, bare_firsts, bare_exits = [], [], [], []
    for _ in range(count):
        first, end, _ = await site.websocket_run(address)
        bare_first, bare_end = await bare_first_byte()
        firsts.append(first)
        exits.append(end)
        bare_firsts.append(bare_first)
        bare_exits.append(bare_end)
    return (
        Row(
            "3a. websocket hello, first output byte", "ms", ms(firsts), ms(bare_firsts)
        ),
        Row("3b. websocket hello, exit frame", "ms", ms(exits), ms(bare_exits)),
    )


# The host's speed drifts (on a shared VM a bare hello's CPU halved within an
# hour): row 4 takes turns in slices, so that a drift falls on both sides.
THROUGHPUT_SLICES = 4


async def row_throughput(address: str, seconds: float, clients: int) -> Row:
    async def ours_loop(deadline: float, done: list[float]) -> None:
        client = site.HttpClient(address)
        while time.perf_counter() < deadline:
            done.append(await http_hello(client))
        await client.close()

    async def base_loop(deadline: float, done: list[float]) -> None:
        while time.perf_counter() < deadline:
            done.append(await bare_hello())

    ours: list[float] = []
    base: list[float] = []
    took = [0.0, 0.0]
    for _ in range(THROUGHPUT_SLICES):
        for side, (loop, done) in enumerate(((ours_loop, ours), (base_loop, base))):
            started = time.perf_counter()
            deadline = started + seconds / THROUGHPUT_SLICES
            await asyncio.gather(*(loop(deadline, done) for _ in range(clients)))
            # Until the last run ends: a slice's tail counts against its rate.
            took[side] += time.perf_counter() - started
    ours_rate, base_rate = len(ours) / took[0], len(base) / took[1]
    row = Row(
        f"4. throughput, {clients} clients x {seconds:.0f} s (run latency)",
        "ms",
        ms(ours),
        ms(base),
        ">= 0.7x runs/s",
        higher_is_better=True,
    )
    row.name += f": {ours_rate:.1f} vs {base_rate:.1f} runs/s"
    row.met = ours_rate / base_rate >= 0.7
    row.runs = len(ours)
    return row


async def row_output(address: str, count: int) -> Row:
    ours, base = [], []
    for _ in range(count):
        _, end, received = await site.websocket_run(address, BIG_OUTPUT, max_size=None)
        if received != BIG_OUTPUT_BYTES:
            raise RuntimeError(f"the 20 MB run delivered {received} bytes")
        ours.append(BIG_OUTPUT_BYTES / 1e6 / end)
        started = time.perf_counter()
        await spawn(PYTHON, "-c", BIG_OUTPUT, stdout=asyncio.subprocess.DEVNULL)
        base.append(BIG_OUTPUT_BYTES / 1e6 / (time.perf_counter() - started))
    return Row(
        "5. 20 MB of stdout, websocket client vs /dev/null",
        "MB/s",
        ours,
        base,
        higher_is_better=True,
    )


async def row_connections(
    address: str, web_pid: int, idle: int, active: int, row3: Row
) -> tuple[Row, list[object]]:
    """Open `idle` sockets that send nothing, then run `active` programs at
    once; the sockets stay open for the caller to close after row 7."""
    before = site.resident_bytes(web_pid)
    sockets: list[object] = []
    uri = f"ws://{address}/api/v2/connect"
    for start in range(0, idle, 100):
        batch = [site.websockets.connect(uri) for _ in range(min(100, idle - start))]
        sockets += await asyncio.gather(*batch)
    runs = await asyncio.gather(*(site.websocket_run(address) for _ in range(active)))
    after = site.resident_bytes(web_pid)
    row = Row(
        f"6. {active} runs beside {idle} idle sockets, exit frame vs row 3b",
        "ms",
        ms([end for _, end, _ in runs]),
        row3.ours,
    )
    row.name += f"; web RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB"
    return row, sockets


async def http_runs(address: str, total: int, clients: int = 8) -> None:
    queue = list(range(total))

    async def worker() -> None:
        client = site.HttpClient(address)
        while queue:
            queue.pop()
            await http_hello(client)
        await client.close()

    await asyncio.gather(*(worker() for _ in range(clients)))


def memory(web_pid: int) -> dict[str, float]:
    """Resident MiB of the web process, its supervisor and the supervisor's
    zygote (if it has one)."""
    supervisor = site.supervisor_of(web_pid)
    found = {"web": web_pid, "supervisor": supervisor}
    zygote = servers.zygote_of(supervisor)
    if zygote:
        found["zygote"] = zygote
    return {name: site.resident_bytes(pid) / 2**20 for name, pid in found.items()}


def memory_rows(
    early: dict[str, float], late: dict[str, float], runs: int
) -> list[Row]:
    """One row per process; growth within 10 % plus 2 MiB counts as noise."""
    rows = []
    for name in [name for name in early if name in late]:
        before, after = early[name], late[name]
        row = Row(
            f"7. {name} resident memory after {runs} runs vs after 10",
            "MiB",
            [after],
            [before],
            "no growth",
        )
        row.met = after <= before * 1.1 + 2
        rows.append(row)
    return rows


# -- the table -----------------------------------------------------------------


def judge(row: Row) -> None:
    if row.met is not None or not row.target:
        return
    limit = float(row.target.split()[1].rstrip("x"))
    ratio = row.ratio()
    row.met = ratio >= limit if row.higher_is_better else ratio <= limit


def print_table(rows: list[Row]) -> None:
    print()
    print(
        f"{'row':<78} {'unit':>5} {'ours p50':>9} {'p90':>9} "
        f"{'base p50':>9} {'p90':>9} {'ratio':>6}  target"
    )
    for row in rows:
        judge(row)
        verdict = {True: "met", False: "NOT MET", None: ""}[row.met]
        numbers = (
            f"{statistics.median(row.ours):9.2f} {p90(row.ours):9.2f} "
            f"{statistics.median(row.base):9.2f} {p90(row.base):9.2f}"
        )
        print(
            f"{row.name:<78} {row.unit:>5} {numbers} {row.ratio():6.2f}  "
            f"{row.target} {verdict}"
        )


def raise_file_limit() -> None:
    """A thousand sockets on each side: the site inherits this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def bench(args: argparse.Namespace) -> list[Row]:
    rows = [await row_true(args.count)]
    progress("row 1")
    with site.local_site() as (address, server):
        await http_runs(address, 10, clients=1)
        early = memory(server.pid)
        hello = "2. python hello, POST /api/v2/execute vs bare"
        rows.append(await row_http(address, args.count // 3, hello, HELLO_BODY,
                                   "<= 1.25x"))  # fmt: skip
        cold = "2b. the same with an argument: its interpreter starts with it"
        rows.append(await row_http(address, args.count // 3, cold, COLD_BODY))
        first_byte, exit_frame = await rows_websocket(address, args.count // 5)
        rows += [first_byte, exit_frame]
        progress("rows 2-3")
        throughput = await row_throughput(address, args.seconds, args.clients)
        rows.append(throughput)
        # Row 7 reads memory again once a thousand hello runs are done, before
        # the big output and the idle sockets raise the high-water marks.
        await http_runs(address, max(args.runs - throughput.runs, 0))
        late = memory(server.pid)
        progress("rows 4 and 7")
        rows.append(await row_output(address, 3))
        row6, sockets = await row_connections(
            address, server.pid, args.idle, 20, exit_frame
        )
        rows.append(row6)
        for socket_ in sockets:
            await socket_.close()  # type: ignore[attr-defined]
        rows += memory_rows(early, late, args.runs)
    return rows


def progress(what: str) -> None:
    print(f"{what} done ({time.perf_counter() - STARTED:.0f} s)", flush=True)


STARTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    parser.add_argument(
        "--count",
        type=int,
        default=300,
        help="samples of row 1 (rows 2 and 3 take a third, a fifth)",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument(
        "--runs", type=int, default=1000, help="runs made before row 7's second reading"
    )
    args = parser.parse_args()
    raise_file_limit()
    rows = asyncio.run(bench(args))
    print_table(rows)
    print(f"\n{time.perf_counter() - STARTED:.0f} s in all")


if __name__ == "__main__":
    main()
