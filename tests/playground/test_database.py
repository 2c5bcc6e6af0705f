"""The site uses the database PLAYGROUND_DATABASE_URL names (SQLite without
it); `make test` runs every `database` test against both."""

import os

import pytest
from django.core.management import call_command
from django.db import connection

from playground.models import ApiKey

pytestmark = pytest.mark.database


def test_the_configured_database_is_the_one_in_use():
    url = os.environ.get("PLAYGROUND_DATABASE_URL", "")
    expected = "postgresql" if url.startswith("postgres") else "sqlite"
    assert connection.vendor == expected


def test_the_models_match_their_migrations():
    call_command("makemigrations", "playground", "--check", "--dry-run", verbosity=0)


def test_a_unique_key_name_is_enforced_by_the_database():
    from django.db import IntegrityError, transaction

    ApiKey.objects.create(name="twice", prefix="pk_x", key_hash="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(name="twice", prefix="pk_y", key_hash="1" * 64)
