"""The audit trail: one record per run, kept for a set number of days."""

from django.db import models

from playground import inflight


class RunRecord(models.Model):
    """Who ran what, where, and how it ended; code and output only when the
    administrator enables PLAYGROUND_AUDIT_CONTENT."""

    class StoppedBy(models.TextChoices):
        # Why the playground stopped a run before its end (playground.inflight);
        # its last stage then says SG, "Stopped on request".
        CLIENT = inflight.CLIENT_LEFT, "its client left"
        SHUTDOWN = inflight.SHUTDOWN, "the server shut down"

    run_id = models.CharField(max_length=32, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    client = models.CharField(max_length=200, db_index=True)
    surface = models.CharField(max_length=20)  # page, http or websocket
    language = models.CharField(max_length=50)
    version = models.CharField(max_length=50)
    status = models.CharField(max_length=4, blank=True)  # the last stage's
    stages = models.JSONField(default=list)
    stopped_by = models.CharField(max_length=10, blank=True, choices=StoppedBy.choices)
    host = models.CharField(max_length=200)
    code = models.TextField(blank=True)
    output = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.run_id} {self.language} {self.status or 'OK'}"


class ApiKey(models.Model):
    """A client's key: only its hash is stored; limits left empty take the
    site's defaults."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64)
    runs_per_second = models.FloatField(null=True, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)
    max_runs_at_once = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Snippet(models.Model):
    """Shared code, addressed by a hash of its content: the same content
    always gets the same id, and a row is never edited once written (only
    an administrator's take-down hides it)."""

    id = models.CharField(max_length=32, primary_key=True)
    language = models.CharField(max_length=50)
    version = models.CharField(max_length=50)
    files = models.JSONField()  # [{"name": ..., "content": ...}]
    stdin = models.TextField(blank=True)
    args = models.JSONField(default=list)
    options = models.JSONField(default=dict)
    size = models.PositiveIntegerField()  # bytes of the canonical content
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    creator = models.CharField(max_length=200, blank=True)  # the rate-limit client
    taken_down_at = models.DateTimeField(null=True, blank=True)
    takedown_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} {self.language} {self.version}"

    @property
    def taken_down(self) -> bool:
        return self.taken_down_at is not None


class Collection(models.Model):
    """A teacher's named, ordered list of snippets, shared as one link."""

    id = models.CharField(max_length=16, primary_key=True)
    owner = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="collections"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


class CollectionItem(models.Model):
    """One step of a collection: a snippet and what the student should see
    in it."""

    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="items"
    )
    snippet = models.ForeignKey(Snippet, on_delete=models.PROTECT)
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "position"], name="one_item_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.collection_id} #{self.position}: {self.snippet_id}"
