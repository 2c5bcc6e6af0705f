"""Exceptions of the engine.

    ExecutorError                 anything the engine raises on purpose
    +-- ConfigError               a setting that does not parse or is out of range
    +-- JobError                  a request the engine cannot run as given
    |   +-- UnknownRuntime        no installed runtime matches language/version
    |   +-- LimitError            a limit of the wrong type or above its maximum
    |   +-- FileNameError         a file name that could escape the work directory
    +-- SandboxError              an isolation step failed: the run does not start
    +-- BackendError              the supervisor or worker cannot be reached

JobError messages are shown to the user as they are; SandboxError and
BackendError are the playground's own fault (status XX).
"""

from __future__ import annotations


class ExecutorError(Exception):
    """Base of every error the engine raises on purpose."""


class ConfigError(ExecutorError):
    """A setting does not parse or is out of its allowed range."""


class JobError(ExecutorError):
    """The request cannot be run as given; the message says what to change."""


class UnknownRuntime(JobError):
    """No installed runtime matches the requested language and version."""


class LimitError(JobError):
    """A requested limit has the wrong type or exceeds its maximum."""


class FileNameError(JobError):
    """A file name is empty, absolute, or leaves the work directory."""


class SandboxError(ExecutorError):
    """An isolation step failed; `step` names it for the operator."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"sandbox step '{step}' failed: {detail}")
        self.step = step
        self.detail = detail


class BackendError(ExecutorError):
    """The executor process that should run the job is unavailable."""
