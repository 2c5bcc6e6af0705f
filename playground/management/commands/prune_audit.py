"""`manage.py prune_audit`: delete audit records older than the retention."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from playground.audit import retention
from playground.models import RunRecord


class Command(BaseCommand):
    help = "Delete run records older than PLAYGROUND_AUDIT_RETENTION_DAYS (30)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="keep this many days instead")

    def handle(self, *args: Any, **options: Any) -> None:
        keep = timedelta(days=options["days"]) if options["days"] else retention()
        cutoff = timezone.now() - keep
        deleted, _ = RunRecord.objects.filter(started_at__lt=cutoff).delete()
        self.stdout.write(
            f"deleted {deleted} run records started before {cutoff:%Y-%m-%d %H:%M}"
        )
