"""A class that clicks the link the moment the server starts: the warm-up's imports are done
before the server takes its first session, so students who arrive during the warm-up get the
page, not "partially initialized module 'pandas'" (seen on 9 of 200 opens when the imports ran
in a thread beside the first sessions). Real server (serving.ENTRY), light websocket clients;
no time is asserted."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import serving
from serving.light_client import LightClient

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
from browser_harness import ROOT, free_port, streamlit_command, wait_for_health  # noqa: E402

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
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(streamlit_command(serving.ENTRY, port), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for_health(f"http://127.0.0.1:{port}", proc, 90, Path(log.name))
        # in a thread of its own: Playwright's sync API (browser tests, same session) keeps an
        # event loop running on the main thread, where asyncio.run refuses to start
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, _open_all(f"127.0.0.1:{port}", 16)).result()
        failed = [(r.exceptions, r.finished) for r in results if not r.ok]
        assert not failed, failed
        assert "partially initialized" not in Path(log.name).read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        Path(log.name).unlink(missing_ok=True)
