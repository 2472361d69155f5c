"""`descent-lab serve --replicas 2`: real Streamlit replicas behind real HAProxy, with light clients
(serving/light_client.py) as students. No time is asserted; work is bounded by counts.

The module starts one class server through the command a teacher types and keeps it for every
test; the tests run in file order: the replica is killed in the last test but one, and the last
one stops the server and checks that nothing it started is left."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from lab import user_data as lab_data
from serving import launcher
from serving.light_client import LightClient, http

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
from browser_harness import run_async  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).with_name("descent-lab")
LESSON = "lesson=adam-vs-sgd"

if launcher.haproxy_path() is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("haproxy is missing under CI=true: .ci/run installs it (Debian's haproxy)")
    pytest.skip("haproxy is not installed (Debian: apt-get install haproxy); the class server "
                "tests need it", allow_module_level=True)


class Served:
    """The running `descent-lab serve`: its process, address and children's pids."""

    def __init__(self, process: subprocess.Popen, port: int, lines: list[str]):
        self.process, self.port, self.lines = process, port, lines
        text = "\n".join(lines)
        self.replicas = {m[0]: (int(m[1]), int(m[2]))
                         for m in re.findall(r"replica (r\d+): http://127\.0\.0\.1:(\d+) pid (\d+) up", text)}
        self.haproxy = int(re.search(r"haproxy: pid (\d+)", text)[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return [self.haproxy] + [pid for _, pid in self.replicas.values()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for every purpose here (its parent has not reaped it yet)
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture(scope="module")
def served():
    port = launcher.free_port()
    process = subprocess.Popen(
        [str(EXE), "serve", "--replicas", "2", "--port", str(port), "--bind", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if "Ctrl-C stops" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        ready.wait(600)
        assert process.poll() is None and any("Ctrl-C stops" in l for l in lines), "\n".join(lines)
        server = Served(process, port, lines)
        assert set(server.replicas) == {"r1", "r2"}, "\n".join(lines)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


async def _open_many(address: str, n: int, query: str = LESSON, cookies: dict | None = None):
    async def one():
        client = LightClient(address, cookies=dict(cookies or {}))
        try:
            return await client.open(query), client.served_by.copy()
        finally:
            await client.close()
    return await asyncio.gather(*(one() for _ in range(n)))


def test_every_student_gets_the_page_and_the_class_spreads_over_both_replicas(served):
    results = run_async(_open_many(served.address, 10))
    for result, by in results:
        assert result.ok, (result.exceptions, result.finished)
        assert result.bytes > 10_000  # the page itself, not an error page
        # the websocket reached the replica the sticky cookie names
        assert by["stream"] == by["health"] == result.replica
    assert {result.replica for result, _ in results} == {"r1", "r2"}


def _csv(slope: float, intercept: float, noise: float, scale: float) -> bytes:
    """x,y rows on a line with a fixed zig-zag of size `noise` (so the least-squares loss is
    not zero and differs between two files)."""
    rows = ["x,y"]
    for i in range(24):
        x = scale * i / 23
        rows.append(f"{x:.4f},{slope * x + intercept + (noise if i % 2 else -noise):.4f}")
    return ("\n".join(rows) + "\n").encode()


def _shows(client: LightClient, curvature: str) -> bool:
    """The page's caption of the upload's curvature (it may go on with the η it starts at)."""
    return any(text.startswith(curvature) for text in client.texts)


def _summary(client: LightClient) -> list[dict]:
    frames = [e.dataframe.arrow_data.data for e in client.elements if e.WhichOneof("type") == "dataframe"]
    assert frames, "no summary table on the page"
    return pa.ipc.open_stream(frames[0]).read_all().to_pylist()


def test_an_upload_reaches_the_replica_that_holds_the_session(served):
    data = _csv(2.0, 1.0, 0.3, 1.0)

    async def go():
        student = LightClient(served.address)
        try:
            await student.open("")
            done = await student.upload("user_csv", "marks.csv", data)
            # the same session's file, sent with the other replica's cookie, is refused there:
            # stickiness is what makes the upload work
            other = {"r1": "r2", "r2": "r1"}[student.replica]
            cookies = {**student.cookies, "SRV": other}
            ctype, body = "multipart/form-data; boundary=b", (
                b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"marks.csv\"\r\n"
                b"Content-Type: text/csv\r\n\r\n" + data + b"\r\n--b--\r\n")
            status, headers, text = await http(
                served.address, "PUT", f"/_stcore/upload_file/{student.session_id}/stray",
                headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
                         "Content-Type": ctype, "X-Xsrftoken": student.cookies["_streamlit_xsrf"]},
                body=body)
            return student, done, status, dict(headers).get("x-replica"), text
        finally:
            await student.close()

    student, done, status, stray_replica, text = run_async(go())
    assert done.ok, done.exceptions
    assert student.served_by["upload"] == student.served_by["stream"] == student.replica
    assert "surface=upload" in student.query  # the page switched to the uploaded surface
    expected = lab_data.stability_words(lab_data.build(lab_data.read(data, "marks.csv")))
    assert _shows(student, expected)
    assert stray_replica != student.replica and status == 400, (status, text)


def test_the_shared_cache_never_hands_one_students_upload_to_another(served):
    """Two students on the same replica (one process, one shared cache) upload files of the same
    name and columns but different numbers: each page shows its own data's curvature and runs."""
    files = {"a": _csv(2.0, 1.0, 0.1, 1.0), "b": _csv(-3.0, 4.0, 2.0, 6.0)}

    async def go():
        a = LightClient(served.address)
        b = LightClient(served.address)
        try:
            await a.open("")
            b.cookies["SRV"] = a.replica  # pinned to a's replica: the same process and cache
            await b.open("")
            ra = await a.upload("user_csv", "data.csv", files["a"])
            rb = await b.upload("user_csv", "data.csv", files["b"])
            # a reruns after b's upload: whatever the process now caches, a still gets its own
            ra2 = await a.set_widget("epochs", double_array_value={"data": [120.0]})
            return {"a": (a, ra2, ra), "b": (b, rb, rb)}
        finally:
            await a.close()
            await b.close()

    got = run_async(go())
    assert got["a"][0].replica == got["b"][0].replica
    tables = {}
    for who, (client, last, first) in got.items():
        assert first.ok and last.ok, (first.exceptions, last.exceptions)
        upload = lab_data.build(lab_data.read(files[who], "data.csv"))
        assert _shows(client, lab_data.stability_words(upload)), who
        rows = _summary(client)
        tables[who] = rows
        for row in rows:
            # no run can end below the least-squares loss of the data it trained on (the table
            # shows 4 significant digits)
            final = float(row["final loss"])
            assert final >= upload.surface.minimum_loss * (1 - 1e-3), (who, row)
    mins = {who: lab_data.build(lab_data.read(f, "data.csv")).surface.minimum_loss
            for who, f in files.items()}
    assert mins["b"] > 10 * mins["a"]  # the two files are far apart: a mix-up shows
    assert tables["a"] != tables["b"]


def test_after_a_replica_dies_new_students_are_served(served):
    # a class is on: some students hold sessions on both replicas
    before = run_async(_open_many(served.address, 4))
    assert all(result.ok for result, _ in before)
    victim = "r1"
    _, pid = served.replicas[victim]
    os.killpg(pid, signal.SIGKILL)  # a replica dies outright mid-class
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid)
    # 20 new students: ten fresh, ten who reload with the dead replica's cookie
    fresh = run_async(_open_many(served.address, 10))
    stale = run_async(_open_many(served.address, 10, cookies={"SRV": victim}))
    served_ok = [result for result, by in fresh + stale
                 if result.ok and by["stream"] == result.replica == "r2"]
    assert len(served_ok) == 20, [(r.replica, r.exceptions, r.finished) for r, _ in fresh + stale]
    # and the teacher's terminal says so (the launcher checks its children every second)
    for _ in range(100):
        if any(f"replica {victim} exited" in line for line in served.lines):
            break
        time.sleep(0.2)
    assert any(f"replica {victim} exited" in line for line in served.lines), served.lines


def test_stopping_serve_stops_every_child(served):
    pids = served.pids()
    alive_before = [pid for pid in pids if _alive(pid)]
    assert served.haproxy in alive_before
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(120)
    assert served.process.returncode == 0, "\n".join(served.lines)
    left = [pid for pid in pids if _alive(pid)]
    assert not left, f"still running after serve stopped: {left}"
    assert any("Stopping the class server" in line for line in served.lines)


def test_a_replica_on_another_machine_joins_with_backend():
    """`descent-lab replica` there, `descent-lab serve --backend` here (loopback stands in for the
    other machine): the student is served by the remote replica through this proxy."""
    secret = "a-class-secret"
    replica_port, proxy_port = launcher.free_port(), launcher.free_port()
    started = []
    try:
        replica = subprocess.Popen(
            [str(EXE), "replica", "--port", str(replica_port), "--bind", "127.0.0.1",
             "--cookie-secret", secret], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        started.append(replica)
        for _ in range(1200):
            if launcher.health(f"127.0.0.1:{replica_port}", 2.0) or replica.poll() is not None:
                break
            time.sleep(0.25)
        assert replica.poll() is None
        server = subprocess.Popen(
            [str(EXE), "serve", "--replicas", "0", "--port", str(proxy_port), "--bind", "127.0.0.1",
             "--backend", f"127.0.0.1:{replica_port}", "--cookie-secret", secret],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        started.append(server)
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
        text = "".join(lines)
        assert f"backend m1: http://127.0.0.1:{replica_port}" in text, text
        assert f"descent-lab replica --port PORT --cookie-secret {secret}" in text, text
        [(result, by)] = run_async(_open_many(f"127.0.0.1:{proxy_port}", 1))
        assert result.ok and result.replica == by["stream"] == "m1"
    finally:
        for process in reversed(started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def test_replica_without_a_secret_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != launcher.SECRET_ENV}
    done = subprocess.run([str(EXE), "replica", "--port", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--cookie-secret" in done.stderr
