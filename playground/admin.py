from django.contrib import admin

from playground.models import RunRecord


@admin.register(RunRecord)
class RunRecordAdmin(admin.ModelAdmin):
    """Read-only: records are written by runs, pruned by `prune_audit`."""

    list_display = ("started_at", "run_id", "client", "surface", "language",
                    "version", "status", "host")  # fmt: skip
    list_filter = ("status", "language", "surface", "client")
    search_fields = ("run_id", "client")
    date_hierarchy = "started_at"

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
