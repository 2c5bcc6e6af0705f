from django.contrib import admin

from playground.models import Collection, CollectionItem, RunRecord, Snippet
from playground.share import store


@admin.register(RunRecord)
class RunRecordAdmin(admin.ModelAdmin):
    """Read-only: records are written by runs, pruned by `prune_audit`."""

    list_display = ("started_at", "run_id", "client", "surface", "language",
                    "version", "status", "stopped_by", "host")  # fmt: skip
    list_filter = ("status", "stopped_by", "language", "surface", "client")
    search_fields = ("run_id", "client")
    date_hierarchy = "started_at"

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Snippet)
class SnippetAdmin(admin.ModelAdmin):
    """Snippets are never edited (their id is their content); the
    administrator can only take one down, which leaves a notice in its place."""

    list_display = ("id", "created_at", "language", "version", "size", "creator",
                    "parent", "taken_down_at")  # fmt: skip
    list_filter = ("language", ("taken_down_at", admin.EmptyFieldListFilter))
    search_fields = ("id", "creator")
    readonly_fields = ("id", "language", "version", "files", "stdin", "args",
                       "options", "size", "parent", "created_at", "creator",
                       "taken_down_at")  # fmt: skip
    actions = ["take_down", "restore"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    # Deleting would turn a permanent link into a 404; a take-down keeps it
    # saying what happened.
    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description="Take down the selected snippets")
    def take_down(self, request, queryset):  # type: ignore[no-untyped-def]
        for snippet in queryset.filter(taken_down_at__isnull=True):
            store.take_down(snippet, f"taken down by {request.user.get_username()}")
        self.message_user(request, "The snippets now show a take-down notice.")

    @admin.action(description="Restore the selected snippets")
    def restore(self, request, queryset):  # type: ignore[no-untyped-def]
        queryset.update(taken_down_at=None, takedown_reason="")


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    raw_id_fields = ("snippet",)
    extra = 0


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("title", "id", "owner", "updated_at")
    search_fields = ("title", "id", "owner__username")
    inlines = [CollectionItemInline]
