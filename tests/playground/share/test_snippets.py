"""Snippets: the same content gets the same link, a link never changes what
it shows, forks record their parent, and bad input is refused plainly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from playground.models import Snippet
from playground.share import store
from playground.share.content import parse
from tests.playground.share.conftest import payload, python_runtime, share

pytestmark = pytest.mark.database


def test_the_same_content_gets_the_same_link(browser_client: Client) -> None:
    first = share(browser_client, payload("print(1)\n", stdin="x", args=["a"]))
    again = share(Client(enforce_csrf_checks=True),
                  payload("print(1)\n", stdin="x", args=["a"]))  # fmt: skip

    assert first.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Snippet.objects.count() == 1
    assert first.json()["url"].endswith(f"/s/{first.json()['id']}")


@pytest.mark.parametrize(
    "change",
    [
        {"stdin": "other"},
        {"args": ["b"]},
        {"options": {"theme": "dark"}},
        {"files": [{"content": "print(1)\n", "name": "main.py"}]},
        {"version": "0.0.1"},
    ],  # fmt: skip
)
def test_any_change_of_content_gets_another_link(
    browser_client: Client, change: dict[str, object]
) -> None:
    base = share(browser_client, payload("print(1)\n")).json()["id"]
    other = share(browser_client, {**payload("print(1)\n"), **change})

    assert other.status_code == 201, other.content
    assert other.json()["id"] != base


def test_a_link_shows_exactly_what_was_saved(browser_client: Client) -> None:
    code = 'name = input()\nprint(f"<b>{name}</b>")\n'
    body = payload(code, stdin="Ada\n", args=["--flag"])
    snippet_id = share(browser_client, body).json()["id"]

    page = browser_client.get(f"/s/{snippet_id}")
    data = _page_data(page.content.decode())["snippet"]

    assert page.status_code == 200
    assert data["files"] == [{"name": "", "content": code}]
    assert (data["stdin"], data["args"]) == ("Ada\n", ["--flag"])
    assert (data["language"], data["version"]) == python_runtime()
    assert data["note"] == ""


def test_sharing_again_never_rewrites_a_snippet(browser_client: Client) -> None:
    parent = share(browser_client, payload("print(1)\n")).json()["id"]
    child = share(browser_client, payload("print(2)\n", parent=parent)).json()["id"]
    # The same content again, claiming another parent: the first row stands.
    share(browser_client, payload("print(2)\n"))

    assert Snippet.objects.get(id=child).parent_id == parent


def test_a_fork_records_and_shows_its_parent(browser_client: Client) -> None:
    parent = share(browser_client, payload("print(1)\n")).json()["id"]
    answer = share(browser_client, payload("print(2)\n", parent=parent)).json()

    assert answer["parent"] == parent
    page = browser_client.get(f"/s/{answer['id']}").content.decode()
    assert f'id="parent-link" href="/s/{parent}"' in page


def test_an_unknown_parent_is_refused(browser_client: Client) -> None:
    answer = share(browser_client, payload(parent="nosuchsnippet1"))

    assert answer.status_code == 400
    assert "parent 'nosuchsnippet1' is not a snippet" in answer.json()["message"]


def test_an_oversized_snippet_is_refused_with_the_limit(
    browser_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_SNIPPET_MAX_BYTES", "1000")
    answer = share(browser_client, payload("x" * 2000))

    assert answer.status_code == 413
    assert "limited to 1,000 bytes" in answer.json()["message"]
    assert Snippet.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "must be a JSON object"),
        ({"version": "1", "files": [{"content": ""}]}, "language is required"),
        ({"language": "python", "version": "1", "files": []}, "files is required"),
        ({**payload(), "files": [{"content": 1}]}, "files[0].content is required"),
        ({**payload(), "files": [{"name": "/etc/x", "content": ""}]}, "absolute"),
        ({**payload(), "args": "a b"}, "args must be a list of strings"),
        ({**payload(), "options": {"colour": "red"}}, "option 'colour' is unknown"),
        ({**payload(), "options": {"hide": ["menu"]}}, "option hide must be"),
        (payload("print(1)\0"), "cannot hold NUL characters"),
        ({**payload(), "version": "9" * 51}, "version is 51 characters long"),
        ({**payload(), "language": "python\0"}, "cannot hold NUL characters"),
        ({**payload(), "version": "3\0"}, "cannot hold NUL characters"),
        ({**payload(), "parent": "abcdefghijkl\0"}, "is not a snippet"),
        (payload(stdin="\ud800"), "not valid Unicode"),
        ({**payload(), "options": {"theme": ["dark"]}}, "option theme cannot be"),
        ({**payload(), "options": {"theme": {}}}, "option theme cannot be"),
        ({**payload(), "options": {"hide": [["editor"]]}}, "option hide must be"),
        ({**payload(), "options": {"hide": [{}]}}, "option hide must be"),
        ({**payload(), "options": {"readonly": 1}}, "option readonly cannot be"),
        ({**payload(), "options": {"readonly": "yes"}}, "option readonly cannot"),
    ],
)
def test_bad_content_is_refused_with_what_to_fix(
    browser_client: Client, body: object, words: str
) -> None:
    answer = share(browser_client, body)

    assert answer.status_code == 400
    assert Snippet.objects.count() == 0
    assert words in answer.json()["message"]


def test_equal_options_get_the_same_link(browser_client: Client) -> None:
    first = share(browser_client, payload(options={"hide": ["stdin", "editor"]}))
    again = share(browser_client,
                  payload(options={"hide": ["editor", "stdin", "editor"]}))  # fmt: skip

    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Snippet.objects.get().options == {"hide": ["editor", "stdin"]}


def test_a_body_over_the_upload_limit_is_refused_with_the_snippet_limit(
    browser_client: Client, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    answer = share(browser_client, payload("x" * 20_000))

    assert answer.status_code == 413
    assert "snippets are limited to 262,144 bytes" in answer.json()["message"]
    assert Snippet.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_the_share_endpoint_answers_other_methods_with_a_json_405(
    client: Client, method: str
) -> None:
    answer = getattr(client, method)("/api/snippets")

    assert answer.status_code == 405
    assert answer["Allow"] == "POST"
    assert "use POST" in answer.json()["message"]


def test_a_body_that_is_not_json_is_refused(browser_client: Client) -> None:
    answer = share(browser_client, b"{not json")

    assert answer.status_code == 400
    assert "the request body is not valid JSON" in answer.json()["message"]


def test_sharing_without_the_csrf_token_is_refused(browser_client: Client) -> None:
    answer = browser_client.post("/api/snippets", data=json.dumps(payload()),
                                 content_type="application/json")  # fmt: skip

    assert answer.status_code == 403
    assert "cross-site request check" in answer.json()["message"]
    assert Snippet.objects.count() == 0


def test_sharing_is_rate_limited(
    browser_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_SNIPPETS_PER_SECOND", "0.001")
    monkeypatch.setenv("PLAYGROUND_SNIPPET_BURST", "2")
    cache.clear()
    answers = [share(browser_client, payload(f"print({n})\n")) for n in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert "too many new snippets: 0.001 per second" in answers[2].json()["message"]
    assert int(answers[2]["Retry-After"]) > 0
    # Sharing existing content again costs nothing: it creates nothing.
    assert share(browser_client, payload("print(0)\n")).status_code == 201
    cache.clear()


def test_an_unknown_id_is_a_friendly_404(client: Client) -> None:
    page = client.get("/s/nosuchsnippet1")

    assert page.status_code == 404
    assert "There is no snippet nosuchsnippet1" in page.content.decode()
    assert page["Content-Type"].startswith("text/html")


def test_a_taken_down_snippet_shows_a_notice_not_its_content(
    browser_client: Client,
) -> None:
    snippet_id = share(browser_client, payload("print('secret words')\n")).json()["id"]
    store.take_down(Snippet.objects.get(id=snippet_id), "reported as abuse")

    for path in (f"/s/{snippet_id}", f"/embed/{snippet_id}"):
        page = browser_client.get(path)
        text = page.content.decode()
        assert page.status_code == 410
        assert "was taken down" in text and "reported as abuse" in text
        assert "secret words" not in text


def test_sharing_taken_down_content_again_is_refused_with_a_reason(
    browser_client: Client,
) -> None:
    snippet_id = share(browser_client, payload("print('abuse')\n")).json()["id"]
    store.take_down(Snippet.objects.get(id=snippet_id), "reported as abuse")

    again = share(browser_client, payload("print('abuse')\n"))
    fork = share(browser_client, payload("print('other')\n", parent=snippet_id))

    assert again.status_code == 410
    assert "was taken down by the playground's administrator" in again.json()["message"]
    assert fork.status_code == 201 and fork.json()["parent"] == snippet_id


def test_a_missing_runtime_version_is_named_not_switched(
    browser_client: Client,
) -> None:
    language, version = python_runtime()
    body = payload("print(1)\n", version="2.7.18")
    snippet_id = share(browser_client, body).json()["id"]

    page = browser_client.get(f"/s/{snippet_id}").content.decode()

    note = f"Saved with {language} 2.7.18, running on {language} {version}"
    assert note in page
    assert _page_data(page)["snippet"]["runtime"] == {"language": language,
                                                      "version": version}  # fmt: skip


def test_a_language_that_is_not_installed_is_named(browser_client: Client) -> None:
    body = payload("10 PRINT 1\n", language="intercal", version="3.1")
    snippet_id = share(browser_client, body).json()["id"]

    page = browser_client.get(f"/s/{snippet_id}").content.decode()

    assert "Saved with intercal 3.1, which this playground does not have" in page


def test_content_ids_are_short_lowercase_and_stable() -> None:
    from playground.share.content import parse

    content = parse(payload("print(1)\n"))
    ids = content.ids()

    assert ids[0] == parse(payload("print(1)\n")).ids()[0]
    assert len(ids[0]) == 12 and ids[0].isalnum() and ids[0] == ids[0].lower()
    assert all(longer.startswith(ids[0]) for longer in ids)


def _page_data(html: str) -> dict[str, object]:
    start = html.index('<script id="page-data" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)  # type: ignore[no-any-return]


def test_the_admin_takes_a_snippet_down_and_restores_it(
    browser_client: Client, admin_client: Client
) -> None:
    snippet_id = share(browser_client, payload("print('reported')\n")).json()["id"]
    changelist = "/admin/playground/snippet/"

    for action, status in (("take_down", 410), ("restore", 200)):
        form = {"action": action, "_selected_action": [snippet_id]}
        answer = admin_client.post(changelist, form)
        assert answer.status_code == 302
        assert browser_client.get(f"/s/{snippet_id}").status_code == status
    assert admin_client.get(f"{changelist}{snippet_id}/change/").status_code == 200
    # Deleting would break the permanent link: only a take-down is offered.
    assert admin_client.get(f"{changelist}{snippet_id}/delete/").status_code == 403


def test_files_and_arguments_the_editor_does_not_show_are_named(
    browser_client: Client,
) -> None:
    files = [{"name": "main.py", "content": "import random\n"},
             {"name": "random.py", "content": "print('not random')\n"}]  # fmt: skip
    body = {**payload(), "files": files, "args": ["<b>one</b>", "two words"]}
    snippet_id = share(browser_client, body).json()["id"]

    for path in (f"/s/{snippet_id}", f"/embed/{snippet_id}"):
        html = browser_client.get(path).content.decode()
        note = html.split('id="unseen-note"', 1)[1].split("</p>", 1)[0]
        assert "files the editor does not show: random.py" in note
        assert "&#x27;&lt;b&gt;one&lt;/b&gt;&#x27; &#x27;two words&#x27;" in note


def test_a_snippet_of_one_file_and_no_arguments_has_no_such_note(
    browser_client: Client,
) -> None:
    snippet_id = share(browser_client, payload()).json()["id"]

    assert (
        'id="unseen-note"'
        not in browser_client.get(f"/s/{snippet_id}").content.decode()
    )


def test_other_content_taking_the_id_at_the_same_moment_is_not_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A share of other content whose id begins alike lands between this
    # share's look-up and its insert: this content takes the next id.
    content = parse(payload("print('mine')\n"))
    short = content.ids()[0]

    def other_share_lands(client: object) -> None:
        Snippet.objects.create(id=short, language="python", version="1",
                               files=[{"name": "", "content": "print('theirs')"}],
                               size=1)  # fmt: skip

    monkeypatch.setattr(store, "_spend", other_share_lands)
    snippet = store.save(content, None, "127.0.0.1")

    assert snippet.id == content.ids()[1]
    assert snippet.files[0]["content"] == "print('mine')\n"
    assert Snippet.objects.get(id=short).files[0]["content"] == "print('theirs')"
