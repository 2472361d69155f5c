"""A class on one link: light clients (serving/light_client.py, Streamlit's own websocket protocol,
no browser) through `descent-lab serve --replicas 2`, beside the same class on one plain
`streamlit run` process (the reference), measured in the same run.

Scenarios (server time: from a student's request to the page's script_finished):
- one_lesson: 60 students arriving evenly over 10 s, each opening ?lesson=adam-vs-sgd;
- four_links: 60 over 10 s, the students spread over four lesson links;
- interactions: 200 students arriving over 30 s, each opening a lesson and then, with a think
  time of 5–15 s before each, doing five things: let go of the view's η slider (the component's
  `lr` state, what the browser sends on release), change the epochs, add an optimizer, open a
  panel (the tab bar's state), change the surface. A class follows the teacher, so each student
  picks among two choices for each (seeded).
For each: p50, p95, max server time, failures (an exception element, an error or a timeout),
and server memory per session: the RSS of the server processes with every student of the
scenario connected, minus it before the scenario, over the number of students. Both targets
are warmed first (one student per link and one through the five interactions), so the
memory per session is the sessions' and not the first computation's.

    .venv/bin/python benchmarks/bench_class.py [--quick] [--replicas 2] [--only served]

main() returns the report as a dict (benchmarks/run_all.py calls it) and prints it as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving import launcher  # noqa: E402
from serving.light_client import LightClient  # noqa: E402

LESSON = "lesson=adam-vs-sgd"
LINKS = ["lesson=adam-vs-sgd", "lesson=momentum-valley", "lesson=local-minima", "lesson=lr-too-large"]
TIMEOUT = 600.0  # per request: a saturated reference can take minutes; a timeout is a failure
# the five interactions, two choices each (a class follows the teacher's instructions)
LR_STOPS = (18, 26)  # the view's η index (of its 61 stops)
EPOCHS = (100.0, 200.0)
ADDED = ("RMSprop", "Momentum")
PANELS = ("The five steps", "Curvature and η")
SURFACES = ("himmelblau", "beale")


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except FileNotFoundError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the server processes (and of their waited-for children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / tick


def stats(seconds: list[float], failures: int, sessions: int, rss: tuple[int, int],
          cpu: tuple[float, float] = (0.0, 0.0)) -> dict:
    ordered = sorted(seconds)

    def pct(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)

    before, after = rss
    return {"requests": len(seconds) + failures, "p50_s": pct(0.5), "p95_s": pct(0.95),
            "max_s": round(ordered[-1], 3) if ordered else None,
            "mean_s": round(statistics.fmean(ordered), 3) if ordered else None,
            "failures": failures, "sessions": sessions,
            "server_rss_before_mb": round(before / 2**20, 1),
            "server_rss_after_mb": round(after / 2**20, 1),
            "memory_per_session_mb": round((after - before) / 2**20 / max(sessions, 1), 3),
            # CPU is what a busy machine does not distort: the server's CPU per request
            "server_cpu_s": round(cpu[1] - cpu[0], 2),
            "server_cpu_per_request_s": round((cpu[1] - cpu[0]) / max(len(seconds) + failures, 1), 3)}


class Target:
    """What the students connect to: the class server, or one plain `streamlit run` process."""

    def __init__(self, kind: str, replicas: int):
        self.kind, self.replicas = kind, replicas
        self.server: launcher.ClassServer | None = None
        self.child: launcher.Child | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def start(self) -> str:
        if self.kind == "served":
            self.server = launcher.ClassServer(self.replicas, launcher.free_port(), bind="127.0.0.1")
            self.server.start(sys.stderr)
            return self.server.address
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-class-")
        port = launcher.free_port()
        self.child = launcher.Child("reference", launcher.replica_command(port),
                                    Path(self._tmp.name) / "reference.log",
                                    launcher.replica_env(secrets.token_urlsafe(32)))
        self.child.start()
        deadline = time.monotonic() + launcher.START_TIMEOUT
        while not launcher.health(f"127.0.0.1:{port}", 2.0):
            if not self.child.alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference server did not start:\n"
                                   + self.child.log.read_text(errors="replace")[-2000:])
            time.sleep(0.25)
        return f"127.0.0.1:{port}"

    def replica_addresses(self) -> list[str]:
        """Each server process's own address (warmed one by one: the proxy may send two
        students in a row to the same replica)."""
        if self.server is not None:
            return [b.address for b, c in zip(self.server.backends, self.server.children)]
        return [f"127.0.0.1:{self.child.command[self.child.command.index('--server.port') + 1]}"]

    def pids(self) -> list[int]:
        children = self.server.children if self.server else [self.child]
        return [c.pid for c in children if c is not None and c.alive()]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.child is not None:
            launcher.stop_all([self.child])
        if self._tmp is not None:
            self._tmp.cleanup()


async def _student_opens(address: str, query: str, delay: float, clients: list, times: list,
                         failures: list) -> None:
    await asyncio.sleep(delay)
    client = LightClient(address, timeout=TIMEOUT)
    clients.append(client)
    try:
        result = await client.open(query)
    except Exception as err:  # a refused or dropped student is a failure, not a crash
        failures.append(f"{type(err).__name__}: {err}"[:200])
        return
    if result.ok:
        times.append(result.seconds)
    else:
        failures.append(f"{result.finished} {result.exceptions[:1]}"[:200])


async def arrivals(address: str, pids: list[int], queries: list[str], students: int,
                   window: float) -> dict:
    """`students` opening the page, arriving evenly over `window` seconds."""
    clients: list[LightClient] = []
    times: list[float] = []
    failures: list[str] = []
    before, cpu0, t0 = rss_bytes(pids), cpu_seconds(pids), time.perf_counter()
    await asyncio.gather(*(
        _student_opens(address, queries[i % len(queries)], window * i / students, clients, times,
                       failures) for i in range(students)))
    after, cpu1 = rss_bytes(pids), cpu_seconds(pids)  # every student still connected
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    out = stats(times, len(failures), students, (before, after), (cpu0, cpu1))
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["first_failures"] = failures[:3]
    return out


def _current_optimizers(client: LightClient) -> list[str]:
    for element in client.elements:
        if element.WhichOneof("type") == "multiselect":
            ms = element.multiselect
            if ms.id == client.widget_id("optimizers"):
                if ms.set_value or ms.raw_values:
                    return list(ms.raw_values)
                return [ms.options[i] for i in ms.default]
    return []


async def _one_student(address: str, rng: random.Random, delay: float, think: tuple[float, float],
                       clients: list, opens: list, steps: dict, failures: list) -> None:
    await asyncio.sleep(delay)
    client = LightClient(address, timeout=TIMEOUT)
    clients.append(client)

    def record(result, bucket) -> bool:
        if result.ok:
            bucket.append(result.seconds)
            return True
        failures.append(f"{result.finished} {result.exceptions[:1]}"[:200])
        return False

    try:
        if not record(await client.open(LINKS[rng.randrange(len(LINKS))]), opens):
            return
        actions = {
            "view_lr_release": lambda: client.set_widget(
                "descent_view", json_value=json.dumps({"lr": rng.choice(LR_STOPS)})),
            "epochs": lambda: client.set_widget(
                "epochs", double_array_value={"data": [rng.choice(EPOCHS)]}),
            "add_optimizer": lambda: client.set_widget("optimizers", string_array_value={
                "data": list(dict.fromkeys(_current_optimizers(client) + [rng.choice(ADDED)]))}),
            "open_panel": lambda: client.set_widget("panel", string_value=rng.choice(PANELS)),
            "surface": lambda: client.set_widget("surface", string_value=rng.choice(SURFACES)),
        }
        for name, act in actions.items():
            await asyncio.sleep(rng.uniform(*think))
            if not record(await act(), steps.setdefault(name, [])):
                return
    except Exception as err:
        failures.append(f"{type(err).__name__}: {err}"[:200])


async def interactions(address: str, pids: list[int], students: int, window: float,
                       think: tuple[float, float], seed: int = 0) -> dict:
    clients: list[LightClient] = []
    opens: list[float] = []
    steps: dict[str, list[float]] = {}
    failures: list[str] = []
    before, cpu0, t0 = rss_bytes(pids), cpu_seconds(pids), time.perf_counter()
    await asyncio.gather(*(
        _one_student(address, random.Random(seed * 100_003 + i), window * i / students, think,
                     clients, opens, steps, failures) for i in range(students)))
    after, cpu1 = rss_bytes(pids), cpu_seconds(pids)
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    every = [t for times in steps.values() for t in times]
    out = stats(every, len(failures), students, (before, after), (cpu0, cpu1))
    out["server_cpu_per_request_s"] = round((cpu1 - cpu0) / max(len(every) + len(opens), 1), 3)
    # the class's demand: server CPU seconds per second of the scenario (2.0 fills this machine)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["server_cores_busy"] = round((cpu1 - cpu0) / max(out["wall_s"], 1e-9), 2)
    out["interactions"] = len(every)

    def brief(times: list[float]) -> dict:
        full = stats(times, 0, students, (before, after))
        return {k: full[k] for k in ("requests", "p50_s", "p95_s", "max_s")}

    out["opens"] = brief(opens)
    out["by_interaction"] = {name: brief(times) for name, times in steps.items()}
    out["first_failures"] = failures[:3]
    return out


async def warm(addresses: list[str]) -> dict:
    """On each server process: one student per link, then one alone through the five
    interactions twice (the second time on warm caches: each step's server time with nobody
    else on the server; reported for the last process)."""
    start = time.perf_counter()
    for address in addresses:
        for query in LINKS:
            async with LightClient(address, timeout=TIMEOUT) as client:
                await client.open(query)
        first = await interactions(address, [], 1, 0.0, (0.0, 0.0), seed=99)
        again = await interactions(address, [], 1, 0.0, (0.0, 0.0), seed=99)
    return {"seconds": round(time.perf_counter() - start, 2),
            "alone_cold_s": {k: v["max_s"] for k, v in first["by_interaction"].items()},
            "alone_warm_s": {"open": again["opens"]["max_s"],
                             **{k: v["max_s"] for k, v in again["by_interaction"].items()}}}


def measure(kind: str, replicas: int, sizes: dict) -> dict:
    target = Target(kind, replicas)
    address = target.start()
    try:
        pids = target.pids()
        out = {"processes": len(pids), "warm_up": asyncio.run(warm(target.replica_addresses()))}
        out["one_lesson"] = asyncio.run(arrivals(address, pids, [LESSON], sizes["arrivals"], 10.0))
        out["four_links"] = asyncio.run(arrivals(address, pids, LINKS, sizes["arrivals"], 10.0))
        out["interactions"] = asyncio.run(interactions(
            address, pids, sizes["students"], sizes["window"], sizes["think"]))
        return out
    finally:
        target.stop()


TARGETS = {"p95_s": 1.0, "memory_per_session_mb": 1.0}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="20 students over 10 s, 30 students × 5 interactions (think 1–3 s)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--only", choices=("served", "reference"))
    args = parser.parse_args([] if argv is None else argv)
    if launcher.haproxy_path() is None:
        return {"skipped": "haproxy is not installed (Debian: apt-get install haproxy)"}
    sizes = ({"arrivals": 20, "students": 30, "window": 10.0, "think": (1.0, 3.0)} if args.quick
             else {"arrivals": 60, "students": 200, "window": 30.0, "think": (5.0, 15.0)})
    report = {"machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
              "quick": args.quick, "sizes": {**sizes, "think": list(sizes["think"])},
              "targets": {"p95_s": 1.0, "failures": 0, "memory_per_session_mb": 1.0}}
    t0 = time.perf_counter()
    if args.only != "reference":
        report[f"serve_replicas_{args.replicas}"] = measure("served", args.replicas, sizes)
    if args.only != "served":
        report["reference_one_streamlit_run"] = measure("reference", 1, sizes)
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
