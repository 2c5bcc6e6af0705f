"""`manage.py runtimes`: every runtime file, its version, state and packages."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from playground.registry import registry


class Command(BaseCommand):
    help = (
        "List every runtime declared in runtimes/ with its detected version, "
        "whether it is available (and why not), and the packages that provide "
        "it. `make runtimes` installs the missing ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--available", action="store_true", help="list only available runtimes"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        runtimes = registry().all
        if options["available"]:
            runtimes = [rt for rt in runtimes if rt.available]
        width = max((len(rt.language) for rt in runtimes), default=8)
        self.stdout.write(
            f"{'LANGUAGE':{width}}  {'VERSION':12}  {'STATE':11}  PACKAGES"
        )
        for rt in runtimes:
            provides = " ".join([*rt.packages, *(f"npm:{p}" for p in rt.npm)])
            self.stdout.write(
                f"{rt.language:{width}}  {rt.version or '-':12}  "
                f"{'available' if rt.available else 'unavailable':11}  {provides}"
            )
            if not rt.available:
                self.stdout.write(f"{'':{width}}  {rt.problem}")
        count = sum(rt.available for rt in registry().all)
        self.stdout.write(f"{count} of {len(registry().all)} runtimes available")
