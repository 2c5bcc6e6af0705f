"""Saving snippets and finding them again.

Saving is idempotent: the id is derived from the content, so a second share
of the same content finds the first row and changes nothing in it (its
parent included). Creation spends a token from the client's snippet bucket
(PLAYGROUND_SNIPPETS_PER_SECOND, PLAYGROUND_SNIPPET_BURST), kept apart from
its runs.
"""

from __future__ import annotations

import logging
import os
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from playground.api import throttle
from playground.models import Snippet
from playground.share.content import Content, SnippetError

log = logging.getLogger(__name__)


def snippet_client(address: str | None) -> throttle.Client:
    """The bucket a client's shares come from, separate from its runs."""
    rate = os.environ.get("PLAYGROUND_SNIPPETS_PER_SECOND") or "0.5"
    burst = os.environ.get("PLAYGROUND_SNIPPET_BURST") or "20"
    try:
        return throttle.Client(f"snippets of address {address or 'unknown'}",
                               float(rate), int(burst), 1)  # fmt: skip
    except ValueError:
        raise SnippetError(
            "PLAYGROUND_SNIPPETS_PER_SECOND and PLAYGROUND_SNIPPET_BURST must be "
            f"numbers, got {rate!r} and {burst!r}"
        ) from None


class SharingTooFast(Exception):
    """The client made new snippets faster than its bucket allows."""

    def __init__(self, client: throttle.Client, retry_after: int) -> None:
        super().__init__(
            f"too many new snippets: {client.runs_per_second:g} per second with "
            f"bursts of {client.burst} are allowed; retry in {retry_after} s"
        )
        self.retry_after = retry_after


def same_content(row: Snippet, content: Content) -> bool:
    stored = Content(row.language, row.version, row.files, row.stdin, row.args,
                     row.options)  # fmt: skip
    return stored.canonical() == content.canonical()


def save(content: Content, parent: Snippet | None, address: str | None) -> Snippet:
    """The snippet for this content: the existing one, or a new row.

    Raises SharingTooFast when the client makes new snippets too fast;
    sharing existing content costs nothing."""
    spent = False
    for snippet_id in content.ids():
        existing = Snippet.objects.filter(id=snippet_id).first()
        if existing is not None:
            if same_content(existing, content):
                return existing
            continue  # a prefix collision: the next, longer id is free
        if not spent:
            _spend(snippet_client(address))
            spent = True
        created = _create(snippet_id, content, parent, address)
        if created is not None:
            return created
    raise SnippetError("no free id for this content; please report this")


def _spend(client: throttle.Client) -> None:
    try:
        throttle.take_token(client)
    except throttle.Refused as exc:
        raise SharingTooFast(client, exc.retry_after) from None


def _create(
    snippet_id: str, content: Content, parent: Snippet | None, address: str | None
) -> Snippet | None:
    """The new row, the same content's row if another share just made it,
    or None if other content just took the id (save tries the next one)."""
    row = Snippet(
        id=snippet_id,
        language=content.language,
        version=content.version,
        files=content.files,
        stdin=content.stdin,
        args=content.args,
        options=content.options,
        size=len(content.canonical()),
        parent=parent,
        creator=f"address {address or 'unknown'}",
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Another share took this id at the same moment: usually the same
        # content, whose row is the snippet; rarely content whose id begins
        # alike, which must not be handed out as this content's link.
        raced = Snippet.objects.get(id=snippet_id)
        return raced if same_content(raced, content) else None
    log.info("snippet=%s saved: %s %s, %d bytes, parent=%s", row.id,
             row.language, row.version, row.size, parent and parent.id)  # fmt: skip
    return row


ID_SHAPE = re.compile(r"[a-z0-9]{12,32}")


def find(snippet_id: str) -> Snippet | None:
    """The snippet with this id (any case), or None; text that cannot be an
    id (PostgreSQL refuses NUL even in a query) is not looked up."""
    wanted = snippet_id.lower()
    if not ID_SHAPE.fullmatch(wanted):
        return None
    return Snippet.objects.filter(id=wanted).first()


def take_down(snippet: Snippet, reason: str) -> None:
    snippet.taken_down_at = timezone.now()
    snippet.takedown_reason = reason
    snippet.save(update_fields=["taken_down_at", "takedown_reason"])
    log.warning("snippet=%s taken down: %s", snippet.id, reason)
