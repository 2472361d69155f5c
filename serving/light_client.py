"""A light client: one student's session spoken in Streamlit's own websocket protocol, no browser.

It measures the server alone (what the server spends before any browser starts drawing), so
that a class of 200 fits on the same 2-core machine as the server. The way it talks is the
browser's (DESIGN.md, "Serving a class"):

1. GET /_stcore/health, keeping every cookie it sets (HAProxy's SRV, Streamlit's XSRF cookie);
2. open ws://HOST/_stcore/stream with subprotocol `streamlit`, those cookies and an Origin that
   matches Host (Streamlit refuses a websocket whose Origin is another host);
3. send BackMsg(rerun_script=ClientState(query_string=...)) and read ForwardMsgs until
   `script_finished`. A widget change sends the widget's new state (ids read from the
   `delta.new_element` messages) with every state set before, as the browser does;
4. an upload asks the session for upload URLs, PUTs the file to /_stcore/upload_file/... with
   the session's cookies and the XSRF header, then reruns with the file uploader's new state.

Keepalive pings are off: under saturation a server answers a ping late and the default 20 s
ping timeout would drop a student who is only waiting.

    async with LightClient("127.0.0.1:8080") as student:
        opened = await student.open("lesson=adam-vs-sgd")
        changed = await student.set_widget("epochs", int_value=100)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

XSRF_COOKIE = "_streamlit_xsrf"
STICKY_COOKIE = "SRV"  # the cookie HAProxy inserts (serving.launcher's config)


class ClientError(Exception):
    """The server refused or dropped the session: the message says where."""


@dataclass
class Result:
    """One request of one student: what the server did between the request and script_finished."""

    seconds: float  # from the request (for an open: the health GET) to script_finished
    bytes: int  # websocket payload bytes received for it (decompressed)
    messages: int
    exceptions: list[str]  # the message of every `exception` element that arrived
    replica: str | None  # the SRV cookie: which replica served this student (None: no proxy)
    finished: str  # the script_finished status name (FINISHED_SUCCESSFULLY, ...)

    @property
    def ok(self) -> bool:
        return not self.exceptions and self.finished.startswith("FINISHED_SUCCESSFULLY")


async def http(host: str, method: str, path: str, *, headers: dict[str, str] | None = None,
               body: bytes = b"", timeout: float | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP/1.1 request on its own connection: (status, headers, body). asyncio streams, so
    that 200 students wait together without 200 threads."""
    name, _, port = host.rpartition(":")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(name, int(port)), timeout)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
                 f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ClientError(f"{method} {path}: no HTTP answer ({status_line!r})")
    pairs = [(k.strip().lower(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines)]
    if dict(pairs).get("transfer-encoding", "").lower() == "chunked":
        rest = _unchunk(rest)
    return int(parts[1]), pairs, rest


def _unchunk(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        end = data.index(b"\r\n", i)
        size = int(data[i:end].split(b";")[0], 16)
        if size == 0:
            break
        out += data[end + 2:end + 2 + size]
        i = end + 2 + size + 2
    return bytes(out)


def _multipart(filename: str, data: bytes, content_type: str) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def element_id(element) -> str | None:
    """The widget id inside a `new_element` (its oneof body's `id` field), or None."""
    kind = element.WhichOneof("type")
    if kind is None:
        return None
    body = getattr(element, kind)
    return getattr(body, "id", None) or None


@dataclass
class LightClient:
    """One student. `host` is HOST:PORT (the proxy or one replica)."""

    host: str
    timeout: float | None = 300.0  # per request; None waits for ever
    cookies: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    query: str = ""
    # widget id → its kind ("slider", "selectbox", ...) and the user key at its end
    widgets: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)  # a choice widget's options
    # every state set so far, sent again with each rerun as the browser sends them all
    states: dict[str, WidgetState] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)  # markdown/text/caption bodies of the last run
    elements: list[Any] = field(default_factory=list)  # every new_element of the last run
    # the replica that answered each kind of request ("health", "stream", "upload"), from the
    # X-Replica header serving.launcher's HAProxy adds (absent without the proxy)
    served_by: dict[str, str] = field(default_factory=dict)
    _ws: Any = None
    _request: int = 0

    # ---- connection ------------------------------------------------------------------------

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep_cookies(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name == "set-cookie":
                jar = SimpleCookie()
                jar.load(value)
                for key, morsel in jar.items():
                    self.cookies[key] = morsel.value

    @property
    def replica(self) -> str | None:
        return self.cookies.get(STICKY_COOKIE)

    async def connect(self) -> None:
        status, headers, body = await http(self.host, "GET", "/_stcore/health",
                                           headers={"Cookie": self._cookie_header()} if self.cookies else None,
                                           timeout=self.timeout)
        self._keep_cookies(headers)
        self._note("health", headers)
        if status != 200:
            raise ClientError(f"GET /_stcore/health: {status} {body[:200]!r}")
        extra = {"Cookie": self._cookie_header()} if self.cookies else {}
        self._ws = await connect(
            f"ws://{self.host}/_stcore/stream", subprotocols=["streamlit"],
            origin=f"http://{self.host}", additional_headers=extra, proxy=None,
            ping_interval=None, ping_timeout=None, open_timeout=self.timeout, max_size=None,
            max_queue=None, user_agent_header="descent-lab light client")
        self._note("stream", list(self._ws.response.headers.raw_items()))

    def _note(self, what: str, headers) -> None:
        for name, value in headers:
            if name.lower() == "x-replica":
                self.served_by[what] = value

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def __aenter__(self) -> "LightClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---- one rerun ---------------------------------------------------------------------------

    async def _send(self, msg: BackMsg) -> None:
        await self._ws.send(msg.SerializeToString())

    async def _read(self, until: str, check=None) -> tuple[list[ForwardMsg], int]:
        """ForwardMsgs until one of kind `until` (that passes `check`), and their payload bytes."""
        got, size = [], 0

        async def loop():
            nonlocal size
            while True:
                raw = await self._ws.recv()
                size += len(raw)
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                got.append(msg)
                self._absorb(msg)
                if msg.WhichOneof("type") == until and (check is None or check(msg)):
                    return

        await asyncio.wait_for(loop(), self.timeout)
        return got, size

    def _absorb(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "page_info_changed":
            # the page rewrote its address (st.query_params): a browser's next rerun sends it
            self.query = msg.page_info_changed.query_string
        elif kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            self.elements.append(element)
            wid = element_id(element)
            if wid is not None:
                self.options[wid] = list(getattr(getattr(element, element.WhichOneof("type")),
                                                 "options", []))
                self.widgets[wid] = wid.rsplit("-", 1)[-1] if wid.startswith("$$ID-") else wid
                self.kinds[wid] = element.WhichOneof("type")
            body_kind = element.WhichOneof("type")
            if body_kind in ("markdown", "text", "caption", "alert"):
                self.texts.append(getattr(element, body_kind).body)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "add_block":
            # a widget that is a block: st.tabs(key=...) and expanders with a key
            block = msg.delta.add_block
            bid = element_id(block)
            if bid is not None and bid.startswith("$$ID-"):
                self.widgets[bid] = bid.rsplit("-", 1)[-1]
                self.kinds[bid] = block.WhichOneof("type")

    async def rerun(self, query: str | None = None, changed: dict[str, WidgetState] | None = None,
                    *, started: float | None = None) -> Result:
        """Rerun the script with the query string (None: the last one) and widget changes; wait
        for script_finished."""
        if self._ws is None:
            raise ClientError("not connected")
        if query is not None:
            self.query = query.lstrip("?")
        start = time.perf_counter() if started is None else started
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        for wid, state in {**self.states, **(changed or {})}.items():
            msg.rerun_script.widget_states.widgets.append(state)
        for wid, state in (changed or {}).items():
            if state.WhichOneof("value") not in ("trigger_value", "string_trigger_value",
                                                 "json_trigger_value"):
                self.states[wid] = state  # a trigger fires once; a value stays
        self.texts, self.elements = [], []
        got, size = await self._read_run(msg)
        exceptions = [m.delta.new_element.exception.message for m in got
                      if m.WhichOneof("type") == "delta"
                      and m.delta.WhichOneof("type") == "new_element"
                      and m.delta.new_element.WhichOneof("type") == "exception"]
        status = ForwardMsg.ScriptFinishedStatus.Name(got[-1].script_finished)
        return Result(time.perf_counter() - start, size, len(got), exceptions, self.replica, status)

    async def _read_run(self, msg: BackMsg) -> tuple[list[ForwardMsg], int]:
        await self._send(msg)
        # A rerun the script asks for itself (st.rerun, a callback) ends with
        # FINISHED_EARLY_FOR_RERUN and goes on: read to the final finish.
        def final(m):
            return m.script_finished != ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
        return await self._read("script_finished", final)

    async def open(self, query: str = "") -> Result:
        """The page opened at ?query: health GET, websocket, first run."""
        start = time.perf_counter()
        await self.connect()
        return await self.rerun(query, started=start)

    # ---- widgets -----------------------------------------------------------------------------

    def widget_id(self, key: str) -> str:
        """The id of the widget with user key `key` (from the last runs' elements)."""
        for wid, user_key in self.widgets.items():
            if user_key == key:
                return wid
        raise ClientError(f"no widget with key {key!r} on the page (keys: {sorted(set(self.widgets.values()))})")

    async def set_widget(self, key: str, **value) -> Result:
        """Rerun with one widget changed: set_widget("epochs", int_value=100),
        set_widget("descent_view", json_value=json.dumps({...})), ..."""
        wid = self.widget_id(key)
        state = WidgetState(id=wid, **value)
        return await self.rerun(changed={wid: state})

    # ---- uploads -----------------------------------------------------------------------------

    async def upload(self, key: str, filename: str, data: bytes, content_type: str = "text/csv") -> Result:
        """Upload a file to the file uploader with user key `key`, as the browser does: ask the
        session for URLs, PUT the file there (same cookies: the same replica), rerun."""
        wid = self.widget_id(key)
        self._request += 1
        request_id = f"light-{self._request}"
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.session_id = self.session_id or ""
        msg.file_urls_request.file_names.append(filename)
        await self._send(msg)
        got, _ = await self._read("file_urls_response",
                                  lambda m: m.file_urls_response.response_id == request_id)
        answer = got[-1].file_urls_response
        if answer.error_msg or not answer.file_urls:
            raise ClientError(f"no upload URL: {answer.error_msg!r}")
        urls = answer.file_urls[0]
        path = urls.upload_url
        if "://" in path:
            path = "/" + path.split("://", 1)[1].split("/", 1)[1]
        ctype, body = _multipart(filename, data, content_type)
        headers = {"Cookie": self._cookie_header(), "Content-Type": ctype,
                   "X-Xsrftoken": self.cookies.get(XSRF_COOKIE, "")}
        status, answer_headers, text = await http(self.host, "PUT", path, headers=headers,
                                                  body=body, timeout=self.timeout)
        self._note("upload", answer_headers)
        if status not in (200, 204):
            raise ClientError(f"PUT {path}: {status} {text[:300]!r}")
        state = WidgetState(id=wid)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, filename, len(data)
        info.file_urls.CopyFrom(urls)
        return await self.rerun(changed={wid: state})


def json_state(value: dict) -> dict:
    """The keyword for a widget whose state is JSON (components v2 report their state so)."""
    return {"json_value": json.dumps(value)}
