"""Teachers' collections: only a signed-in owner edits; students follow one
link through the steps in order."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.models import Collection
from tests.playground.share.conftest import payload, share

pytestmark = pytest.mark.database


@pytest.fixture
def teacher() -> Client:
    user = User.objects.create_user("ada")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _token(client: Client, path: str) -> str:
    page = client.get(path).content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, f"no form with a CSRF token on {path}"
    return match.group(1)


def post(client: Client, path: str, **form: str) -> object:
    return client.post(path, {**form, "csrfmiddlewaretoken": _token(client, path)})


def new_collection(teacher: Client, *codes: str) -> Collection:
    post(teacher, "/collections/", title="Loops", description="for beginners")
    collection = Collection.objects.get(title="Loops")
    for number, code in enumerate(codes, start=1):
        snippet = share(teacher, payload(code)).json()
        post(teacher, f"/collections/{collection.id}/", action="add",
             snippet=snippet["url"], description=f"step {number}")  # fmt: skip
    return collection


def steps(collection: Collection) -> list[tuple[str, str]]:
    return [(item.snippet.files[0]["content"], item.description)
            for item in collection.items.select_related("snippet")]  # fmt: skip


def test_a_teacher_builds_a_collection_from_snippet_links(teacher: Client) -> None:
    collection = new_collection(teacher, "print(1)\n", "print(2)\n")

    assert steps(collection) == [("print(1)\n", "step 1"), ("print(2)\n", "step 2")]
    assert collection.owner.username == "ada"


def test_reorder_describe_and_remove(teacher: Client) -> None:
    collection = new_collection(teacher, "print(1)\n", "print(2)\n", "print(3)\n")
    path = f"/collections/{collection.id}/"
    items = list(collection.items.all())

    post(teacher, path, action="up", item=str(items[2].pk))
    post(teacher, path, action="describe", item=str(items[0].pk),
         description="start here")  # fmt: skip
    post(teacher, path, action="remove", item=str(items[1].pk))

    assert steps(collection) == [("print(1)\n", "start here"),
                                 ("print(3)\n", "step 3")]  # fmt: skip
    assert [i.position for i in collection.items.all()] == [1, 2]


def test_a_step_is_replaced_by_a_newer_fork(teacher: Client) -> None:
    collection = new_collection(teacher, "print(1)\n")
    item = collection.items.get()
    fork = share(teacher, payload("print(11)\n", parent=item.snippet_id)).json()

    page = teacher.get(f"/collections/{collection.id}/").content.decode()
    assert fork["id"] in page  # offered as a newer fork
    post(teacher, f"/collections/{collection.id}/", action="replace",
         item=str(item.pk), snippet=fork["id"])  # fmt: skip

    assert steps(collection) == [("print(11)\n", "step 1")]


def test_a_bad_snippet_link_is_refused_with_a_message(teacher: Client) -> None:
    collection = new_collection(teacher)
    path = f"/collections/{collection.id}/"

    answer = post(teacher, path, action="add", snippet="https://elsewhere.invalid/x")
    page = teacher.get(path).content.decode()  # type: ignore[attr-defined]

    assert answer.status_code == 302  # type: ignore[attr-defined]
    assert "is not a snippet link of this playground" in page
    assert collection.items.count() == 0


def test_only_the_owner_edits_a_collection(teacher: Client) -> None:
    collection = new_collection(teacher, "print(1)\n")
    other = Client()
    other.force_login(User.objects.create_user("eve"))

    assert other.get(f"/collections/{collection.id}/").status_code == 404
    assert Client().get(f"/collections/{collection.id}/").status_code == 302


def test_another_account_cannot_change_a_collection(teacher: Client) -> None:
    collection = new_collection(teacher, "print(1)\n")
    other = Client(enforce_csrf_checks=True)
    other.force_login(User.objects.create_user("eve"))
    token = _token(other, "/collections/")
    path = f"/collections/{collection.id}/"
    item = str(collection.items.get().pk)

    for form in ({"action": "details", "title": "Eve's now"},
                 {"action": "remove", "item": item}):  # fmt: skip
        answer = other.post(path, {**form, "csrfmiddlewaretoken": token})
        assert answer.status_code == 404

    collection.refresh_from_db()
    assert (collection.title, collection.items.count()) == ("Loops", 1)


@pytest.mark.parametrize("number", ["²", "١", "9" * 40, "-1", ""])
def test_a_step_number_that_is_no_step_is_refused_with_a_message(
    teacher: Client, number: str
) -> None:
    collection = new_collection(teacher, "print(1)\n", "print(2)\n")
    path = f"/collections/{collection.id}/"

    answer = post(teacher, path, action="describe", item=number, description="x")
    page = teacher.get(path).content.decode()  # type: ignore[attr-defined]

    assert answer.status_code == 302  # type: ignore[attr-defined]
    assert "that step is no longer in the collection" in page
    assert steps(collection) == [("print(1)\n", "step 1"), ("print(2)\n", "step 2")]


@pytest.mark.parametrize(
    "form",
    [
        {"action": "details", "title": "Loops\0", "description": ""},
        {"action": "details", "title": "Loops", "description": "a\0b"},
        {"action": "describe", "description": "step\0"},
        {"action": "add", "snippet": "print(1)", "description": "\0"},
    ],
    ids=["title", "description", "step", "new-step"],
)
def test_nul_characters_in_forms_are_refused_with_a_message(
    teacher: Client, form: dict[str, str]
) -> None:
    # PostgreSQL refuses NUL in text outright: refused here on every database.
    collection = new_collection(teacher, "print(1)\n")
    path = f"/collections/{collection.id}/"
    item = str(collection.items.get().pk)

    answer = post(teacher, path, item=item, **form)
    page = teacher.get(path).content.decode()  # type: ignore[attr-defined]

    assert answer.status_code == 302  # type: ignore[attr-defined]
    assert "cannot hold NUL characters" in page
    collection.refresh_from_db()
    assert (collection.title, collection.description) == ("Loops", "for beginners")
    assert steps(collection) == [("print(1)\n", "step 1")]


def test_a_new_collection_with_nul_characters_is_refused(teacher: Client) -> None:
    post(teacher, "/collections/", title="Loops\0", description="x")
    page = teacher.get("/collections/").content.decode()

    assert "cannot hold NUL characters" in page
    assert not Collection.objects.exists()


@pytest.mark.parametrize("path", ["/c/a%00b/", "/c/a%00b/1/", "/collections/a%00b/"])
def test_a_collection_id_with_a_nul_character_is_not_found(
    teacher: Client, path: str
) -> None:
    assert teacher.get(path).status_code == 404


def test_forms_without_a_csrf_token_are_refused(teacher: Client) -> None:
    answer = teacher.post("/collections/", {"title": "Sneaky"})

    assert answer.status_code == 403
    assert not Collection.objects.filter(title="Sneaky").exists()


def test_students_step_through_in_order(teacher: Client) -> None:
    collection = new_collection(teacher, "print(1)\n", "print(2)\n")
    student = Client()

    overview = student.get(f"/c/{collection.id}/").content.decode()
    first = student.get(f"/c/{collection.id}/1/").content.decode()
    second = student.get(f"/c/{collection.id}/2/").content.decode()

    assert "Step 1: step 1" in overview and "Step 2: step 2" in overview
    assert "step 1 of 2" in first and f'href="/c/{collection.id}/2/"' in first
    assert "print(1)" in first and 'rel="prev"' not in first
    assert "print(2)" in second and f'href="/c/{collection.id}/1/"' in second
    assert student.get(f"/c/{collection.id}/3/").status_code == 404


def test_sign_up_is_off_unless_enabled(settings: object) -> None:
    assert Client().get("/accounts/signup/").status_code == 404

    settings.PLAYGROUND_SIGNUP = True  # type: ignore[attr-defined]
    answer = Client().post("/accounts/signup/", {
        "username": "grace", "password1": "a-long-password-2",
        "password2": "a-long-password-2"})  # fmt: skip

    assert answer.status_code == 302
    assert User.objects.filter(username="grace").exists()


@pytest.mark.parametrize(
    ("password", "words"),
    [("a", "too short"), ("password123", "too common"), ("12345678901", "numeric"),
     ("grace-hopper", "too similar")],
)  # fmt: skip
def test_sign_up_refuses_a_weak_password_and_says_why(
    settings: object, password: str, words: str
) -> None:
    settings.PLAYGROUND_SIGNUP = True  # type: ignore[attr-defined]
    answer = Client().post("/accounts/signup/", {
        "username": "grace-hopper", "password1": password,
        "password2": password})  # fmt: skip

    assert answer.status_code == 200
    assert words in answer.content.decode()
    assert not User.objects.filter(username="grace-hopper").exists()
