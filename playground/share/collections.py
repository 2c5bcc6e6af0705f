"""Teachers' collections: a named, ordered list of snippets, each with a
short description, shared as one link (/c/<id>) that students step through.

The owner edits a collection on /collections/<id>/: add a snippet by its
link, reorder, edit a description, replace a snippet by a newer fork, remove.
Every change is a POST form with Django's CSRF token.
"""

from __future__ import annotations

import base64
import re
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from playground.models import Collection, CollectionItem, Snippet
from playground.pages import runtime_list
from playground.share import store
from playground.share.oembed import preview
from playground.share.pages import describe, snippet_data, unseen

SNIPPET_REF = re.compile(
    r"(?:^|/)(?:s|embed)/([a-z0-9]{12,32})/?(?:[?#].*)?$|^([a-z0-9]{12,32})$"
)
MAX_TITLE, MAX_DESCRIPTION = 200, 500
MAX_ID = 16  # Collection.id's length


class Invalid(ValueError):
    """A form value that cannot be used; the message says why."""


def _field(form: dict[str, str], name: str, limit: int | None = None) -> str:
    """A text field of a form, cut to `limit` characters. NUL is refused
    here, on every database, because PostgreSQL cannot store it."""
    value = form.get(name, "")
    if "\0" in value:
        raise Invalid(f"The {name} cannot hold NUL characters (\\0); remove them.")
    return value[:limit] if limit is not None else value


def _find(collection_id: str) -> Collection | None:
    # Ids longer than a collection's, or holding NUL, are looked up nowhere.
    if len(collection_id) > MAX_ID or "\0" in collection_id:
        return None
    return Collection.objects.filter(id=collection_id).first()


def snippet_from(reference: str) -> Snippet:
    """The snippet a pasted link or id names."""
    match = SNIPPET_REF.search(reference.strip().lower())
    found = store.find(match.group(1) or match.group(2)) if match else None
    if found is None:
        raise Invalid(f"{reference!r} is not a snippet link of this playground; "
                      "share the code first and paste its link")  # fmt: skip
    return found


@login_required
@require_http_methods(["GET", "POST"])
def mine(request: HttpRequest) -> HttpResponse:
    """The teacher's collections, and a form to start one."""
    if request.method == "POST":
        return _create(request)
    owned = Collection.objects.filter(owner=request.user)  # type: ignore[misc]
    return render(request, "playground/collections.html", {"collections": owned})


def _create(request: HttpRequest) -> HttpResponse:
    try:
        title = _field(request.POST, "title").strip()[:MAX_TITLE]
        description = _field(request.POST, "description").strip()
        if not title:
            raise Invalid("Give the collection a title.")
    except Invalid as exc:
        messages.error(request, str(exc))
        return redirect("collections")
    collection = Collection.objects.create(
        # 80 random bits: a collection's link cannot be guessed from another's.
        id=base64.b32encode(secrets.token_bytes(10)).decode().lower(),
        owner=request.user,
        title=title,
        description=description,
    )
    return redirect("collection-edit", collection.id)


def _owned(request: HttpRequest, collection_id: str) -> Collection:
    collection = _find(collection_id)
    if collection is None or collection.owner_id != request.user.pk:
        raise Http404("not your collection")
    return collection


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, collection_id: str) -> HttpResponse:
    collection = _owned(request, collection_id)
    if request.method == "POST":
        try:
            with transaction.atomic():
                # One change at a time per collection: two steps added at
                # once would otherwise take the same position.
                locked = Collection.objects.select_for_update().get(pk=collection.pk)
                _apply(locked, request.POST)
            collection.save(update_fields=["updated_at"])
        except Invalid as exc:
            messages.error(request, str(exc))
        return redirect("collection-edit", collection.id)
    steps = [
        {"item": item, "forks": item.snippet.forks.order_by("-created_at")[:10]}
        for item in collection.items.select_related("snippet")
    ]
    return render(request, "playground/collection_edit.html",
                  {"collection": collection, "steps": steps})  # fmt: skip


def _item(collection: Collection, form: dict[str, str]) -> CollectionItem:
    number = form.get("item", "")
    # isdigit() alone passes "²", which int() refuses; 18 digits fit any
    # database's integer.
    usable = number.isascii() and number.isdigit() and len(number) <= 18
    item = collection.items.filter(pk=int(number)).first() if usable else None
    if item is None:
        raise Invalid("that step is no longer in the collection; reload the page")
    return item


def _apply(collection: Collection, form: dict[str, str]) -> None:
    action = form.get("action", "")
    if action == "details":
        title = _field(form, "title").strip()[:MAX_TITLE]
        if not title:
            raise Invalid("Give the collection a title.")
        collection.title = title
        collection.description = _field(form, "description")
        collection.save(update_fields=["title", "description"])
    elif action == "add":
        description = _field(form, "description", MAX_DESCRIPTION)
        last = collection.items.aggregate(n=Max("position"))["n"] or 0
        CollectionItem.objects.create(
            collection=collection,
            snippet=snippet_from(form.get("snippet", "")),
            position=last + 1,
            description=description,
        )
    elif action == "describe":
        item = _item(collection, form)
        item.description = _field(form, "description", MAX_DESCRIPTION)
        item.save(update_fields=["description"])
    elif action == "replace":
        item = _item(collection, form)
        item.snippet = snippet_from(form.get("snippet", ""))
        item.save(update_fields=["snippet"])
    elif action in ("up", "down", "remove"):
        _reorder(collection, _item(collection, form), action)
    else:
        raise Invalid(f"unknown action {action!r}")


def _reorder(collection: Collection, item: CollectionItem, action: str) -> None:
    order = list(collection.items.all())
    index = next(i for i, each in enumerate(order) if each.pk == item.pk)
    order.pop(index)
    if action != "remove":
        order.insert(max(0, index - 1) if action == "up" else index + 1, item)
    else:
        item.delete()
    # Two passes: positions are unique, so no row may take a number that
    # another row still holds.
    offset = len(order) + 1000
    for position, each in enumerate(order, start=offset):
        CollectionItem.objects.filter(pk=each.pk).update(position=position)
    for position, each in enumerate(order, start=1):
        CollectionItem.objects.filter(pk=each.pk).update(position=position)


@require_GET
def overview(request: HttpRequest, collection_id: str) -> HttpResponse:
    collection = _find(collection_id)
    if collection is None:
        return render(request, "playground/not_found.html",
                      {"what": f"collection {collection_id}"}, status=404)  # fmt: skip
    items = collection.items.select_related("snippet")
    return render(request, "playground/collection.html",
                  {"collection": collection, "items": items})  # fmt: skip


@require_GET
def step(request: HttpRequest, collection_id: str, number: int) -> HttpResponse:
    """One step of a collection: the snippet on the editor page, with the
    step's description and links to the previous and next steps."""
    collection = _find(collection_id)
    items = list(collection.items.select_related("snippet")) if collection else []
    if collection is None or not 1 <= number <= len(items):
        return render(request, "playground/not_found.html",
                      {"what": f"step {number} of collection {collection_id}"},
                      status=404)  # fmt: skip
    item = items[number - 1]
    if item.snippet.taken_down:
        context = {"snippet": item.snippet, "embed": False}
        return render(request, "playground/taken_down.html", context, status=410)
    if request.session.session_key is None:
        request.session.save()  # the audit trail names page visitors by session
    data = snippet_data(item.snippet)
    walk = {"collection": collection, "item": item, "number": number,
            "count": len(items)}  # fmt: skip
    return render(request, "playground/index.html", {
        "runtimes": runtime_list(), "snippet": item.snippet, "walk": walk,
        "page_data": {"snippet": data}, "note": data["note"],
        "unseen": unseen(item.snippet),
        "share": describe(request, item.snippet), **preview(request, item.snippet),
    })  # fmt: skip
