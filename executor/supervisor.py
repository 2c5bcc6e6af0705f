"""The supervisor: one single-threaded process that forks every sandbox.

    web process or Celery worker (asyncio, threads)
      | control socket, both ways: executor.messages frames
    supervisor (this module: a selectors loop, no threads)
      | per stage: stdio pipes or a pty, a report pipe, the helper's pidfd
    helper -> init (pid 1) -> program        (executor.sandbox)

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
from executor.control import ControlChannel
from executor.errors import SandboxError
from executor.job import File, Job
from executor.loop import Loop
from executor.results import StageResult
from executor.sandbox import Spec, cgroups, seccomp
from executor.sandbox.init import FORWARDED
from executor.stage import DRAIN_SECONDS, SANDBOX_PROCESSES, StageProcess, Streams
from executor.stdin import StdinFeed

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
BUSY = "the playground is busy: too many programs are waiting to run; try again"
READ_BYTES = 65536


@dataclass
class Run:
    """A job in flight: which stage it is in, and its pending stdin."""

    job: Job
    slot: int
    files: list[File]
    stage_index: int = 0
    current: StageProcess | None = None
    stdin: StdinFeed = field(default_factory=lambda: StdinFeed(b"", False))
    stopped: bool = False
    draining_until: float | None = None


class Supervisor:
    def __init__(
        self,
        control: socket.socket,
        hierarchy: cgroups.Hierarchy,
        uid_base: int,
        slots: int,
        root: str,
        max_waiting: int,
    ) -> None:
        self.hierarchy = hierarchy
        self.uid_base = uid_base
        self.root = root
        self.free_slots = list(range(slots))
        self.max_waiting = max_waiting
        self.waiting: deque[Job] = deque()
        self.runs: dict[str, Run] = {}
        self.loop = Loop()
        self.running = True
        self.control = ControlChannel(control, self.loop, self._dispatch,
                                      self._shutdown)  # fmt: skip

    # -- the loop ---------------------------------------------------------

    def serve(self) -> None:
        while self.running or self.runs:
            self.loop.run_once(POLL_SECONDS if self.runs else None)
            self._check_limits()
        self.control.flush_blocking()

    # -- control socket ---------------------------------------------------

    def _dispatch(self, frame: messages.Frame) -> None:
        header = frame.header
        if header["type"] == "start":
            self._enqueue(Job.from_wire(header["job"]))
            return
        run = self.runs.get(str(header.get("run_id")))
        if run is None:
            return  # the run already ended; a late command is harmless
        if header["type"] == "stdin":
            run.stdin.add(frame.payload)
            self._pump_stdin(run)
        elif header["type"] == "close_stdin":
            run.stdin.close()
            self._pump_stdin(run)
        elif header["type"] == "signal":
            self._signal(run, int(header["signal"]))
        elif header["type"] == "stop":
            self._stop(run)

    def _emit(self, header: Any, payload: bytes = b"") -> None:
        self.control.send(header, payload)

    def _shutdown(self) -> None:
        """The backend is gone: stop accepting work and end every run."""
        self.running = False
        self.waiting.clear()
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
        self._start_waiting()

    def _tell_positions(self) -> None:
        """Each waiting run learns how many are ahead of it."""
        for position, job in enumerate(self.waiting):
            self._emit(messages.QueuedEvent(type="queued", run_id=job.run_id,
                                            position=position))  # fmt: skip

    def _start_waiting(self) -> None:
        while self.waiting and self.free_slots and self.running:
            job = self.waiting.popleft()
            run = Run(
                job,
                self.free_slots.pop(),
                list(job.files),
                stdin=StdinFeed(
                    job.stdin, closing=not job.interactive, terminal=job.interactive
                ),  # fmt: skip
            )
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
        terminal = job.interactive and stage.name == "run"
        limits = stage.limits
        self._emit(
            messages.StageEvent(type="stage", run_id=job.run_id, stage=stage.name)
        )
        try:
            cgroup = self.hierarchy.create(
                f"{job.run_id}-{stage.name}",
                cgroups.CgroupLimits(
                    limits.memory_bytes, limits.processes + SANDBOX_PROCESSES, 1.0
                ),
            )
        except SandboxError as exc:
            self._fail_before_start(run, exc)
            return
        spec = Spec(
            job.run_id,
            stage.name,
            stage.argv,
            job.env,
            limits,
            run.files,
            job.readonly_paths,
            collect_files=stage.name == "compile",
            memory_rlimit=not cgroup.accounts,
        )
        streams = Streams.create(terminal, job.stdout_terminal)
        process = StageProcess(job.run_id, stage, streams, cgroup)
        run.current = process
        process.start(spec, self.uid_base + 2 * run.slot, self.root)
        self._watch_stage(run, process)

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
        pidfd = process.launched.helper_pidfd
        self.loop.watch(pidfd, read=lambda: self._on_helper_exit(run))
        self._pump_stdin(run)

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
            return
        self.loop.unwatch(fd)
        os.close(fd)
        process.report_open = False
        self._maybe_end_stage(run)

    def _on_helper_exit(self, run: Run) -> None:
        process = run.current
        if process is None or process.launched is None:
            return  # the stage already ended
        launched = process.launched
        self.loop.unwatch(launched.helper_pidfd)
        os.waitpid(launched.helper_pid, 0)
        os.close(launched.helper_pidfd)
        process.helper_done = True
        run.draining_until = time.monotonic() + DRAIN_SECONDS
        self._maybe_end_stage(run)

    def _maybe_end_stage(self, run: Run) -> None:
        process = run.current
        if process is None or process.launched is None:
            return
        if (
            process.helper_done
            and not process.report_open
            and not process.streams.outputs
        ):
            self._end_stage(run)

    def _end_stage(self, run: Run) -> None:
        process = run.current
        if process is None:
            return  # the stage already ended
        for fd in list(process.streams.outputs):
            self._close_output(run, fd)
        self._close_stdin_fd(run)
        if process.init_pidfd is not None:
            os.close(process.init_pidfd)
            process.init_pidfd = None
        process.cgroup.kill()
        result = process.result()
        process.log(result)
        _remove_cgroup(run.job.run_id, process.cgroup)
        run.current = None
        run.draining_until = None
        stage = run.job.stages[run.stage_index]
        if stage.name == "compile" and result.status is None and not run.stopped:
            self._emit_exit(run.job.run_id, stage.name, result)
            run.files = process.files
            run.stage_index += 1
            self._start_stage(run)
            return
        self._finish_run(run, stage.name, result)

    def _emit_exit(self, run_id: str, stage: str, result: StageResult) -> None:
        self._emit(
            messages.ExitEvent(
                type="exit", run_id=run_id, stage=stage, result=result.to_wire()
            )
        )

    def _finish_run(self, run: Run, stage: str, result: StageResult) -> None:
        self._emit_exit(run.job.run_id, stage, result)
        self._emit(messages.FinishedEvent(type="finished", run_id=run.job.run_id))
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
        if signum == signal.SIGKILL:
            self._stop(run)
        elif signum in FORWARDED and run.current is not None:
            log.info(
                "run_id=%s forwarding %s", run.job.run_id, signal.Signals(signum).name
            )
            run.current.send_signal(signum)

    def _stop(self, run: Run) -> None:
        run.stopped = True
        if run.current is not None:
            run.current.kill("stopped")

    # -- limits -----------------------------------------------------------

    def _check_limits(self) -> None:
        now = time.monotonic()
        for run in list(self.runs.values()):
            process = run.current
            if process is None:
                continue
            if run.draining_until is None and process.ended is not None:
                continue  # the program has ended; its limits no longer apply
            if run.draining_until is not None:
                if now >= run.draining_until:
                    self._end_stage(run)
                continue
            if process.over_cpu():
                process.kill("cpu")
            elif now - process.started > process.stage.limits.wall_time_ms / 1000:
                process.kill("wall")


def _remove_cgroup(run_id: str, cgroup: cgroups.Cgroup) -> None:
    try:
        cgroup.remove()
    except (SandboxError, OSError) as exc:
        log.error("run_id=%s cgroup not removed: %s", run_id, exc)


def _prepare_process(parent_pid: int) -> None:
    """Die with the backend, and keep nothing of its identity."""
    prctl.set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:
        sys.exit("supervisor: the process that started me is gone")
    if os.geteuid() == 0:
        os.setgroups([])
    os.umask(0o022)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m executor.supervisor")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--cgroup", default="auto")
    parser.add_argument("--cgroup-parent", default="")
    parser.add_argument("--uid-base", type=int, default=200_000)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--max-waiting", type=int, default=32)
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
    seccomp.program()  # compiled once here, inherited by every sandbox
    root = tempfile.mkdtemp(prefix="playground-root-")
    # The init maps to an unprivileged host id and must traverse the mount point.
    os.chmod(root, 0o755)  # noqa: S103  # nosec B103
    control.sendall(messages.encode({"type": "ready"}))
    try:
        Supervisor(
            control, hierarchy, args.uid_base, args.slots, root, args.max_waiting
        ).serve()
    finally:
        cgroups.release(hierarchy)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
