"""The supervisor: one single-threaded process that forks every sandbox.

    web process or Celery worker (asyncio, threads)
      | control socket, both ways: executor.messages frames
    supervisor (this module: a selectors loop, no threads)
      | per stage: stdio pipes or a pty, a report pipe, a pidfd of its child
    launcher: helper -> init (pid 1, the supervisor's child) -> program
    or, for a compile stage, helper -> init -> program, forked here

Forking from a threaded asyncio process is unsafe, so the web process never
forks sandboxes itself; it starts this process once and sends it jobs. The
supervisor's environment is scrubbed at start, its supplementary groups are
dropped, and it exits (killing every sandbox through the parent-death chain)
when its control socket closes.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import prctl

from executor import messages
from executor.config import DEFAULT_POOL_SIZE, LIMIT_DEFAULTS
from executor.control import ControlChannel
from executor.errors import SandboxError
from executor.job import File, Job, Stage
from executor.loop import Loop
from executor.pool import Member, Pool, View, Warm, discard
from executor.results import StageResult, judge
from executor.sandbox import Spec, cgroups, seccomp
from executor.sandbox.init import FORWARDED
from executor.stage import (
    DRAIN_SECONDS,
    FORKED_PROCESSES,
    LAUNCHED_PROCESSES,
    StageProcess,
    Streams,
)
from executor.stdin import StdinFeed
from executor.sweeper import Sweeper

log = logging.getLogger(__name__)

MIN_CHECK_SECONDS = 0.01
DEFAULT_WORKDIR_BYTES = LIMIT_DEFAULTS["workdir_bytes"]
BUSY = "the playground is busy: too many programs are waiting to run; try again"
READ_BYTES = 256 * 1024  # a whole stdout pipe (executor.stage.PIPE_BYTES)
REFILL_QUIET_SECONDS = 0.05  # beside runs in flight: see Supervisor._quiet_needed


@dataclass
class Run:
    """A job in flight: which stage it is in, its pending stdin, and the
    signals sent before its program could take them."""

    job: Job
    slot: int
    files: list[File]
    stage_index: int = 0
    current: StageProcess | None = None
    stdin: StdinFeed = field(default_factory=lambda: StdinFeed(b"", False))
    stopped: bool = False
    draining_until: float | None = None
    launching: Member | None = None  # its sandbox, while it is being made
    signals: list[int] = field(default_factory=list)


@dataclass
class Held:
    """What the client of a run still waiting for a slot sent meanwhile: its
    input, and its signals (each once), kept for its start."""

    stdin: StdinFeed
    signals: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        control: socket.socket,
        hierarchy: cgroups.Hierarchy,
        uid_base: int,
        slots: int,
        root: str,
        max_waiting: int,
        pool_size: int = 0,
        workdir_bytes: int = DEFAULT_WORKDIR_BYTES,
        zygote: bool = True,
    ) -> None:
        self.hierarchy = hierarchy
        self.uid_base = uid_base
        self.root = root
        self.free_slots = list(range(slots))
        # Host id pairs: one per running stage and one per pooled sandbox.
        self.free_ids = list(range(slots + pool_size))
        self.max_waiting = max_waiting
        self.waiting: deque[Job] = deque()
        self.held: dict[str, Held] = {}  # by the waiting run's id
        self.runs: dict[str, Run] = {}
        self.loop = Loop()
        self.running = True
        self.check_at = math.inf  # when _check_limits next has work
        self.sweeper = Sweeper()
        self.control = ControlChannel(control, self.loop, self._dispatch,
                                      self._shutdown)  # fmt: skip
        self.pool = Pool(pool_size, hierarchy, root, self.loop, self._host_id,
                         self.free_ids, workdir_bytes, zygote)  # fmt: skip

    def _host_id(self, index: int) -> int:
        return self.uid_base + 2 * index

    # -- the loop ---------------------------------------------------------

    def serve(self) -> None:
        quiet_since = time.monotonic()
        while self.running or self.runs:
            refill_at = self.pool.refill_at() if self.running else math.inf
            self.loop.run_once(self._next_wake(refill_at, quiet_since))
            now = time.monotonic()
            if self.loop.handled:
                quiet_since = now
            elif now >= refill_at and now - quiet_since >= self._quiet_needed():
                self.pool.refill_one()
                quiet_since = now
            self._check_limits()
            self.control.flush()
            self.sweeper.sweep()
        self.pool.close()
        self.sweeper.finish()
        self.control.flush_blocking()

    # -- control socket ---------------------------------------------------

    def _dispatch(self, frame: messages.Frame) -> None:
        header = frame.header
        kind = header["type"]
        if kind == "start":
            self._enqueue(Job.from_wire(header["job"]))
            return
        if kind == "signal" and int(header["signal"]) == signal.SIGKILL:
            kind = "stop"  # a kill ends the run, started or still waiting
        run = self.runs.get(str(header.get("run_id")))
        if run is None:
            signum = int(header.get("signal", 0))
            self._to_waiting(str(header.get("run_id")), kind, frame.payload, signum)
            return
        if kind == "stdin":
            run.stdin.add(frame.payload)
            self._pump_stdin(run)
        elif kind == "close_stdin":
            run.stdin.close()
            self._pump_stdin(run)
        elif kind == "signal":
            self._signal(run, int(header["signal"]))
        elif kind == "stop":
            self._stop(run)

    def _to_waiting(self, run_id: str, kind: str, payload: bytes, signum: int) -> None:
        """A command for a run still waiting for a slot: its input and
        signals are kept for its start, and a stop ends it there."""
        held = self.held.get(run_id)
        if held is None:
            return  # the run already ended; a late command is harmless
        if kind == "stdin":
            held.stdin.add(payload)
        elif kind == "close_stdin":
            held.stdin.close()
        elif kind == "signal":
            _keep_signal(held.signals, signum)
        elif kind == "stop":
            self._stop_waiting(run_id)

    def _emit(self, header: Any, payload: bytes = b"") -> None:
        self.control.send(header, payload)

    def _shutdown(self) -> None:
        """The backend is gone: stop accepting work and end every run."""
        self.running = False
        self.waiting.clear()
        self.held.clear()
        self.pool.close()
        for run in list(self.runs.values()):
            self._stop(run)

    # -- runs -------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        if len(self.waiting) >= self.max_waiting:
            log.warning("run_id=%s refused: %d runs waiting", job.run_id,
                        len(self.waiting))  # fmt: skip
            self._emit(messages.RefusedEvent(type="refused", run_id=job.run_id,
                                             reason=BUSY))  # fmt: skip
            self._emit(messages.FinishedEvent(type="finished", run_id=job.run_id))
            return
        self.waiting.append(job)
        self.held[job.run_id] = Held(
            StdinFeed(job.stdin, closing=not job.interactive, terminal=job.interactive)
        )
        self._start_waiting()

    def _tell_positions(self) -> None:
        """Each waiting run learns how many are ahead of it."""
        for position, job in enumerate(self.waiting):
            self._emit(messages.QueuedEvent(type="queued", run_id=job.run_id,
                                            position=position))  # fmt: skip

    def _start_waiting(self) -> None:
        while self.waiting and self.free_slots and self.running:
            job = self.waiting.popleft()
            held = self.held.pop(job.run_id)
            run = Run(job, self.free_slots.pop(), list(job.files),
                      stdin=held.stdin, signals=held.signals)  # fmt: skip
            self.runs[job.run_id] = run
            log.info(
                "run_id=%s started language=%s version=%s",
                job.run_id,
                job.language,
                job.version,
            )
            self._start_stage(run)
        self._tell_positions()

    def _start_stage(self, run: Run) -> None:
        job, stage = run.job, run.job.stages[run.stage_index]
        self._emit(
            messages.StageEvent(type="stage", run_id=job.run_id, stage=stage.name)
        )
        name = f"{job.run_id}-{stage.name}"
        if stage.name == "compile":  # its init also sends back the files
            self._start_forked(run, name, _cgroup_limits(stage, FORKED_PROCESSES))
            return
        wanted = _cgroup_limits(stage, LAUNCHED_PROCESSES)
        view = (tuple(job.readonly_paths), stage.limits.workdir_bytes)
        warm = Warm.for_stage(job, stage)
        member = self.pool.take(view, wanted, warm)
        if member is None:
            self._launch_for(run, name, view, wanted, warm)
            return
        try:
            _claim(member, name, wanted)
        except SandboxError as exc:
            self.free_ids.append(member.host_index)
            self._fail_before_start(run, exc)
            return
        log.debug("run_id=%s pooled sandbox %s", job.run_id, member.name)
        self._hand_over(run, member)

    def _launch_for(
        self,
        run: Run,
        name: str,
        view: View,
        wanted: cgroups.CgroupLimits,
        warm: Warm | None,
    ) -> None:
        """No pooled sandbox fits: make one now, without waiting for it."""

        def failed(exc: SandboxError) -> None:
            run.launching = None
            self._fail_before_start(run, exc)

        try:
            launched = functools.partial(self._launched, run)
            run.launching = self.pool.launch_for(
                name, view, wanted, launched, failed, warm
            )
        except SandboxError as exc:
            self._fail_before_start(run, exc)

    def _launched(self, run: Run, member: Member) -> None:
        run.launching = None  # a stop meanwhile would have cancelled it
        self._hand_over(run, member)

    def _hand_over(self, run: Run, member: Member) -> None:
        """Give the stage to a sandbox whose program child (or interpreter)
        waits for it."""
        process = self._new_process(run, member.cgroup, member.streams)
        process.host_index = member.host_index
        host_id = self._host_id(member.host_index)
        spec = self._spec(run, member.cgroup)
        process.start_launched(spec, member.launched, member.sock, host_id)
        self._watch_stage(run, process)

    def _start_forked(self, run: Run, name: str, wanted: cgroups.CgroupLimits) -> None:
        try:
            cgroup = self.hierarchy.create(name, wanted)
        except SandboxError as exc:
            self._fail_before_start(run, exc)
            return
        process = self._new_process(run, cgroup)
        process.host_index = self.free_ids.pop()
        spec = self._spec(run, cgroup)
        process.start(spec, self._host_id(process.host_index), self.root)
        self._watch_stage(run, process)

    def _new_process(
        self, run: Run, cgroup: cgroups.Cgroup, streams: Streams | None = None
    ) -> StageProcess:
        job, stage = run.job, run.job.stages[run.stage_index]
        if streams is None:
            streams = Streams.create(_terminal(job, stage), job.stdout_terminal)
        run.current = StageProcess(job.run_id, stage, streams, cgroup)
        return run.current

    def _spec(self, run: Run, cgroup: cgroups.Cgroup) -> Spec:
        job, stage = run.job, run.job.stages[run.stage_index]
        return Spec(
            job.run_id,
            stage.name,
            stage.argv,
            job.env,
            stage.limits,
            run.files,
            job.readonly_paths,
            collect_files=stage.name == "compile",
            memory_rlimit=not cgroup.accounts,
        )

    def _fail_before_start(self, run: Run, exc: SandboxError) -> None:
        log.error("run_id=%s sandbox setup failed: %s", run.job.run_id, exc)
        stage = run.job.stages[run.stage_index]
        result = StageResult(
            "XX",
            None,
            None,
            "The sandbox could not be set up; the program did not start",
            0,
            0,
            0,
        )
        self._finish_run(run, stage.name, result)

    def _watch_stage(self, run: Run, process: StageProcess) -> None:
        for fd, stream in process.streams.outputs.items():
            self.loop.watch(
                fd, read=functools.partial(self._on_output, run, fd, stream)
            )
        if process.launched is None:
            self._end_stage(run)
            return
        report = process.launched.report_fd
        os.set_blocking(report, False)
        self.loop.watch(report, read=lambda: self._on_report(run, report))
        pidfd = process.launched.child_pidfd
        self.loop.watch(pidfd, read=lambda: self._on_sandbox_exit(run))
        self.check_at = time.monotonic()
        self._pump_stdin(run)
        for signum in run.signals:
            self._signal(run, signum)
        run.signals.clear()

    def _on_output(self, run: Run, fd: int, stream: str) -> None:
        process = run.current
        if process is None:
            return  # the stage already ended
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # a pty whose last slave closed reads as EIO
        if not data:
            self._close_output(run, fd)
            return
        kept = process.accept_output(stream, data)
        if kept:
            self._emit(
                messages.OutputEvent(
                    type="output", run_id=run.job.run_id, stream=stream
                ),
                kept,
            )

    def _close_output(self, run: Run, fd: int) -> None:
        process = run.current
        if process is None:
            return  # the stage already ended
        self.loop.unwatch(fd)
        process.streams.outputs.pop(fd, None)
        if fd == process.streams.stdin:
            process.streams.stdin = None
        os.close(fd)
        self._maybe_end_stage(run)

    def _on_report(self, run: Run, fd: int) -> None:
        process = run.current
        if process is None:
            return  # the stage already ended
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return
        if data:
            process.on_report(data)
        else:
            self._close_report(process)
        self._maybe_end_stage(run)

    def _close_report(self, process: StageProcess) -> None:
        if process.report_open and process.launched is not None:
            self.loop.unwatch(process.launched.report_fd)
            os.close(process.launched.report_fd)
            process.report_open = False

    def _on_sandbox_exit(self, run: Run) -> None:
        process = run.current
        if process is None or process.launched is None:
            return  # the stage already ended
        launched = process.launched
        self.loop.unwatch(launched.child_pidfd)
        os.waitpid(launched.child_pid, 0)
        os.close(launched.child_pidfd)
        process.sandbox_gone = True
        run.draining_until = time.monotonic() + DRAIN_SECONDS
        self.check_at = min(self.check_at, run.draining_until)
        self._maybe_end_stage(run)

    def _maybe_end_stage(self, run: Run) -> None:
        """End the stage once its output is drained and its whole sandbox is
        gone: nothing of a run outlives its verdict."""
        process = run.current
        if process is None or process.launched is None or process.ending:
            return
        if process.sandbox_gone and not process.report_open:
            if not process.streams.outputs:
                self._end_stage(run)

    def _end_stage(self, run: Run) -> None:
        process = run.current
        if process is None or process.ending:
            return  # the stage already ended
        process.ending = True
        for fd in list(process.streams.outputs):
            self._close_output(run, fd)
        self._close_report(process)
        self._close_stdin_fd(run)
        if process.init_pidfd is not None:
            os.close(process.init_pidfd)
            process.init_pidfd = None
        process.cgroup.kill()
        result = process.result()
        # Every task of the stage has SIGKILL pending and never returns to
        # user space, so its host ids may serve another stage at once.
        if process.host_index >= 0:
            self.free_ids.append(process.host_index)
        run.current = None
        run.draining_until = None
        stage = run.job.stages[run.stage_index]
        if stage.name == "compile" and result.status is None and not run.stopped:
            self._emit_exit(run.job.run_id, stage.name, result)
            run.files = process.files
            run.stage_index += 1
            self._start_stage(run)
        else:
            self._finish_run(run, stage.name, result)
        process.log(result)  # once the verdict is on its way
        self.sweeper.remove(run.job.run_id, process.cgroup)

    def _emit_exit(self, run_id: str, stage: str, result: StageResult) -> None:
        self._emit(
            messages.ExitEvent(
                type="exit", run_id=run_id, stage=stage, result=result.to_wire()
            )
        )

    def _finish_run(self, run: Run, stage: str, result: StageResult) -> None:
        self._emit_exit(run.job.run_id, stage, result)
        self._emit(messages.FinishedEvent(type="finished", run_id=run.job.run_id))
        self.control.flush()  # the client waits for nothing else
        del self.runs[run.job.run_id]
        self.free_slots.append(run.slot)
        self._start_waiting()

    # -- stdin, signals, stop --------------------------------------------

    def _pump_stdin(self, run: Run) -> None:
        process = run.current
        if process is None or process.streams.stdin is None or process.ended:
            return
        fd = process.streams.stdin
        if process.stage.name != "run":
            self._close_stdin_fd(run)  # compilers read nothing
            return
        if run.stdin.write_to(fd):
            self.loop.watch(fd, write=functools.partial(self._pump_stdin, run))
        elif fd in self.loop.writers:
            self.loop.unwatch(fd, read=False)
        if run.stdin.finished and not process.streams.terminal:
            self._close_stdin_fd(run)

    def _close_stdin_fd(self, run: Run) -> None:
        process = run.current
        if process is None or process.streams.stdin is None:
            return
        fd = process.streams.stdin
        if fd in process.streams.outputs:
            return  # the pty is also stdout; it closes with the output
        self.loop.unwatch(fd)
        os.close(fd)
        process.streams.stdin = None

    def _signal(self, run: Run, signum: int) -> None:
        if signum not in FORWARDED:
            return
        if run.current is None:  # its sandbox is being made: the stage takes it
            _keep_signal(run.signals, signum)
            return
        log.info("run_id=%s forwarding %s", run.job.run_id, signal.Signals(signum).name)
        run.current.send_signal(signum)

    def _stop(self, run: Run) -> None:
        run.stopped = True
        if run.current is not None:
            run.current.kill("stopped")
        elif run.launching is not None:
            member, run.launching = run.launching, None
            self.pool.cancel(member)
            stage = run.job.stages[run.stage_index]
            log.info("run_id=%s stage=%s status=SG stopped before its program "
                     "started", run.job.run_id, stage.name)  # fmt: skip
            self._finish_run(run, stage.name, stopped_before_start(stage))

    def _stop_waiting(self, run_id: str) -> None:
        """A run stopped while it waits for a slot ends without starting;
        left waiting, it would start later with nobody to follow it."""
        job = next((job for job in self.waiting if job.run_id == run_id), None)
        if job is None:
            return  # it already ended
        self.waiting.remove(job)
        del self.held[run_id]
        stage = job.stages[0]
        log.info("run_id=%s stage=%s status=SG stopped while waiting for a slot",
                 run_id, stage.name)  # fmt: skip
        self._emit_exit(run_id, stage.name, stopped_before_start(stage))
        self._emit(messages.FinishedEvent(type="finished", run_id=run_id))
        self._tell_positions()

    # -- limits -----------------------------------------------------------

    def _quiet_needed(self) -> float:
        """How long the loop must have had no event before the pool makes a
        sandbox. With no run in flight, no time: an event that waits goes
        first. Beside runs, a while: a steady stream of runs keeps the
        CPUs, and a run waiting at a prompt lets the pool refill for the
        others."""
        return REFILL_QUIET_SECONDS if self.runs else 0.0

    def _next_wake(self, refill_at: float, quiet_since: float) -> float | None:
        """Seconds until a limit or a removal is due, or the pool may make a
        sandbox (after its backoff, and once the loop is quiet enough)."""
        due = self._next_check()
        if refill_at == math.inf:
            return due
        start = max(refill_at, quiet_since + self._quiet_needed())
        until = max(start - time.monotonic(), 0.0)
        return until if due is None else min(due, until)

    def _next_check(self) -> float | None:
        """Seconds until a limit could next be crossed or a busy cgroup be
        removed; None if neither can happen."""
        due = min(self.check_at if self.runs else math.inf, self.sweeper.next_at)
        return None if due == math.inf else max(due - time.monotonic(), 0.0)

    def _check_limits(self) -> None:
        """Enforce wall and CPU time when one of them could be due. Timers,
        not polling: with one CPU's quota a stage's CPU time grows no faster
        than the clock, so its limit cannot be crossed before its remainder
        has passed."""
        now = time.monotonic()
        if now < self.check_at:
            return
        due = [self._check_run(run, now) for run in list(self.runs.values())]
        self.check_at = min(due, default=math.inf)

    def _check_run(self, run: Run, now: float) -> float:
        """Kill a stage past its limits; when to look at this run again."""
        process = run.current
        if process is None:
            return math.inf
        if run.draining_until is not None:
            if now >= run.draining_until:
                self._end_stage(run)
                return math.inf
            return run.draining_until
        if process.ended is not None:
            return math.inf  # the program has ended; its limits no longer apply
        limits = process.stage.limits
        cpu_left = limits.cpu_time_ms - process.cpu_ms()
        wall_left = limits.wall_time_ms - (now - process.started) * 1000
        if cpu_left < 0:
            process.kill("cpu")
        elif wall_left < 0:
            process.kill("wall")
        else:
            return now + max(min(cpu_left, wall_left) / 1000, MIN_CHECK_SECONDS)
        return now + 1.0  # killed: the sandbox's exit moves the stage on


def _keep_signal(kept: list[int], signum: int) -> None:
    # Each signal once, in the order sent: a client repeating one cannot
    # grow the list, and a program gets it as the kernel would, pending once.
    if signum in FORWARDED and signum not in kept:
        kept.append(signum)


def _cgroup_limits(stage: Stage, sandbox_processes: int) -> cgroups.CgroupLimits:
    """The stage's limits for its cgroup, which also holds its sandbox's own
    processes."""
    limits = stage.limits
    return cgroups.CgroupLimits(
        limits.memory_bytes, limits.processes + sandbox_processes, 1.0
    )


def stopped_before_start(stage: Stage) -> StageResult:
    """A stage stopped on request before its program started."""
    status, message = judge(stage.name, stage.limits, None, signal.SIGKILL,
                            "stopped", False)  # fmt: skip
    return StageResult(status, None, "SIGKILL", message, 0, 0, 0)


def _terminal(job: Job, stage: Stage) -> bool:
    return job.interactive and stage.name == "run"


def _claim(member: Member, name: str, limits: cgroups.CgroupLimits) -> cgroups.Cgroup:
    """Make a pooled sandbox's cgroup the stage's: its name and its limits.
    If that fails the member is ended, never returned to the pool."""
    try:
        member.cgroup.rename(name)
        member.cgroup.set_limits(limits)
        member.cgroup.reset_peak()
    except SandboxError:
        discard(member)
        raise
    return member.cgroup


def _prepare_process(parent_pid: int) -> None:
    """Die with the backend, and keep nothing of its identity."""
    prctl.set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:
        sys.exit("supervisor: the process that started me is gone")
    if os.geteuid() == 0:
        os.setgroups([])
    os.umask(0o022)
    # Exec keeps an ignored SIGCHLD: the kernel would then reap the sandboxes'
    # helpers and inits before the loop waits for them.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m executor.supervisor")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--cgroup", default="auto")
    parser.add_argument("--cgroup-parent", default="")
    parser.add_argument("--uid-base", type=int, default=200_000)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--max-waiting", type=int, default=32)
    parser.add_argument("--zygote", choices=("on", "off"), default="on")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=DEFAULT_POOL_SIZE,
        help="sandboxes isolated ahead of demand; 0 for none",
    )
    parser.add_argument(
        "--workdir-bytes",
        type=int,
        default=DEFAULT_WORKDIR_BYTES,
        help="size of /work in the sandboxes the pool builds first",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s supervisor %(message)s",
    )
    _prepare_process(args.parent_pid)
    control = socket.socket(fileno=args.control_fd)
    try:
        owner = f"playground-{os.getpid()}"
        hierarchy = cgroups.discover(args.cgroup, owner, args.cgroup_parent or None)
    except SandboxError as exc:
        log.error("cannot start: %s", exc)
        control.sendall(messages.encode({"type": "unavailable", "reason": str(exc)}))
        raise SystemExit(2) from exc
    seccomp.program_fd()  # compiled once here, read by every launcher
    root = tempfile.mkdtemp(prefix="playground-root-")
    # The init maps to an unprivileged host id and must traverse the mount point.
    os.chmod(root, 0o755)  # noqa: S103  # nosec B103
    control.sendall(messages.encode({"type": "ready"}))
    try:
        Supervisor(
            control,
            hierarchy,
            args.uid_base,
            args.slots,
            root,
            args.max_waiting,
            max(args.pool_size, 0),
            args.workdir_bytes,
            args.zygote == "on",
        ).serve()
    finally:
        cgroups.release(hierarchy)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
