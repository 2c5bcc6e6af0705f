"""Teachers' edits arriving at once on the live site (daphne and its own
SQLite database): each is applied, none fails with "database is locked" or
a position taken twice."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CONCURRENT = 8


class Teacher:
    """A signed-in browser session on the live site, made of plain HTTP."""

    def __init__(self, site: str, account: tuple[str, str]) -> None:
        self.site = site
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )
        form = {"username": account[0], "password": account[1]}
        assert self.post("/accounts/login/", form) == 302

    def token(self, path: str) -> str:
        page = self.opener.open(self.site + path).read().decode()
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page) or \
            re.search(r'name="csrf-token" content="([^"]+)"', page)  # fmt: skip
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, form: dict[str, str], token: str = "") -> int:
        body = {**form, "csrfmiddlewaretoken": token or self.token(path)}
        request = urllib.request.Request(  # noqa: S310 (the live site, http)
            self.site + path,
            data=urllib.parse.urlencode(body).encode(),
            headers={"Referer": self.site + path},
        )
        return self._status(request)

    def share(self, code: str) -> str:
        runtimes = json.loads(self.opener.open(self.site + "/api/v2/runtimes").read())
        python = next(rt for rt in runtimes if rt["language"] == "python")
        body = {"language": "python", "version": python["version"],
                "files": [{"content": code}]}  # fmt: skip
        request = urllib.request.Request(  # noqa: S310 (the live site, http)
            self.site + "/api/snippets",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json",
                     "X-CSRFToken": self.token("/"), "Referer": self.site + "/"},
        )  # fmt: skip
        return str(json.loads(self.opener.open(request).read())["id"])

    def _status(self, request: urllib.request.Request) -> int:
        try:
            with self.opener.open(request) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None  # the test reads the 302 itself


def test_steps_added_at_once_are_all_kept_in_order(
    site: str, site_admin: tuple[str, str]
) -> None:
    teacher = Teacher(site, site_admin)
    snippet = teacher.share("print('at once')\n")
    assert teacher.post("/collections/", {"title": "At once"}) == 302
    listing = teacher.opener.open(site + "/collections/").read().decode()
    collection = re.findall(r'href="/collections/([a-z2-7]{16})/">At once<', listing)
    assert len(collection) == 1
    path = f"/collections/{collection[0]}/"
    token = teacher.token(path)

    statuses: list[int] = []
    start = threading.Barrier(CONCURRENT)

    def add(number: int) -> None:
        start.wait()
        form = {"action": "add", "snippet": snippet, "description": f"n{number}"}
        statuses.append(teacher.post(path, form, token))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [302] * CONCURRENT
    students = teacher.opener.open(f"{site}/c/{collection[0]}/").read().decode()
    steps = re.findall(r"Step (\d+): n(\d+)<", students)
    assert [int(step) for step, _ in steps] == list(range(1, CONCURRENT + 1))
    assert sorted(int(n) for _, n in steps) == list(range(CONCURRENT))
