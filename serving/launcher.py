"""`descent-lab serve`: a class on one link, N Streamlit replicas behind HAProxy, in the foreground.

Sessions live in one process's memory, so every request of a student (the websocket, uploads,
media) must reach the replica that holds the session: HAProxy inserts a cookie (SRV) that pins
the browser to its replica. A cookie, not the client's address: a class sits behind one NAT, and
an address hash would put the whole class on one replica. The settings below are those that held
under saturation on this machine (DESIGN.md, "Serving a class"): /_stcore/health answered in
more than 2 s while every replica was busy, and tighter checks marked every replica down.

    descent-lab serve [--replicas N] [--port P] [--backend HOST:PORT ...] [--cookie-secret S]
    descent-lab replica --port P --cookie-secret S   (on another machine, for --backend)

Every child runs in its own process group and dies with this process (SIGTERM to each group on
Ctrl-C or SIGTERM; PR_SET_PDEATHSIG if this process is killed outright), so nothing is orphaned.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, TextIO

import serving

SECRET_ENV = "DESCENT_LAB_COOKIE_SECRET"
HAPROXY_CANDIDATES = ("haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy")
START_TIMEOUT = 180.0  # seconds for a replica's first health answer (a cold import on a busy box)
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL for a child


def haproxy_path() -> str | None:
    """Debian installs haproxy in /usr/sbin, which a normal user's PATH may lack."""
    for name in HAPROXY_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def lan_address() -> str | None:
    """This machine's address on its network (the one students' laptops reach), or None. A UDP
    connect sends nothing: it only asks the kernel which interface would be used."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def replica_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The command of one replica: the same entry `make run` starts (serving.ENTRY). The cookie
    secret goes in the environment (replica_env): Streamlit refuses it as a command-line flag."""
    return [sys.executable, "-m", "streamlit", "run", str(serving.ENTRY),
            "--server.port", str(port), "--server.address", address, "--server.headless", "true",
            # a class server does not reload on file edits (the watcher polls and costs CPU)
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--browser.gatherUsageStats", "false"]


@dataclass(frozen=True)
class Backend:
    name: str  # HAProxy's server name, and the value of the SRV cookie that pins to it
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def replica_env(secret: str) -> dict[str, str]:
    """The environment of a replica: every replica of a class gets the same server.cookieSecret."""
    return {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secret}


def parse_backend(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 192.168.1.20:8501)")
    return host.strip("[]"), int(port)


def haproxy_config(bind: str, port: int, backends: Sequence[Backend]) -> str:
    """HAProxy's configuration for one class: one frontend on bind:port, the replicas behind it."""
    servers = "\n".join(
        f"    server {b.name} {b.address} cookie {b.name} check inter 5s fall 5 rise 2"
        for b in backends)
    return f"""\
# Written by descent-lab serve ({__name__}); see DESIGN.md, "Serving a class".
global
    # two descriptors per connection; a class is far below this, and the limit here is 20000
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    # a student's websocket stays open for the whole lesson: the tunnel timeout governs it
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 30s
    timeout queue 2m
    # /_stcore/health answered in more than 2 s under saturation: tight checks marked every
    # replica down; 10 s, every 5 s, five misses held
    timeout check 10s
    # a dead replica's students are sent to another (they start a new session there)
    option redispatch
    retries 3
    # also when a replica died with a kept-alive connection open to it: the request was sent
    # and nothing came back; it is retried on another replica instead of a 502
    retry-on all-retryable-errors

frontend class
    bind {bind}:{port}
    default_backend replicas

backend replicas
    balance leastconn
    # sticky sessions by cookie, not by address: a class sits behind one NAT
    cookie SRV insert indirect nocache
    option httpchk GET /_stcore/health
    http-check expect status 200
    # Host passes through unchanged (HAProxy does not rewrite it): Streamlit refuses a
    # websocket whose Origin does not match Host
    option forwardfor
    # which replica answered, for the tests and the bench (the SRV cookie says it only once)
    http-response set-header X-Replica %[srv_name]
{servers}
"""


def _die_with_parent() -> None:
    """In the child before exec: its own process group, and SIGTERM when this process dies."""
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def health(address: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Child:
    name: str
    command: list[str]
    log: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None

    def start(self) -> None:
        out = open(self.log, "ab")
        try:
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                            cwd=serving.ROOT, env=self.env)
        finally:
            out.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_all(children: Sequence[Child], grace: float = STOP_GRACE) -> None:
    """SIGTERM to every child's process group, then SIGKILL to those still there after `grace`."""
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        child.signal_group(signal.SIGKILL)  # the group: any grandchild too
        try:
            child.process.wait(5)
        except subprocess.TimeoutExpired:
            pass


@dataclass
class ClassServer:
    """N local replicas and the remote backends behind one HAProxy. start() returns when the
    proxy answers; stop() ends every child. Used by `descent-lab serve`, the tests and the bench."""

    replicas: int
    port: int
    bind: str = "0.0.0.0"
    remote: Sequence[tuple[str, int]] = ()
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    workdir: Path | None = None
    backends: list[Backend] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    haproxy: Child | None = None
    _tmp: tempfile.TemporaryDirectory | None = None

    def start(self, out: TextIO | None = None, timeout: float = START_TIMEOUT) -> None:
        tool = haproxy_path()
        if tool is None:
            raise RuntimeError("haproxy is not installed: `sudo apt-get install haproxy` (Debian), "
                               "or run `make serve`, which installs it when run as root")
        if self.replicas < 0 or (self.replicas == 0 and not self.remote):
            raise RuntimeError("nothing to serve: give --replicas 1 or more, or a --backend")
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="descent-lab-serve-")
            self.workdir = Path(self._tmp.name)
        try:
            for i in range(self.replicas):
                port = free_port()
                backend = Backend(f"r{i + 1}", "127.0.0.1", port)
                self.backends.append(backend)
                child = Child(backend.name, replica_command(port),
                              self.workdir / f"{backend.name}.log", replica_env(self.secret))
                child.start()
                self.children.append(child)
            for i, (host, port) in enumerate(self.remote):
                self.backends.append(Backend(f"m{i + 1}", host, port))
            self._wait_for_replicas(timeout, out)
            config = self.workdir / "haproxy.cfg"
            config.write_text(haproxy_config(self.bind, self.port, self.backends))
            check = subprocess.run([tool, "-c", "-q", "-f", str(config)], capture_output=True,
                                   text=True)
            if check.returncode != 0:
                raise RuntimeError(f"haproxy refused its configuration ({config}):\n"
                                   f"{check.stderr or check.stdout}")
            self.haproxy = Child("haproxy", [tool, "-db", "-f", str(config)],
                                 self.workdir / "haproxy.log")
            self.haproxy.start()
            self._wait_for_proxy(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_for_replicas(self, timeout: float, out: TextIO | None) -> None:
        """Until every local replica answers /_stcore/health (one that dies is reported and left
        out: HAProxy's checks keep it down). Remote backends are left to HAProxy's checks."""
        if not self.children:
            return
        deadline = time.monotonic() + timeout
        waiting = {c.name: b for c, b in zip(self.children, self.backends)}
        while waiting and time.monotonic() < deadline:
            for child in self.children:
                if child.name not in waiting:
                    continue
                if not child.alive():
                    waiting.pop(child.name)
                    if out:
                        print(f"replica {child.name} exited at start; its log: {child.log}", file=out)
                elif health(waiting[child.name].address, timeout=2.0):
                    waiting.pop(child.name)
            if waiting:
                time.sleep(0.25)
        if not any(c.alive() for c in self.children) and not self.remote:
            logs = "\n".join(f"--- {c.log}\n{c.log.read_text(errors='replace')[-2000:]}"
                             for c in self.children)
            raise RuntimeError(f"no replica started:\n{logs}")
        if waiting and out:
            print(f"replicas still starting after {timeout:.0f} s: {', '.join(waiting)}", file=out)

    def _wait_for_proxy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::", "") else self.bind
        while time.monotonic() < deadline:
            if self.haproxy is None or not self.haproxy.alive():
                log = self.haproxy.log.read_text(errors="replace") if self.haproxy else ""
                raise RuntimeError(f"haproxy exited:\n{log[-2000:]}")
            if health(f"{host}:{self.port}", timeout=5.0):
                return
            time.sleep(0.25)
        raise RuntimeError(f"haproxy did not answer on port {self.port} within {timeout:.0f} s")

    @property
    def address(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::", "") else self.bind
        return f"{host}:{self.port}"

    def stop(self) -> None:
        stop_all([c for c in [self.haproxy, *self.children] if c is not None])
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "ClassServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Stop(Exception):
    pass


def _raise_stop(signum, frame) -> None:
    raise _Stop(signum)


def serve(args: argparse.Namespace, out: TextIO) -> int:
    secret = args.cookie_secret or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    server = ClassServer(args.replicas, args.port, bind=args.bind, remote=args.backend,
                         secret=secret)
    old = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"Starting {args.replicas} replica{'s' if args.replicas != 1 else ''} of "
              f"{serving.ENTRY.name} behind HAProxy…", file=out, flush=True)
        server.start(out)
        for backend, child in zip(server.backends, server.children):
            state = "up" if child.alive() else "DOWN"
            print(f"  replica {backend.name}: http://{backend.address} pid {child.pid} {state}",
                  file=out)
        for backend in server.backends[len(server.children):]:
            print(f"  backend {backend.name}: http://{backend.address} (another machine)", file=out)
        print(f"  haproxy: pid {server.haproxy.pid}", file=out)
        if args.backend:
            print(f"  other machines start a replica with the same secret:\n"
                  f"    descent-lab replica --port PORT --cookie-secret {secret}", file=out)
        lan = lan_address() if args.bind in ("0.0.0.0", "::") else None
        print(f"\nStudents open: http://{lan}:{args.port}/" if lan
              else f"\nStudents open: http://{server.address}/", file=out)
        if lan:
            print(f"(on this machine: http://127.0.0.1:{args.port}/)", file=out)
        print("Ctrl-C stops the class server.", file=out, flush=True)
        reported: set[str] = set()
        while True:
            if not server.haproxy.alive():
                print("haproxy exited; stopping the class server.", file=out, flush=True)
                return 1
            for child in server.children:
                if not child.alive() and child.name not in reported:
                    reported.add(child.name)
                    print(f"replica {child.name} exited (code {child.process.returncode}); "
                          f"HAProxy sends its students to the others. Log: {child.log}",
                          file=out, flush=True)
            time.sleep(1.0)
    except _Stop:
        print("\nStopping the class server…", file=out, flush=True)
        return 0
    except RuntimeError as err:
        print(f"descent-lab serve: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)


def replica(args: argparse.Namespace, out: TextIO) -> int:
    """One replica for another machine's `serve --backend`: in the foreground, on every
    interface, with the class's cookie secret."""
    secret = args.cookie_secret or os.environ.get(SECRET_ENV)
    if not secret:
        print("descent-lab replica: give --cookie-secret S (the secret `descent-lab serve` "
              f"printed) or set {SECRET_ENV}", file=sys.stderr)
        return 2
    # this process becomes the replica (exec): Ctrl-C and SIGTERM reach Streamlit itself, and
    # nothing is left behind
    command = replica_command(args.port, address=args.bind)
    out.flush()
    os.chdir(serving.ROOT)
    os.execve(command[0], command, replica_env(secret))
    return 1  # not reached


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="descent-lab",
                                     description="Serve Descent Lab to a class.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    srv = commands.add_parser(
        "serve", help="serve a class: N replicas behind HAProxy, in the foreground",
        description="Serve a class on one link: N Streamlit replicas behind HAProxy (sticky by "
                    "cookie, least connections, health checks). Runs in the foreground; Ctrl-C "
                    "stops every replica and HAProxy.")
    srv.add_argument("--replicas", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="replicas on this machine (default: the number of cores, %(default)s)")
    srv.add_argument("--port", type=int, default=8501, metavar="P",
                     help="the port students open (default: %(default)s)")
    srv.add_argument("--bind", default="0.0.0.0", metavar="ADDRESS",
                     help="the address HAProxy listens on (default: every interface)")
    srv.add_argument("--backend", type=parse_backend, action="append", default=[],
                     metavar="HOST:PORT",
                     help="a replica on another machine (`descent-lab replica` there); repeatable")
    srv.add_argument("--cookie-secret", metavar="S",
                     help=f"the replicas' server.cookieSecret (default: ${SECRET_ENV}, else a new "
                          "one per run); every replica, remote ones too, needs the same")
    rep = commands.add_parser(
        "replica", help="one replica for another machine's `serve --backend`",
        description="Start one replica on this machine, for `descent-lab serve --backend "
                    "THIS_HOST:PORT` on the machine that runs HAProxy.")
    rep.add_argument("--port", type=int, default=8501, metavar="P")
    rep.add_argument("--bind", default="0.0.0.0", metavar="ADDRESS",
                     help="the address the replica listens on (default: every interface)")
    rep.add_argument("--cookie-secret", metavar="S",
                     help=f"the secret `descent-lab serve` printed (or ${SECRET_ENV})")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    if args.command == "serve":
        return serve(args, out)
    return replica(args, out)


if __name__ == "__main__":
    sys.exit(main())
