"""A class that clicks the link the moment the server starts: the warm-up's imports are done
before the server takes its first session, so students who arrive during the warm-up get the
page, not "partially initialized module 'pandas'" (seen on 9 of 200 opens when the imports ran
in a thread beside the first sessions). Real server (serving.ENTRY), light websocket clients;
no time is asserted."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import serving
from serving.light_client import LightClient

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
from browser_harness import run_async, run_streamlit  # noqa: E402

LINKS = ("?lesson=minibatch-noise", "?lesson=adam-vs-sgd", "", "?lesson=local-minima")


async def _open_all(address: str, n: int) -> list:
    async def one(i):
        client = LightClient(address)
        try:
            return await client.open(LINKS[i % len(LINKS)])
        finally:
            await client.close()
    return await asyncio.gather(*(one(i) for i in range(n)))


def test_students_who_arrive_during_the_warm_up_get_the_page():
    # run_streamlit yields as soon as /_stcore/health answers: the students arrive then
    with run_streamlit(serving.ENTRY) as url:
        results = run_async(_open_all(url.removeprefix("http://"), 16))
    failed = [(r.exceptions, r.finished) for r in results if not r.ok]
    assert not failed, failed
