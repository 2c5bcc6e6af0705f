"""Hostile programs against the real sandbox: each test tries one forbidden
thing and fails if it works. Probes print `ESCAPED <what>` on success."""
