"""The descent view: one browser component that draws the 3D surface, the contour map and the
loss curve, and plays the descent back in the browser.

Why a component and not three st.plotly_chart calls: st.plotly_chart remounts a chart whenever
its data changes, which resets the 3D camera (streamlit issue 8882) and costs about a second.
This component keeps the same three plot divs for the life of the page and redraws them with
Plotly.react and a constant layout.uirevision, so the user's camera and zoom survive reruns.

What Plotly draws and what the component draws: Plotly draws each figure's skeleton (the surface,
the filled contours, the axes, the legend), and redraws it only when the skeleton changes. The
runs' paths and moving heads ("path" and "head" traces) are drawn by the component on a canvas
over each plot: for the 3D view, projected with the scene's own camera matrices in the same
frame as the scene (also while it is dragged); for the 2D views, with the axes' own data-to-pixel
maps. So a new epoch or a new learning rate never makes Plotly recompute the filled contour or
redraw the WebGL scene.

The learning rate in the browser (`paths`, see PathSet): the page sends every run's trajectory at
all of the η slider's stops, and the view's own η slider swaps between them within one
animation frame; on release it reports the stop to Python (`on_lr`), which moves the page's
η. The figures and the path set do not depend on η, and Python's η goes to the browser in a tiny
element of its own (assets/descent_view/lr_echo.js), so that rerun produces a byte-identical
view message: Streamlit sends only a reference to the message the browser already has (its
ForwardMsg cache) and the browser redraws nothing. When computing every stop ahead would be too
slow (lab.runs.lr_set_plan), the set holds only the η on screen and the slider reruns the
page on release, as the quiet note under the views says. A large set is sent as the chosen stop
and its neighbours first; the browser asks for the rest (state "full") once it has drawn. A set
that is dear to compute (`pending`: the mini-batch lessons), or that a new computation makes
larger than the first message sends (ui/surface_page.py: the default page after an epochs change),
is first sent as the η on screen alone, and its other stops are computed when the browser asks
for them. The figures of a set are made once for both messages.

The wire: the component's data is one bytes object (Streamlit passes top-level bytes through
as they are, without scanning a dict for dataframes, which would import pandas and pyarrow):
b"DVW1", a little-endian uint32 header length, a JSON header in which every array is a reference
{"$b": name}, and then the arrays as raw little-endian float32/int32 buffers, each aligned to 8
bytes. Equal arrays (the surface grid the 3D view and the contour map share) are sent once.

Loading Plotly.js: the browser bundle is Descent Lab's subset of plotly.js
(assets/plotly/plotly-descent.min.js, 1.8 MB: the core and the trace types the view draws), or
the plotly package's full bundle when the subset was built for another plotly.js
(serving/bundle.py). The app's entry (serving/web.py, an st.App around app.py) serves it at a
versioned URL (/vendor/plotly-<version>.<hash>.min.js), gzipped once and cached by the browser for
a year, and the page shell starts fetching it before the script runs; the view then takes the
bundle the shell already has. A script run without the entry (a test page) falls back to a copy
in ``static/`` served by Streamlit's static file serving (``--server.enableStaticServing true``;
the copy is git-ignored). A figure with a trace type the served bundle lacks is refused here, in
words, rather than left for Plotly to skip in silence.

Clicks: a press and release within a few pixels on the contour map's plot area sends back the
data coordinates under the pointer. The figure's "click" trace only marks the map as clickable:
it is not drawn. A drag that zooms or pans sends nothing, nor does the second click of a double
click (Plotly's zoom reset), and the 3D view sends no clicks at all.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from lab.config import SPEEDS

VIEWS = ("surface3d", "contour", "loss")
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "descent_view"
STATIC_HINT = (
    "Start the page with `make run` (streamlit run serving/web.py), which serves Plotly itself; "
    "a script run on its own needs Streamlit's static file serving (--server.enableStaticServing true)."
)


# The component's JavaScript, one file per job, joined in this order into the one module that
# components v2 takes inline (an inline module has no URL of its own to import siblings from):
# the wire decoder, the path set (η stops), the overlays and projection, playback and the
# control bar, the Plotly skeleton, and the view that holds them (its default export last).
JS_PARTS = ("wire.js", "path_set.js", "overlay.js", "playback.js", "skeleton.js", "descent_view.js")


def _read_asset(name: str) -> str:
    return (ASSET_DIR / name).read_text(encoding="utf-8")


def component_js() -> str:
    """The component's module: JS_PARTS joined, each under a comment naming its file."""
    return "\n".join(f"// --- assets/descent_view/{name}\n{_read_asset(name)}" for name in JS_PARTS)


_component = st.components.v2.component(
    "descent_lab_descent_view",
    html=_read_asset("descent_view.html"),
    css=_read_asset("descent_view.css"),
    js=component_js(),
    # Plotly adds its stylesheet to document.head, which a shadow root would not see.
    isolate_styles=False,
)


_lr_echo = st.components.v2.component(
    "descent_lab_descent_view_lr",
    html='<span class="dv-lr-echo" hidden></span>',
    js=_read_asset("lr_echo.js"),
    isolate_styles=False,
)


def ensure_plotly_bundle(static_dir: str | os.PathLike[str]) -> Path:
    """Copy Plotly's bundle into `static_dir` unless an identical-size copy is there already.

    The copy goes through a temporary file and an atomic rename, so two sessions starting at
    once never serve a half-written file. The bundle and its name (version and content hash, which
    bust browser caches) are serving/bundle.py's: the subset or the full one."""
    from serving import bundle

    source = bundle.source_path()
    static_dir = Path(static_dir)
    target = static_dir / bundle.load().name
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return target
    static_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=static_dir, prefix=".plotly-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _main_script_dir() -> Path:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and getattr(ctx, "main_script_path", None):
        return Path(ctx.main_script_path).resolve().parent
    return Path.cwd()


def _plotly_url() -> tuple[str | None, str]:
    """The URL the browser loads Plotly from, or None with the reason it cannot: the app entry's
    own route (serving/web.py: versioned, cached for a year, fetched from the page's top) when
    the page runs under it, else a copy in Streamlit's static folder (a script run on its own)."""
    from serving import bundle

    if bundle.is_served():
        return bundle.url_path(st.get_option("server.baseUrlPath") or ""), ""
    if not st.get_option("server.enableStaticServing"):
        return None, "Streamlit's static file serving is off. " + STATIC_HINT
    try:
        bundle = ensure_plotly_bundle(_main_script_dir() / "static")
    except OSError as err:
        return None, f"Could not copy Plotly's bundle into the static folder ({err})."
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/app/static/{bundle.name}", STATIC_HINT




# --- The wire ---------------------------------------------------------------------------------

MAGIC = b"DVW1"
_DTYPES = {np.dtype("float32"): "f4", np.dtype("float64"): "f4", np.dtype("int32"): "i4",
           np.dtype("int64"): "i4", np.dtype("uint8"): "u1", np.dtype("int16"): "i4",
           np.dtype("uint16"): "i4", np.dtype("int8"): "i4", np.dtype("bool"): "u1"}
_WIRE_TYPE = {"f4": np.float32, "i4": np.int32, "u1": np.uint8}


_BDATA = {"f4": "<f4", "f8": "<f8", "i1": "i1", "u1": "u1", "i2": "<i2", "u2": "<u2", "i4": "<i4",
          "u4": "<u4"}


def _from_bdata(value: Mapping) -> np.ndarray:
    """Plotly's JSON form of an array ({dtype, bdata: base64, shape}) as a NumPy array."""
    import base64

    flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_BDATA[value["dtype"]])
    shape = value.get("shape")
    if isinstance(shape, str):
        shape = [int(v) for v in shape.split(",")]
    return flat.reshape(shape) if shape else flat


class Wire:
    """The binary part of one message: numeric arrays as raw buffers, each sent once."""

    def __init__(self) -> None:
        self.buffers: list[bytes] = []
        self.table: dict[str, list] = {}
        self._by_digest: dict[bytes, str] = {}
        self.size = 0

    def ref(self, array) -> dict:
        """A reference to `array` in the header: {"$b": name, "shape": [...]}."""
        a = np.asarray(array)
        code = _DTYPES.get(a.dtype)
        if code is None:
            raise TypeError(f"cannot send an array of dtype {a.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):
            data = np.ascontiguousarray(a, dtype=np.dtype(_WIRE_TYPE[code]).newbyteorder("<"))
        raw = data.tobytes()
        digest = hashlib.blake2b(raw, digest_size=16).digest() + code.encode()
        name = self._by_digest.get(digest)
        if name is None:
            name = digest[:12].hex() + code  # content-addressed: the browser keeps what it has
            pad = (-len(raw)) % 8
            self.table[name] = [self.size, len(raw), code]
            self.buffers.append(raw + b"\0" * pad)
            self.size += len(raw) + pad
            self._by_digest[digest] = name
        return {"$b": name, "shape": list(a.shape)}

    def encode(self, value):
        """`value` with every numeric array (and number-only list of lists) made a reference."""
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "fiub" and value.size:
                return self.ref(value)
            return value.tolist()
        if isinstance(value, Mapping):
            if isinstance(value.get("bdata"), str) and value.get("dtype") in _BDATA:
                return self.ref(_from_bdata(value))
            return {str(k): self.encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    def pack(self, header: dict) -> bytes:
        header = {**header, "buffers": self.table}
        text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
        start = 8 + len(text)
        pad = (-start) % 8
        return b"".join([MAGIC, struct.pack("<I", len(text)), text, b" " * pad, *self.buffers])


def decode(message: bytes) -> dict:
    """The header of a wire message, every array reference replaced by Plotly's JSON form of it
    ({dtype, bdata: base64, shape}), as plotly.io.to_json writes arrays (for tests and tools that
    read what the component received, e.g. AppTest's proto.bytes)."""
    import base64

    if message[:4] != MAGIC:
        raise ValueError("not a descent-view message")
    (length,) = struct.unpack("<I", message[4:8])
    header = json.loads(message[8:8 + length])
    base = 8 + length + (-(8 + length)) % 8
    table = header.pop("buffers", {})

    def revive(value):
        if isinstance(value, dict):
            if "$b" in value and value["$b"] in table:
                offset, size, code = table[value["$b"]]
                out = {"dtype": code, "bdata": base64.b64encode(
                    message[base + offset:base + offset + size]).decode("ascii")}
                shape = value.get("shape") or []
                if len(shape) > 1:
                    out["shape"] = ", ".join(str(n) for n in shape)
                return out
            return {k: revive(v) for k, v in value.items()}
        if isinstance(value, list):
            return [revive(v) for v in value]
        return value

    return revive(header)


def figure_dict(fig) -> dict:
    """A Plotly figure as a plain dict (arrays stay NumPy arrays), without plotly.py's default
    template (8 KB per figure, unused): go.Figure.to_plotly_json, not JSON text to parse back."""
    if hasattr(fig, "_data") and hasattr(fig, "_layout"):
        # plotly.py's own property dicts, arrays still NumPy: to_plotly_json would base64 them.
        spec = {"data": fig._data, "layout": fig._layout}
    elif hasattr(fig, "to_plotly_json"):
        spec = fig.to_plotly_json()
    else:
        spec = dict(fig)
    layout = dict(spec.get("layout") or {})
    layout.pop("template", None)
    return {"data": list(spec.get("data") or []), "layout": layout}


def _strip_paths(spec: dict) -> dict:
    """The figure without the data of its path and head traces (the path set carries them)."""
    data = []
    for trace in spec["data"]:
        meta = trace.get("meta") or {}
        if isinstance(meta, Mapping) and meta.get("role") in ("path", "head"):
            trace = {k: v for k, v in trace.items() if k not in ("x", "y", "z")}
        data.append(trace)
    return {**spec, "data": data}


def figure_specs(figs: dict, *, strip_paths: bool = False) -> dict:
    """The three figures as plain dicts for the wire (see figure_dict)."""
    specs = {name: figure_dict(fig) for name, fig in figs.items()}
    if strip_paths:
        specs = {name: _strip_paths(spec) for name, spec in specs.items()}
        loss = specs.get("loss")
        if loss is not None:
            # The loss axis and the divergence lines follow η: the path set carries them per stop.
            layout = dict(loss["layout"])
            layout.pop("shapes", None)
            yaxis = {k: v for k, v in dict(layout.get("yaxis") or {}).items()
                     if k not in ("type", "dtick", "tick0", "title", "range")}
            layout["yaxis"] = yaxis
            specs["loss"] = {**loss, "layout": layout}
    return specs


# --- The learning rate in the browser ---------------------------------------------------------


@dataclass(frozen=True)
class PathRun:
    """One run's trajectories: row i is stop i of PathSet.stops (or, `fixed`, one row: the run
    has its own η and ignores the view's). params (rows, E+1, 2), loss (rows, E+1); NaN after the
    run stopped. `last` is each row's last epoch, `diverged` its divergence epoch or -1."""

    params: np.ndarray
    loss: np.ndarray
    last: np.ndarray
    diverged: np.ndarray
    fixed: bool = False
    # (rows, E+1) gradient evaluations at each epoch when the loss curve counts them
    # (figures.descent.uses_evals_axis), else None: the curve's x is the epoch
    evals: np.ndarray | None = None


@dataclass(frozen=True)
class PathSet:
    """Every run at every η stop, and how the views turn a trajectory into their coordinates.

    stops: the η values (the sidebar slider's). rows: which stops have trajectories (all, or only
    the current one when the batch would be too slow: then each new η is a rerun). scene: the box
    and the height map of the 3D view (see figures.descent.surface_3d): floor, hmin, hmax, lift,
    log, box = [x0, x1, y0, y1]. loss_axes: per stop, the loss curve's axis (log, shift,
    ceiling, title, dtick), as figures.descent.loss_curve chooses it for the runs at that stop.
    key: what the set depends on, η excepted. note: one quiet line under the views, or "".
    pending: the other stops are not computed yet; the browser asks for them (state "full")
    once it has drawn, and gets the whole set under the same key."""

    stops: tuple[float, ...]
    rows: tuple[int, ...]
    runs: tuple[PathRun, ...]
    scene: dict
    loss_axes: tuple[dict | None, ...]
    key: str
    note: str = ""
    pending: bool = False

    def nbytes(self, rows=None) -> int:
        rows = self.rows if rows is None else rows
        per = sum((r.params[0].size + r.loss[0].size) * 4 for r in self.runs if not r.fixed)
        return per * len(rows) + sum((r.params[0].size + r.loss[0].size) * 4
                                     for r in self.runs if r.fixed)


# Above this size the first message holds only the chosen stop and its neighbours; the browser
# asks for the rest once it has drawn (state "full").
FIRST_PAINT_LIMIT = 100_000
FIRST_PAINT_NEIGHBOURS = 2


def first_rows(paths: PathSet, index: int) -> tuple[int, ...]:
    """The stops the first message sends: all when the set is small (or pending), else index ± 2."""
    if paths.pending or paths.nbytes() <= FIRST_PAINT_LIMIT:
        return paths.rows
    near = set(range(index - FIRST_PAINT_NEIGHBOURS, index + FIRST_PAINT_NEIGHBOURS + 1))
    return tuple(r for r in paths.rows if r in near)


def _paths_header(paths: PathSet, rows: tuple[int, ...], wire: Wire) -> dict:
    where = {stop: i for i, stop in enumerate(paths.rows)}
    take = [where[r] for r in rows if r in where]
    runs = []
    for run in paths.runs:
        pick = [0] if run.fixed else take
        runs.append({
            "fixed": run.fixed,
            "params": wire.ref(_finite32(run.params[pick])),
            "loss": wire.ref(_finite32(run.loss[pick])),
            "last": [int(v) for v in run.last[pick]],
            "diverged": [int(v) for v in run.diverged[pick]],
            **({} if run.evals is None else {"evals": wire.ref(_finite32(run.evals[pick]))}),
        })
    return {"key": paths.key, "stops": list(paths.stops), "rows": [r for r in rows if r in where],
            "complete": len(rows) == len(paths.rows) and not paths.pending, "runs": runs, "scene": paths.scene,
            "lossAxes": [paths.loss_axes[r] for r in rows if r in where]}


def _finite32(a) -> np.ndarray:
    """float32 with ±inf kept (a diverged loss) and NaN for what was NaN (after a stop)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=np.float32)


# --- The component ----------------------------------------------------------------------------


def _check(figures: Mapping[str, Any], animation: Mapping[str, Any]) -> dict[str, Any]:
    missing = [view for view in VIEWS if view not in figures]
    if missing:
        raise ValueError(f"figures is missing {missing}; it needs the keys {list(VIEWS)}")
    for view in VIEWS:
        fig = figures[view]
        if not (isinstance(fig, Mapping) and "data" in fig) and not hasattr(fig, "to_plotly_json"):
            raise ValueError(
                f"figures[{view!r}] must be a Plotly figure or figure dict, got {type(fig).__name__}")
    speed = animation.get("speed", "normal")
    if speed not in SPEEDS:
        raise ValueError(f"Invalid animation speed: {speed!r}; choose one of: {', '.join(SPEEDS)}")
    epochs = animation.get("epochs", 0)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"Invalid animation epochs: {epochs!r}; expected an int >= 0")
    checked = {"epochs": int(epochs), "speed": speed, "token": str(animation.get("token", ""))}
    started = animation.get("started_at")
    if isinstance(started, (int, float)) and not isinstance(started, bool) and math.isfinite(started):
        checked["started_at"] = float(started)  # class mode: the reveal's time on the server's clock
    hidden = animation.get("hidden")
    if isinstance(hidden, str) and hidden:
        checked["hidden"] = hidden  # class mode: the run is here but not shown until this question's reveal
    return checked


def check_trace_types(specs: Mapping[str, Mapping]) -> None:
    """Refuse a trace type the served Plotly bundle cannot draw (serving/bundle.py's subset): Plotly
    would skip it without a word. Add the type to assets/plotly/entry.js and `make plotly-bundle`."""
    from serving import bundle

    known = bundle.traces()
    if known is None:
        return
    for view, spec in specs.items():
        for trace in spec.get("data") or ():
            kind = trace.get("type", "scatter") if isinstance(trace, Mapping) else None
            if kind not in known:
                raise ValueError(
                    f"figures[{view!r}] has a {kind!r} trace, which the served Plotly bundle cannot "
                    f"draw (it has {', '.join(sorted(known))}); add it to assets/plotly/entry.js "
                    "and run `make plotly-bundle`")


def _figure_specs(figures: Mapping[str, Any], strip: bool) -> dict:
    """The three figures as the wire's dicts (figure_specs), their trace types checked."""
    specs = figure_specs({view: figures[view] for view in VIEWS}, strip_paths=strip)
    check_trace_types(specs)
    return specs


def _encoded_figures(figures: Mapping[str, Any], wire: Wire, strip: bool) -> dict:
    specs = _figure_specs(figures, strip)
    return {view: wire.encode(specs[view]) for view in VIEWS}


def descent_view(
    figures: dict,
    animation: dict,
    *,
    key: str = "descent_view",
    height: int = 640,
    on_click: Callable[[list[float]], None] | None = None,
    on_epoch: Callable[[int], None] | None = None,
    paths: PathSet | None = None,
    lr_index: int | None = None,
    on_lr: Callable[[int], None] | None = None,
    _prepared: tuple[Wire, dict] | None = None,
) -> list[float] | None:
    """Show the three views and play the descent back in the browser.

    figures: {"surface3d": fig, "contour": fig, "loss": fig}, each a Plotly figure (or figure
        dict). Traces whose `meta` is {"role": "path", "run": r} hold run r's whole path; the
        component draws it, up to the current epoch, over the plot (Plotly draws only its legend
        entry); {"role": "head", "run": r} styles run r's point at the current epoch;
        {"role": "click"} (contour) marks the map whose clicks set the start;
        {"role": "frames", "epochs": [e0, e1, ...], "frames": array} (a Heatmap, frames of shape
        (K, ny, nx), or a line Scatter, (K, m)) shows frame k, the last one with epochs[k] <= the
        current epoch, as the heatmap's z or the line's y. Others are static.
    animation: {"epochs": E, "speed": "instant" | "slow" | "normal" | "fast", "token": str,
        "started_at": seconds (optional)}. With "started_at" (Unix time on the server's clock,
        which the page learns from class mode's follower), a new token plays as if it had
        started then (class mode's reveal: every screen at the same epoch). The same value for
        every student keeps the message byte-identical, so Streamlit sends it once per server.
        A new token (a new computation) replays from epoch 0 over 4 s (slow), 2 s (normal) or
        0.8 s (fast); "instant" shows the last epoch. With the same token the playback position,
        the camera and the zoom are kept. "hidden": a question id (class mode): the view draws
        the surface and the map but no run and no playback until a window "descent-lab-reveal"
        event (assets/class_follow) names that question; then it plays on the reveal's clock.
    paths: every run at every η stop (PathSet); the paths then come from it, not from the
        figures' path traces, and the view shows its own η slider at stop `lr_index`.
    on_lr: called as on_lr(stop_index) before the rerun that follows the view's η slider being
        released on another stop.
    key: the component's key; keep it constant so the browser keeps the same plots.
    height: total height in pixels, the toolbar included.
    on_click: called as on_click([x, y]) before the rerun that a click on the contour causes.
    on_epoch: called as on_epoch(epoch) before the rerun that follows the user settling on an
        epoch (playback paused, or the epoch slider released). Without it the browser reports
        nothing and causes no rerun.

    Returns [x, y] of a click on the contour map on the rerun that the click caused, else None.
    """
    anim = _check(figures, animation)
    url, hint = _plotly_url()
    state = st.session_state.get(key) or {}

    def _clicked() -> None:
        if on_click is None:
            return
        point = (st.session_state.get(key) or {}).get("click")
        if point is not None:
            on_click([float(point[0]), float(point[1])])

    def _epoch_settled() -> None:
        if on_epoch is None:
            return
        epoch = (st.session_state.get(key) or {}).get("epoch")
        if isinstance(epoch, (int, float)) and not isinstance(epoch, bool):
            on_epoch(int(epoch))

    def _lr_settled() -> None:
        if on_lr is None or paths is None:
            return
        index = (st.session_state.get(key) or {}).get("lr")
        if isinstance(index, (int, float)) and not isinstance(index, bool) \
                and 0 <= int(index) < len(paths.stops):
            on_lr(int(index))

    callbacks = {"on_click_change": _clicked, "on_painted_change": lambda: None}
    if on_epoch is not None:
        callbacks["on_epoch_change"] = _epoch_settled
    if paths is not None:
        callbacks["on_lr_change"] = _lr_settled
        callbacks["on_full_change"] = lambda: None

    if _prepared is None:
        wire = Wire()
        static = {"figures": _encoded_figures(figures, wire, paths is not None)}
        if paths is not None:
            index = int(lr_index or 0)
            full = state.get("full") == paths.key
            rows = paths.rows if full else first_rows(paths, index)
            static["paths"] = _paths_header(paths, rows, wire)
    else:
        wire, static = _prepared
    header = {
        **static,
        "animation": anim,
        "plotly_url": url,
        "plotly_hint": hint,
        "height": int(height),
        "report_epoch": on_epoch is not None,
        "report_lr": on_lr is not None,
        "note": paths.note if paths is not None else "",
    }
    # The browser sizes the view: `height` on a 720-px screen, more on a taller window.
    result = _component(key=key, data=wire.pack(header), height="content", **callbacks)
    if paths is not None and lr_index is not None:
        # The η on screen goes in a tiny element of its own, so that the view's message stays
        # byte for byte the same when only η changed: Streamlit then sends a reference to the
        # message the browser already has instead of the message (its ForwardMsg cache).
        with st.sidebar:
            _lr_echo(key=f"{key}_lr", data={"lr_index": int(lr_index), "set": paths.key},
                     height=0)
    point = result.get("click")
    if point is None:
        return None
    return [float(point[0]), float(point[1])]


def views_painted(key: str = "descent_view") -> bool:
    """Whether the page may send what lies under the views: once the browser has drawn them (the
    view reports it after its first paint, which reruns the page), so panels and extra charts
    never compete with the first paint. A client that draws nothing (AppTest, a light client
    speaking the websocket protocol: no browser's User-Agent) is not waited for."""
    state = st.session_state.get(key) or {}
    if state.get("painted") or state.get("full"):
        return True
    try:
        agent = st.context.headers.get("User-Agent") or ""
    except Exception:  # noqa: BLE001 - no request context (AppTest): nothing to wait for
        agent = ""
    return "Mozilla/" not in agent


def _animation(epochs: int, speed: str, token: str, started_at: float | None,
               hidden: str | None = None) -> dict:
    """The playback's settings; `started_at` (class mode's reveal, Unix time on the server's
    clock) plays a new token from then on, so that every screen of a class shows the same epoch;
    `hidden` (class mode: the open question's id) sends the run but shows no path, head, loss
    curve or playback until the page's class follower announces that question's reveal."""
    animation = {"epochs": epochs, "speed": speed, "token": token}
    if started_at is not None:
        animation["started_at"] = started_at
    if hidden:
        animation["hidden"] = hidden
    return animation


def show_views(figs: dict | Callable[[], dict], run_identity, height: int, epochs: int,
               speed: str, *, on_click: Callable[[list[float]], None] | None = None,
               on_epoch: Callable[[int], None] | None = None,
               cached: Callable | None = None, started_at: float | None = None,
               hidden: str | None = None) -> None:
    """Draw the three views in the browser component, `epochs` on the playback slider. A new
    `run_identity` replays the descent from epoch 0; the same one keeps the playback position
    and the camera. `figs` may be a function that makes them; with `cached(key, make)` (a cache
    shared by the sessions) the encoded message is built once per run_identity, and the figures
    are made only then."""
    token = hashlib.sha1(repr(run_identity).encode()).hexdigest()[:12]
    prepared = None
    if cached is not None:
        def build() -> tuple[Wire, dict]:
            wire = Wire()
            made = figs() if callable(figs) else figs
            return (wire, {"figures": _encoded_figures(made, wire, False)})

        prepared = cached(("views", repr(run_identity)), build)
        figs = {view: {"data": []} for view in VIEWS}
    elif callable(figs):
        figs = figs()
    descent_view(figs, _animation(epochs, speed, token, started_at, hidden),
                 key="descent_view", height=height, on_click=on_click, on_epoch=on_epoch,
                 _prepared=prepared)


def show_lr_views(make_figures: Callable[[], dict], view_key, paths: PathSet, lr_index: int,
                  height: int, speed: str, *, cache_get: Callable | None = None,
                  cache_put: Callable | None = None, cached: Callable | None = None,
                  on_click=None, on_epoch=None, on_lr=None, key: str = "descent_view",
                  started_at: float | None = None, hidden: str | None = None) -> None:
    """The views with the learning rate in the browser. `view_key` is everything the figures and
    `paths` depend on but η: under the same key the wire message is built once (the figures
    are not even made) and a change of η alone sends the same data with another lr_index.
    `cached(key, make)` (a cache that computes a missing key once, however many sessions ask)
    or cache_get/cache_put keep the built message."""
    token = hashlib.sha1(repr(view_key).encode()).hexdigest()[:12]
    state = st.session_state.get(key) or {}
    rows = paths.rows if state.get("full") == paths.key else first_rows(paths, lr_index)
    if rows != paths.rows and not set(rows) >= {lr_index} & set(paths.rows):
        rows = paths.rows
    cache_key = (view_key, paths.key, rows)

    def build(specs: dict | None = None) -> tuple[Wire, dict]:
        wire = Wire()
        if specs is None:
            specs = _figure_specs(make_figures(), True)
        return (wire, {"figures": {view: wire.encode(specs[view]) for view in VIEWS},
                       "paths": _paths_header(paths, rows, wire)})

    if cached is not None:
        # The figures are made once per set, not once per message: the first message (part of
        # the η set) and the whole set's, after the first paint, share them.
        prepared = cached(cache_key, lambda: build(
            cached(("figures", view_key, paths.key), lambda: _figure_specs(make_figures(), True))))
    else:
        prepared = cache_get(cache_key) if cache_get is not None else None
        if prepared is None:
            prepared = build()
            if cache_put is not None:
                cache_put(cache_key, prepared)
    epochs = max((int(run.last.max()) for run in paths.runs), default=0)
    descent_view({view: {"data": []} for view in VIEWS},
                 _animation(epochs, speed, token, started_at, hidden), key=key, height=height,
                 on_click=on_click, on_epoch=on_epoch, paths=paths, lr_index=lr_index,
                 on_lr=on_lr, _prepared=prepared)
