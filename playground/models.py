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
