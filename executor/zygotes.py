"""The pool's zygote (executor/sandbox/zygote.py): started for the kind of
warm run the pool makes sandboxes for, started anew when that kind, or a
file of the host it holds, changes, and set aside for a while when it fails:
the pool then makes those sandboxes with the launcher alone."""

from __future__ import annotations

import functools
import logging
import math
import time

from executor.errors import SandboxError
from executor.loop import Loop
from executor.sandbox import zygote
from executor.sandbox.launch import Spawner
from executor.sandbox.zygote import Zygote

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0


class Zygotes:
    def __init__(self, root: str, loop: Loop, enabled: bool) -> None:
        self.root = root
        self.loop = loop
        self.current: Zygote | None = None
        self.kind: tuple[object, ...] = ()
        self.retry_at = 0.0 if enabled else math.inf

    def spawner(
        self,
        argv: tuple[str, ...],
        env: tuple[tuple[str, str], ...],
        paths: tuple[str, ...],
    ) -> Spawner | None:
        """How to start a sandbox whose interpreter is to start as `argv`
        with `env` in a view of `paths`: by the zygote of that kind, started
        if need be; None if there is none (the launcher alone)."""
        if not zygote.usable(argv[0]):
            return None
        if self.current is None and time.monotonic() < self.retry_at:
            return None
        kind = (argv, env, paths, zygote.fingerprint(list(paths)))
        if self.current is not None and self.kind != kind:
            self._end()
        if self.current is None:
            try:
                self.current = Zygote.start(list(argv), dict(env), self.root,
                                            list(paths))  # fmt: skip
            except SandboxError as exc:
                self.lost(exc)
                return None
            self.kind = kind
            self.loop.watch(self.current.pidfd, read=self._on_exit)
        return functools.partial(self._spawn, self.current)

    def _spawn(self, by: Zygote, argv: list[str], given: list[int]) -> int:
        """A helper made by `by`; a zygote that fails to make one is set
        aside (the error still goes to the caller)."""
        try:
            return by.spawn(argv, given)
        except SandboxError as exc:
            if by is self.current:
                self.lost(exc)
            raise

    def sandbox_failed(self, made_by: Zygote | None, exc: SandboxError) -> None:
        """A sandbox failed before its run: if the current zygote made it,
        the cause may be the zygote's, which would fail every one."""
        if made_by is not None and made_by is self.current:
            detail = f"a sandbox it made failed at step {exc.step!r}: {exc.detail}"
            self.lost(SandboxError("zygote", detail))

    def lost(self, exc: SandboxError) -> None:
        log.error("zygote failed at step %r: %s; for %.0fs, its runs start their "
                  "interpreter each time", exc.step, exc.detail,
                  RETRY_SECONDS)  # fmt: skip
        self.retry_at = time.monotonic() + RETRY_SECONDS
        self._end()

    def close(self) -> None:
        self._end()

    def _on_exit(self) -> None:
        if self.current is not None:
            self.current.reap()
            self.lost(self.current.ended("it exited"))

    def _end(self) -> None:
        if self.current is not None:
            self.loop.unwatch(self.current.pidfd)
            self.current.close()
            self.current = None
