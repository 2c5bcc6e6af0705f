"""Who a client is, and how fast it may go.

A client is its API key when it sends one (`Authorization: Bearer pk_...`),
else its address. Each client has a token bucket (PLAYGROUND_RUNS_PER_SECOND,
PLAYGROUND_RUN_BURST) and a cap on runs in flight
(PLAYGROUND_MAX_RUNS_PER_CLIENT); a key may carry limits of its own. State
lives in Django's cache, shared by every web process that shares the cache.
"""

import hashlib
import logging
import math
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache, partial

from django.core.cache import cache

from playground import dbthread
from playground.models import ApiKey

log = logging.getLogger(__name__)

KEY_PREFIX = "pk_"
IN_FLIGHT_TTL_SECONDS = 3600  # a crashed web process cannot hold a slot forever


def _setting(name: str, default: float) -> float:
    value = os.environ.get(f"PLAYGROUND_{name}")
    return float(value) if value else default


@dataclass(frozen=True)
class Client:
    name: str
    runs_per_second: float
    burst: int
    max_runs_at_once: int


class Refused(Exception):
    """The client is over a limit; `retry_after` seconds may help."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def new_key() -> tuple[str, str, str]:
    """A fresh key, its lookup prefix and its hash; only the last two are kept."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:12], hash_key(key)


def hash_key(key: str) -> str:
    # The key is 32 random bytes, so a plain hash cannot be guessed backwards.
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header; the scheme's
    case does not matter, and any other scheme carries no token here."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _defaults(name: str, key: ApiKey | None = None) -> Client:
    return Client(
        name=name,
        runs_per_second=(key and key.runs_per_second) or _setting("RUNS_PER_SECOND", 2),
        burst=int((key and key.burst) or _setting("RUN_BURST", 10)),
        max_runs_at_once=int((key and key.max_runs_at_once)
                             or _setting("MAX_RUNS_PER_CLIENT", 4)),
    )  # fmt: skip


async def identify(authorization: str, address: str | None) -> Client:
    """The client behind a request; an unknown or revoked key is refused."""
    given = bearer_token(authorization) or ""
    if not given.startswith(KEY_PREFIX):
        # No key, no database: answered in the loop, without a thread hop.
        return _defaults(f"address {address or 'unknown'}")
    # The request keeps no connection of its own (playground/dbthread.py).
    return await dbthread.call(partial(dbthread.retried, partial(_key_client, given)))


def _key_client(given: str) -> Client:
    key = ApiKey.objects.filter(prefix=given[:12], revoked=False).first()
    if key is None or not secrets.compare_digest(key.key_hash, hash_key(given)):
        raise Refused("this API key is unknown or revoked; ask the site's "
                      "administrator for a new one", retry_after=0)  # fmt: skip
    return _defaults(f"key {key.name}", key)


def _cache_key(kind: str, client: Client) -> str:
    return f"{kind}:{_name_digest(client.name)}"


@lru_cache(maxsize=4096)
def _name_digest(name: str) -> str:
    # Client names hold spaces and addresses; cache keys must not. A run
    # names its client four times.
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def take_token(client: Client) -> None:
    """Spend one run from the client's bucket, or say when one is due."""
    now = time.monotonic()
    tokens, stamp = cache.get(_cache_key("bucket", client), (client.burst, now))
    tokens = min(client.burst, tokens + (now - stamp) * client.runs_per_second)
    if tokens < 1:
        wait = math.ceil((1 - tokens) / client.runs_per_second)
        raise Refused(f"too many runs: {client.runs_per_second:g} per second with "
                      f"bursts of {client.burst} are allowed; retry in {wait} s",
                      retry_after=wait)  # fmt: skip
    cache.set(_cache_key("bucket", client), (tokens - 1, now), timeout=3600)


def acquire(client: Client) -> None:
    """Take one of the client's run slots and a token, or refuse; every
    acquire that returns is matched by one release."""
    try:
        _acquire(client)
    except Refused:
        raise
    except Exception as exc:  # the cache's own errors vary with its backend
        log.error("%s: run refused, the shared cache fails: %s", client.name, exc)
        raise Refused("the playground cannot count runs right now (its shared "
                      "store is restarting); retry in a few seconds",
                      retry_after=2) from exc  # fmt: skip


def _acquire(client: Client) -> None:
    key = _cache_key("in-flight", client)
    cache.add(key, 0, timeout=IN_FLIGHT_TTL_SECONDS)
    if cache.incr(key) > client.max_runs_at_once:
        cache.decr(key)
        raise Refused(f"you already have {client.max_runs_at_once} runs in "
                      "flight; wait for one to finish", retry_after=1)  # fmt: skip
    try:
        take_token(client)
    except Refused:
        cache.decr(key)
        raise


def release(client: Client) -> None:
    try:
        cache.decr(_cache_key("in-flight", client))
    except ValueError:
        pass  # expired meanwhile: nothing to give back
    except Exception as exc:  # the cache's own errors vary with its backend
        # A shared cache (Redis) may be restarting: its counters are gone
        # with it, and the run still ends and leaves its record.
        log.warning("%s: run slot not given back: %s", client.name, exc)
