"""The audit trail: one record per run, kept for a set number of days."""

from django.db import models


class RunRecord(models.Model):
    """Who ran what, where, and how it ended; code and output only when the
    administrator enables PLAYGROUND_AUDIT_CONTENT."""

    run_id = models.CharField(max_length=32, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    client = models.CharField(max_length=200, db_index=True)
    surface = models.CharField(max_length=20)  # page, http or websocket
    language = models.CharField(max_length=50)
    version = models.CharField(max_length=50)
    status = models.CharField(max_length=4, blank=True)  # the last stage's
    stages = models.JSONField(default=list)
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
