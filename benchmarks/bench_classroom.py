"""Class mode's figures (issue 19), each beside a reference measured in the same run:

- store: p50/p95 ms of a class's operations (join, answer, view: the state and its counts) on
  SQLite and on Redis (a redis-server started here), beside each store's bare round trip
  (SELECT 1 / PING);
- class: light-client students (serving/light_client.py, no browser) through
  `descent-lab serve --replicas 2` join one class on ?lesson=lr-too-large, then
  - followers: every student polls /class-state/CODE every 1.5 s with its ETag, as the page's
    follower component does: the server's CPU (both replicas, % of one core) beside the same
    sessions connected and idle (the reference);
  - answers: every student answers the question (its form's radio and Send): how many the store
    holds after (none may be lost);
  - reveal: the teacher's reveal is written; each student's poll sees it, which is what starts
    the run playing in a browser (the follower's event to the view that holds the run hidden):
    seconds from the reveal to that poll (reveal_seen_s, the target: ≤ 2 s); then, after the
    follower's wait (until 1.5 poll intervals after the reveal, then a random 0-3 s), the
    page's rerun draws the class's answers and the truth:
    seconds from the reveal to that page (reveal_rerun_shown_s) and its bytes.

    .venv/bin/python benchmarks/bench_classroom.py [--quick] [--students 200]

main() returns the report as a dict and prints it as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from classroom import classes  # noqa: E402
from classroom.classes import Classroom  # noqa: E402
from classroom.questions import resolve  # noqa: E402
from classroom.store import RedisStore, SQLiteStore  # noqa: E402
from lab import lessons  # noqa: E402
from serving import launcher  # noqa: E402
from serving.light_client import LightClient, http  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

LESSON = "lr-too-large"
POLL_S = 1.5
TIMEOUT = 600.0
RIGHT = re.compile(r"\d+ of \d+ right")
SPREAD_S = 3.0  # the follower's random wait before a student's rerun after a reveal (ui/class_mode.py)
TICKS = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def brief(seconds: list[float], scale: float = 1.0, digits: int = 3) -> dict:
    return {"n": len(seconds), "p50": round(pct(seconds, 0.5) * scale, digits) if seconds else None,
            "p95": round(pct(seconds, 0.95) * scale, digits) if seconds else None,
            "max": round(max(seconds) * scale, digits) if seconds else None}


# --- Store operations -------------------------------------------------------------------------


def _store_ops(store, n: int) -> dict:
    # Each action a thousand seconds after the last, so no token bucket holds the bench back.
    room = Classroom(store, limit_clock=itertools.count(0, 1000).__next__)
    started = room.start({"lesson": LESSON})
    spec = resolve(lessons.get(LESSON).questions[0], lessons.get(LESSON).config)
    qid = room.ask(started.code, started.secret, spec).question["id"]
    timings: dict[str, list[float]] = {"join": [], "answer": [], "view": [], "round_trip": []}
    bare = (lambda: store._run("SELECT 1")) if isinstance(store, SQLiteStore) else store.ping
    choices = spec["choices"]
    for i in range(n):
        student = f"s{i}"
        for name, call in (("join", lambda: store.join(started.code, student)),
                           ("answer", lambda: room.answer(started.code, student, qid, choices[i % 3])),
                           ("view", lambda: room.view(started.code)),
                           ("round_trip", bare)):
            t0 = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - t0)
    assert room.view(started.code).answered == n
    return {name: brief(values, 1000.0) for name, values in timings.items()}


def store_figures(n: int) -> dict:
    import classroom_redis

    out = {"unit": "ms", "operations": n, "target_p95_ms": 10.0}
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        out["sqlite"] = _store_ops(SQLiteStore(Path(tmp) / "classes.sqlite3"), n)
    if classroom_redis.available():
        out["redis"] = {"skipped": classroom_redis.available()}
    else:
        with classroom_redis.redis_server() as server:
            out["redis"] = _store_ops(RedisStore(server.url), n)
    return out


# --- A class through serve --replicas 2 -------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, IndexError):
            pass
    return total / TICKS


async def _poll_state(address: str, code: str, etag: str | None) -> tuple[int, str | None, dict | None]:
    headers = {"If-None-Match": etag} if etag else {}
    status, pairs, body = await http(address, "GET", f"/class-state/{code}", headers=headers,
                                     timeout=TIMEOUT)
    tag = dict(pairs).get("etag", etag)
    return status, tag, (json.loads(body) if status == 200 else None)


class CachingClient(LightClient):
    """The light client with a browser's message cache: each rerun tells the server which
    large messages it holds (ClientState.cached_message_hashes, as the browser does), and the
    server sends a reference for those instead of the message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.held: set[str] = set()

    def _absorb(self, msg) -> None:
        super()._absorb(msg)
        if msg.metadata.cacheable and msg.hash:
            self.held.add(msg.hash)

    async def _send(self, msg) -> None:
        if msg.WhichOneof("type") == "rerun_script":
            msg.rerun_script.cached_message_hashes.extend(sorted(self.held))
        await super()._send(msg)


class Student:
    def __init__(self, address: str, code: str, rng: random.Random, cache: bool = True):
        self.client = (CachingClient if cache else LightClient)(address, timeout=TIMEOUT)
        self.address, self.code, self.rng = address, code, rng
        self.etag: str | None = None
        self.version: int | None = None
        self.polls = 0

    async def open(self) -> float:
        result = await self.client.open(f"class={self.code}")
        if not result.ok:
            raise RuntimeError(f"open failed: {result.exceptions} {result.finished}")
        self.open_bytes = result.bytes  # with a question open: the view with the run, hidden
        return result.seconds

    async def poll_once(self) -> dict | None:
        status, self.etag, state = await _poll_state(self.address, self.code, self.etag)
        self.polls += 1
        return state

    async def follow(self, until: float) -> None:
        """Poll like the follower component until the loop's clock reaches `until`."""
        await asyncio.sleep(self.rng.uniform(0, POLL_S))
        while time.monotonic() < until:
            await self.poll_once()
            await asyncio.sleep(POLL_S * self.rng.uniform(0.75, 1.25))

    async def answer(self, choice: str) -> float:
        radio = self.client.widget_id("class_choice_q1")
        send = self.client.widget_id("class_send_q1")
        result = await self.client.rerun(changed={
            radio: WidgetState(id=radio, string_value=choice),
            send: WidgetState(id=send, trigger_value=True)})
        if not result.ok:
            raise RuntimeError(f"answer failed: {result.exceptions}")
        self.answer_bytes = result.bytes
        return result.seconds

    async def wait_reveal(self, revealed_at: float, version: int) -> tuple[float, float, int]:
        """Poll until the reveal shows (a browser's view starts playing then), wait the
        follower's random spread, rerun the page (as the follower's trigger does), and return the
        seconds from the reveal to the poll that saw it and to the page showing the results, and
        the rerun's bytes."""
        await asyncio.sleep(self.rng.uniform(0, POLL_S))
        while True:
            state = await self.poll_once()
            if (state is not None and state["version"] >= version and state["phase"] == "revealed"
                    and state.get("question")):
                break  # the browser's follower announces it to the view here: the run plays
            await asyncio.sleep(POLL_S * self.rng.uniform(0.75, 1.25))
        seen = time.time() - revealed_at
        # As the follower: reruns start once every page has polled (1.5 intervals), spread 0-3 s.
        quiet = max(0.0, min(1.5 * POLL_S, revealed_at + 1.5 * POLL_S - time.time()))
        await asyncio.sleep(quiet + self.rng.uniform(0, SPREAD_S))
        result = await self.client.rerun()
        if not result.ok or not any(RIGHT.search(t) for t in self.client.texts):
            raise RuntimeError(f"reveal not shown: {result.exceptions} {self.client.texts[:3]}")
        return seen, time.time() - revealed_at, result.bytes


async def _class_run(address: str, pids: list[int], room: Classroom, students: int,
                     window: float, follow_s: float, cache: bool = True) -> dict:
    rng = random.Random(0)
    started = room.start({"lesson": LESSON})
    lesson = lessons.get(LESSON)
    spec = resolve(lesson.questions[0], lesson.config)
    room.ask(started.code, started.secret, spec)
    crowd = [Student(address, started.code, random.Random(rng.random()), cache) for _ in range(students)]
    out: dict = {"students": students, "browser_message_cache": cache}

    async def arrive(i: int, s: Student) -> float:
        await asyncio.sleep(window * i / students)
        return await s.open()
    opened = await asyncio.gather(*(arrive(i, s) for i, s in enumerate(crowd)), return_exceptions=True)
    out["open_s"] = brief([x for x in opened if isinstance(x, float)])
    out["open_kb"] = brief([s.open_bytes / 1000 for s in crowd if hasattr(s, "open_bytes")], digits=1)
    out["open_failures"] = sum(1 for x in opened if not isinstance(x, float))
    out["joined"] = room.view(started.code).joined

    # Followers' cost: the same sessions idle (the reference), then polling.
    await asyncio.sleep(2.0)
    c0, t0 = cpu_seconds(pids), time.monotonic()
    await asyncio.sleep(follow_s)
    idle = (cpu_seconds(pids) - c0) / (time.monotonic() - t0)
    c0, t0 = cpu_seconds(pids), time.monotonic()
    await asyncio.gather(*(s.follow(t0 + follow_s) for s in crowd))
    polling = (cpu_seconds(pids) - c0) / (time.monotonic() - t0)
    polls = sum(s.polls for s in crowd)
    out["followers"] = {"seconds": follow_s, "poll_every_s": POLL_S, "polls": polls,
                        "server_cpu_pct_of_one_core_polling": round(100 * polling, 1),
                        "reference_server_cpu_pct_idle_sessions": round(100 * idle, 1),
                        "polling_cost_pct_of_one_core": round(100 * (polling - idle), 1),
                        "target_pct": 20.0}

    # Answers: every student answers once.
    choices = spec["choices"]
    sent = await asyncio.gather(*(s.answer(choices[i % len(choices)]) for i, s in enumerate(crowd)),
                                return_exceptions=True)
    out["answer_s"] = brief([x for x in sent if isinstance(x, float)])
    out["answer_kb"] = brief([s.answer_bytes / 1000 for s in crowd if hasattr(s, "answer_bytes")], digits=1)
    out["answer_failures"] = sum(1 for x in sent if not isinstance(x, float))
    stored = room.view(started.code).answered
    out["answers_stored"] = stored
    out["answers_lost"] = sum(1 for x in sent if isinstance(x, float)) - stored

    # Reveal: from the teacher's write to each student's page showing the results.
    before = room.view(started.code).version
    revealed = room.reveal(started.code, started.secret)
    latency = await asyncio.gather(*(s.wait_reveal(revealed.revealed_at, before + 1) for s in crowd),
                                   return_exceptions=True)
    done = [x for x in latency if isinstance(x, tuple)]
    # What the student waits for: the run playing, started by the poll that sees the reveal.
    out["reveal_seen_s"] = {**brief([seen for seen, _, _ in done]), "target_s": 2.0}
    # Then the rerun (after the follower's 0-3 s spread) draws the class's answers and the truth.
    out["reveal_rerun_shown_s"] = {**brief([shown for _, shown, _ in done]), "spread_s": SPREAD_S}
    out["reveal_rerun_kb"] = brief([size / 1000 for _, _, size in done], digits=1)
    out["reveal_failures"] = len(latency) - len(done)
    errors = [repr(x)[:200] for x in (*opened, *sent, *latency) if isinstance(x, BaseException)]
    if errors:
        out["first_errors"] = errors[:3]
    await asyncio.gather(*(s.client.close() for s in crowd), return_exceptions=True)
    return out


def class_figures(students: int, replicas: int, window: float, follow_s: float,
                  cache: bool = True) -> dict:
    if launcher.haproxy_path() is None:
        return {"skipped": "haproxy is not installed (Debian: apt-get install haproxy)"}
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        old = os.environ.get("DESCENT_LAB_DATA")
        os.environ["DESCENT_LAB_DATA"] = tmp  # the replicas inherit it: one SQLite file for all
        server = launcher.ClassServer(replicas, launcher.free_port(), bind="127.0.0.1")
        try:
            server.start(sys.stderr)
            pids = [c.pid for c in server.children if c.pid is not None]
            room = Classroom(SQLiteStore(Path(tmp) / "classes.sqlite3"))
            return {"replicas": replicas, **asyncio.run(
                _class_run(server.address, pids, room, students, window, follow_s, cache))}
        finally:
            server.stop()
            if old is None:
                os.environ.pop("DESCENT_LAB_DATA", None)
            else:
                os.environ["DESCENT_LAB_DATA"] = old


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 students, 500 store operations")
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--no-message-cache", action="store_true",
                        help="students that do not tell the server which messages they hold")
    args = parser.parse_args([] if argv is None else argv)
    students = args.students or (30 if args.quick else 200)
    t0 = time.perf_counter()
    report = {"machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
              "store": store_figures(500 if args.quick else 2000),
              "class": class_figures(students, args.replicas, window=10.0 if args.quick else 30.0,
                                     follow_s=10.0 if args.quick else 20.0,
                                     cache=not args.no_message_cache)}
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
