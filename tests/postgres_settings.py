"""The site's settings with PostgreSQL as the database, for running the
model and view tests (marked `database`) there as well as on SQLite:

    .venv/bin/python -m pytest -m database --ds=tests.postgres_settings

PLAYGROUND_TEST_POSTGRES (HOST:PORT, 127.0.0.1:5432 by default) names the
server; the user is postgres. The tests make their own database, named after
this checkout's path so that two checkouts never share one, and drop it.
"""

import hashlib
import os

from playground.settings import *  # noqa: F403 (every setting, one changed)
from playground.settings import BASE_DIR

_host, _, _port = os.environ.get(
    "PLAYGROUND_TEST_POSTGRES", "127.0.0.1:5432"
).rpartition(":")
_checkout = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "HOST": _host or "127.0.0.1",
        "PORT": _port or "5432",
        "USER": "postgres",
        "TEST": {"NAME": f"test_playground_{_checkout}"},
    }
}
