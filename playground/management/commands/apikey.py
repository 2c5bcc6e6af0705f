"""`manage.py apikey create|list|revoke`: the API keys clients send."""

import argparse
import math
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playground.api.throttle import new_key
from playground.models import ApiKey


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
        return value

    return parse


class Command(BaseCommand):
    help = "Create, list or revoke API keys; a key is shown once, at creation."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="make a key and print it once")
        create.add_argument("name")
        create.add_argument("--runs-per-second", type=_positive(float))
        create.add_argument("--burst", type=_positive(int))
        create.add_argument("--max-runs-at-once", type=_positive(int))
        actions.add_parser("list", help="list keys without their secrets")
        revoke = actions.add_parser("revoke", help="stop a key from working")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        if ApiKey.objects.filter(name=options["name"]).exists():
            raise CommandError(
                f"a key named {options['name']!r} exists (names stay taken "
                "after revoking); pick another name"
            )
        key, prefix, digest = new_key()
        ApiKey.objects.create(
            name=options["name"], prefix=prefix, key_hash=digest,
            runs_per_second=options["runs_per_second"], burst=options["burst"],
            max_runs_at_once=options["max_runs_at_once"],
        )  # fmt: skip
        self.stdout.write(f"{key}\n(shown once: store it now; send it as "
                          "'Authorization: Bearer <key>')")  # fmt: skip

    def _list(self, options: dict[str, Any]) -> None:
        for key in ApiKey.objects.order_by("name"):
            state = "revoked" if key.revoked else "active"
            self.stdout.write(f"{key.name}\t{key.prefix}…\t{state}")

    def _revoke(self, options: dict[str, Any]) -> None:
        if not ApiKey.objects.filter(name=options["name"]).update(revoked=True):
            raise CommandError(f"no key named {options['name']!r}")
        self.stdout.write(f"revoked {options['name']}")
