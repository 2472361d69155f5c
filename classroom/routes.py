"""The class's small JSON state at /class-state/CODE, for the follower component to poll with an
ETag: 304 when nothing changed. Starlette routes for serving/web.py's st.App. A short cache per
process means 200 followers cost a couple of store reads a second, not hundreds."""

from __future__ import annotations

import json
import threading
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from classroom.classes import Classroom, NoClass, clean_code
from classroom.store import StoreUnavailable, open_store

PATH = "class-state"
# A state this young is served from memory: it delays what a follower sees by at most this.
CACHE_S = 0.4
MAX_CACHED = 1000

_cache: dict[str, tuple[float, int, bytes, str]] = {}
_lock = threading.Lock()
_room: list[Classroom] = []


def _classroom() -> Classroom:
    if not _room:
        _room.append(Classroom(open_store()))
    return _room[0]


def state_body(code: str) -> tuple[int, bytes, str]:
    """(status, JSON body, ETag) of a class's public state: the version, the phase, the counts
    the reveal's time and the question's id; never the question's truth or any answer."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(code)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1], hit[2], hit[3]
    try:
        view = _classroom().view(code)
        public = {"version": view.version, "phase": view.phase, "joined": view.joined,
                  "answered": view.answered, "revealed_at": view.revealed_at,
                  # the open or revealed question's id (no prompt, no truth): the page's view
                  # holds that question's run hidden and shows it when it sees it revealed
                  "question": view.question["id"] if view.question else None}
        status, body = 200, json.dumps(public).encode()
        etag = f'"{view.version}-{view.joined}-{view.answered}"'
    except NoClass:
        status, body, etag = 404, b'{"error": "no such class"}', ""
    except StoreUnavailable:
        status, body, etag = 503, b'{"error": "the class store cannot be reached"}', ""
    with _lock:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[code] = (now, status, body, etag)
    return status, body, etag


async def class_state(request: Request) -> Response:
    code = clean_code(request.path_params.get("code", ""))
    headers = {"Cache-Control": "no-cache"}
    if code is None:
        return Response(b'{"error": "not a class code"}', status_code=404,
                        media_type="application/json", headers=headers)
    status, body, etag = await run_in_threadpool(state_body, code)
    # The server's clock, for the page to play a reveal in step (not part of the ETag).
    headers["X-Server-Time"] = f"{time.time():.3f}"
    if etag:
        headers["ETag"] = etag
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def routes(base: str = "") -> list[Route]:
    prefix = f"/{base}" if base else ""
    return [Route(f"{prefix}/{PATH}/{{code}}", class_state, methods=["GET"])]
