"""The class's JSON route on a real server (serving/web.py's st.App): the public state with an
ETag, 304 when unchanged, a new ETag after an answer, 404 for a code that is no class, and never
the truth."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
import browser_harness as harness  # noqa: E402

from classroom.classes import Classroom  # noqa: E402
from classroom.store import SQLiteStore  # noqa: E402
from serving import ENTRY  # noqa: E402

CHOICE = {"kind": "choice", "prompt": "What will the run do?",
          "choices": ["converges", "diverges", "stalls"], "truth": "diverges"}


def _get(url, etag=None):
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("class-data")
    old = os.environ.get("DESCENT_LAB_DATA")
    os.environ["DESCENT_LAB_DATA"] = str(data)
    try:
        with harness.run_streamlit(ENTRY) as url:
            yield url, Classroom(SQLiteStore(data / "classes.sqlite3"))
    finally:
        if old is None:
            os.environ.pop("DESCENT_LAB_DATA", None)
        else:
            os.environ["DESCENT_LAB_DATA"] = old


def test_the_state_route_answers_with_an_etag_and_304(server):
    url, room = server
    started = room.start({"lesson": "lr-too-large"})
    qid = room.ask(started.code, started.secret, CHOICE).question["id"]
    status, headers, body = _get(f"{url}/class-state/{started.code}")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    state = json.loads(body)
    assert state["phase"] == "asking" and state["answered"] == 0
    assert state["question"] == qid, "the page's view holds this question's run hidden"
    assert "diverges" not in body.decode() and started.secret not in body.decode()
    etag = headers["ETag"]
    status, _, body = _get(f"{url}/class-state/{started.code}", etag)
    assert status == 304 and body == b""

    room.answer(started.code, "s1", qid, "stalls")
    for _ in range(100):  # the route keeps a state for a fraction of a second: poll, bounded by count
        status, headers, body = _get(f"{url}/class-state/{started.code}", etag)
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200 and headers["ETag"] != etag and json.loads(body)["answered"] == 1


def test_unknown_and_malformed_codes_are_404(server):
    url, _ = server
    for code in ("ZZZZZZZZZ", "abc", "%3Cscript%3E"):
        status, _, body = _get(f"{url}/class-state/{code}")
        assert status == 404 and json.loads(body)["error"]
