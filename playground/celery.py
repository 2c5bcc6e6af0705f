"""The Celery app: `celery -A playground worker` executes runs on this host.

Configured from the environment alone (PLAYGROUND_REDIS_URL,
PLAYGROUND_REDIS_PREFIX, PLAYGROUND_MAX_CONCURRENT_RUNS), so a worker host
needs no database and no Django settings. Each worker process is one
executor.worker.Worker: a thread per task, one supervisor for them all.

A task is acknowledged when it starts, not when it ends (acks_late off): a
worker killed mid-run loses the message instead of handing the run to
another worker, and the run's claim in Redis refuses any redelivery anyway.
See docs/deployment.md.
"""

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery, signals

from executor import config, relay
from executor.worker import Worker

log = logging.getLogger(__name__)

QUEUE = "runs"
START_TIMEOUT_SECONDS = 60


def configure(app: Celery, settings: relay.Settings) -> Celery:
    """Point an app at this deployment's Redis, with its key prefix."""
    app.conf.update(
        broker_url=settings.url,
        broker_transport_options={
            "global_keyprefix": f"{settings.prefix}celery:",
            # A run is never redelivered (see above); this only bounds how long
            # a message a dead worker had reserved waits before another takes it.
            "visibility_timeout": 60,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # reconnect after a Redis restart
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        # A busy worker takes no further task: a queued run goes to the next
        # free worker instead of waiting behind a busy one (or a dead one).
        worker_disable_prefetch=True,
        worker_pool="threads",
        worker_concurrency=config.get().max_concurrent_runs,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def publisher(settings: relay.Settings) -> Callable[[dict[str, Any]], None]:
    """How a web process queues a job for any worker."""
    sender = configure(Celery("playground-web"), settings)

    def publish(job: dict[str, Any]) -> None:
        sender.send_task(
            "playground.run",
            args=[job],
            queue=QUEUE,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2},
        )

    return publish


app = Celery("playground")
_settings = relay.settings_from(os.environ)
if _settings is not None:
    configure(app, _settings)
_worker: Worker | None = None
_making = threading.Lock()


def worker() -> Worker:
    """This process's Worker, made at its first use."""
    global _worker
    if _settings is None:
        raise RuntimeError("PLAYGROUND_REDIS_URL is not set; a worker needs Redis")
    with _making:
        if _worker is None:
            _worker = Worker(_settings)
        return _worker


@signals.worker_ready.connect
def _start(**_: Any) -> None:
    """Claim the uid block and start the supervisor before the first task;
    a worker whose supervisor cannot start takes no run: it shuts down."""
    made = worker()
    if not made.healthy(timeout=START_TIMEOUT_SECONDS):
        log.error("worker %s shuts down, it cannot run programs: %s",
                  made.name, made.health)  # fmt: skip
        os.kill(os.getpid(), signal.SIGTERM)


@app.task(name="playground.run", ignore_result=True)
def run(job: dict[str, Any]) -> None:
    worker().execute(job)
