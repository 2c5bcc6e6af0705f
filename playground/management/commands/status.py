"""`manage.py status`: the workers, their capacity and health, the runs in
flight and the queue, as the workers report them to Redis."""

import json
import os
import time
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from executor import relay


def gather(settings: relay.Settings) -> dict[str, Any]:
    """What every live worker last said, and how many runs wait."""
    keys = relay.Keys(settings.prefix)
    with redis.Redis.from_url(settings.url, socket_connect_timeout=2) as client:
        names = sorted(client.scan_iter(match=f"{keys.workers}*", count=1000))
        workers = [json.loads(raw) for key in names if (raw := client.get(key))]
        queued = int(client.zcard(keys.queued))
    return {
        "workers": workers,
        "capacity": sum(w["capacity"] for w in workers),
        "in_flight": sum(len(w["in_flight"]) for w in workers),
        "queued": queued,
    }


class Command(BaseCommand):
    help = "Show the Celery workers, the runs in flight and the queue length."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = relay.settings_from(os.environ)
        if settings is None:
            self.stdout.write("embedded mode (PLAYGROUND_REDIS_URL is not set): "
                              "runs execute in each web process's own supervisor; "
                              "there are no workers to show")  # fmt: skip
            return
        try:
            status = gather(settings)
        except redis.RedisError as exc:
            raise CommandError(
                f"cannot reach Redis at PLAYGROUND_REDIS_URL: {exc}; is it running?"
            ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2))
            return
        self._print(status)

    def _print(self, status: dict[str, Any]) -> None:
        workers = status["workers"]
        self.stdout.write(f"workers: {len(workers)}, runs in flight: "
                          f"{status['in_flight']} of {status['capacity']}, "
                          f"queued: {status['queued']}")  # fmt: skip
        if not workers:
            self.stdout.write("no worker is alive: start `.venv/bin/celery "
                              "-A playground worker` on a worker host")  # fmt: skip
        for w in workers:
            uptime = time.time() - w["started"]
            first, last = w["uids"]
            self.stdout.write(
                f"  {w['name']}: {len(w['in_flight'])}/{w['capacity']} runs, "
                f"health {w['health']}, uids {first}..{last}, "
                f"up {uptime:.0f} s"
            )
