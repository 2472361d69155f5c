"""The descent view: one browser component that draws the 3D surface, the contour map and the
loss curve, and plays the descent back epoch by epoch in the browser.

Why a component and not three st.plotly_chart calls: st.plotly_chart remounts a chart whenever
its data changes, which resets the 3D camera (streamlit issue 8882) and costs about a second.
This component keeps the same three plot divs for the life of the page and redraws them with
Plotly.react and a constant layout.uirevision, so the user's camera and zoom survive reruns.
Playback runs in the browser: each animation frame restyles only the path and head traces.

Loading Plotly.js: the browser bundle ships inside the plotly Python package
(plotly/package_data/plotly.min.js, 4.8 MB) and is not committed here. At the first run of a
session it is copied to ``static/plotly-<version>.min.js`` next to the main script (app.py), and
the page loads it once, with a <script> tag, through Streamlit's static file serving. That needs
one line of configuration, in .streamlit/config.toml beside app.py:

    [server]
    enableStaticServing = true

(or ``--server.enableStaticServing true`` on the command line). The copy is git-ignored
(``static/plotly-*.min.js``). This route works from a fresh clone with an editable install or no
install at all; a components-v2 ``asset_dir`` would need the package installed, its manifest
found in the installed metadata, and the 4.8 MB file inside the package anyway.

Clicks: a press and release within a few pixels on the contour map's plot area sends back the
data coordinates under the pointer. The figure's "click" trace only marks the map as clickable:
it is not drawn (its 1,296 SVG markers made each redraw of the map about twice as slow). A drag
that zooms or pans sends nothing, nor does the second click of a double click (Plotly's zoom
reset), and the 3D view sends no clicks at all.

Redraws: a figure whose data are unchanged is not redrawn; one whose traces and layout are
unchanged but for the paths (a new learning rate on the same surface) gets its path traces
updated in place; anything else goes through Plotly.react. With software WebGL a 3D frame costs
100-400 ms and stalls the whole page, so during playback the 3D scene takes a new epoch only
after its previous frame is drawn and 1.5 times that long has passed: the 2D views keep their
frame rate and the 3D view skips epochs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly.io as pio
import streamlit as st

from lab.config import SPEEDS

VIEWS = ("surface3d", "contour", "loss")
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "descent_view"
STATIC_HINT = (
    "Turn on Streamlit's static file serving: put `[server]` `enableStaticServing = true` in "
    ".streamlit/config.toml next to app.py, or run with --server.enableStaticServing true."
)


def _read_asset(name: str) -> str:
    return (ASSET_DIR / name).read_text(encoding="utf-8")


_component = st.components.v2.component(
    "descent_lab_descent_view",
    html=_read_asset("descent_view.html"),
    css=_read_asset("descent_view.css"),
    js=_read_asset("descent_view.js"),
    # Plotly adds its stylesheet to document.head, which a shadow root would not see.
    isolate_styles=False,
)


def plotly_bundle_path() -> Path:
    """Plotly's browser bundle inside the installed plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def plotly_bundle_name() -> str:
    """File name of the served copy; the version in it busts browser caches on upgrades."""
    from plotly.offline import get_plotlyjs_version

    return f"plotly-{get_plotlyjs_version()}.min.js"


def ensure_plotly_bundle(static_dir: str | os.PathLike[str]) -> Path:
    """Copy Plotly's bundle into `static_dir` unless an identical-size copy is there already.

    The copy goes through a temporary file and an atomic rename, so two sessions starting at
    once never serve a half-written file."""
    source = plotly_bundle_path()
    static_dir = Path(static_dir)
    target = static_dir / plotly_bundle_name()
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
    """The URL the browser loads Plotly from, or None with the reason it cannot."""
    if not st.get_option("server.enableStaticServing"):
        return None, "Streamlit's static file serving is off. " + STATIC_HINT
    try:
        bundle = ensure_plotly_bundle(_main_script_dir() / "static")
    except OSError as err:
        return None, f"Could not copy Plotly's bundle into the static folder ({err})."
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/app/static/{bundle.name}", STATIC_HINT


def _check(figures: Mapping[str, Any], animation: Mapping[str, Any]) -> dict[str, Any]:
    missing = [view for view in VIEWS if view not in figures]
    if missing:
        raise ValueError(f"figures is missing {missing}; it needs the keys {list(VIEWS)}")
    for view in VIEWS:
        fig = figures[view]
        if not isinstance(fig, Mapping) or "data" not in fig:
            raise ValueError(
                f"figures[{view!r}] must be a Plotly figure dict "
                f"(json.loads(plotly.io.to_json(fig))), got {type(fig).__name__}")
    speed = animation.get("speed", "normal")
    if speed not in SPEEDS:
        raise ValueError(f"Invalid animation speed: {speed!r}; choose one of: {', '.join(SPEEDS)}")
    epochs = animation.get("epochs", 0)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"Invalid animation epochs: {epochs!r}; expected an int >= 0")
    return {"epochs": int(epochs), "speed": speed, "token": str(animation.get("token", ""))}


def descent_view(
    figures: dict,
    animation: dict,
    *,
    key: str = "descent_view",
    height: int = 640,
    on_click: Callable[[list[float]], None] | None = None,
    on_epoch: Callable[[int], None] | None = None,
) -> list[float] | None:
    """Show the three views and play the descent back in the browser.

    figures: {"surface3d": fig, "contour": fig, "loss": fig}, each a Plotly figure dict as made
        by json.loads(plotly.io.to_json(go_figure)). Traces whose `meta` is
        {"role": "path", "run": r} hold run r's whole path and are shown up to the current epoch;
        {"role": "head", "run": r} is put on run r's point at the current epoch in the same
        figure; {"role": "click"} (contour) is the grid that catches clicks;
        {"role": "frames", "epochs": [e0, e1, ...], "frames": array} (a Heatmap, frames of shape
        (K, ny, nx), or a line Scatter, (K, m)) shows frame k, the last one with epochs[k] <= the
        current epoch, as the heatmap's z or the line's y. Others are static.
    animation: {"epochs": E, "speed": "instant" | "slow" | "normal" | "fast", "token": str}.
        A new token (a new computation) replays from epoch 0 over 4 s (slow), 2 s (normal) or
        0.8 s (fast), skipping epochs when there are more than frames; "instant" shows the last
        epoch. With the same token the playback position and the user's camera are kept.
    key: the component's key; keep it constant so the browser keeps the same plots.
    height: total height in pixels, the toolbar included.
    on_click: called as on_click([x, y]) before the rerun that a click on the contour causes, so
        it may set other widgets' session_state (such as start-point sliders).
    on_epoch: called as on_epoch(epoch) before the rerun that follows the user settling on an
        epoch: playback paused or ended, or the epoch slider released. The same epoch is not
        reported twice in a row, and the rerun keeps the playback position (same token). Without
        on_epoch the browser reports nothing and causes no rerun.

    Returns [x, y] of a click on the contour map on the rerun that the click caused, else None.
    """
    anim = _check(figures, animation)
    url, hint = _plotly_url()

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

    callbacks = {"on_click_change": _clicked}
    if on_epoch is not None:
        callbacks["on_epoch_change"] = _epoch_settled
    result = _component(
        key=key,
        data={
            "figures": {view: figures[view] for view in VIEWS},
            "animation": anim,
            "plotly_url": url,
            "plotly_hint": hint,
            "height": int(height),
            "report_epoch": on_epoch is not None,
        },
        height=int(height),
        **callbacks,
    )
    point = result.get("click")
    if point is None:
        return None
    return [float(point[0]), float(point[1])]


def figure_specs(figs: dict) -> dict:
    """The wire form of the three figures: Plotly figure dicts, the unused default template left
    out, and the contour's grid shared with the 3D surface (sent once, shared in the browser)."""
    specs = {}
    for name, fig in figs.items():
        spec = json.loads(pio.to_json(fig, validate=False))
        spec["layout"].pop("template", None)  # plotly.py's default template: 8 KB per figure, unused
        specs[name] = spec
    surface_z = specs["surface3d"]["data"][0].get("z")
    contour = specs["contour"]["data"][0]
    if contour.get("type") == "contour" and surface_z is not None and contour.get("z") == surface_z:
        del contour["z"]
        contour["meta"] = {**(contour.get("meta") or {}), "z_from": "surface3d"}
    return specs


def show_views(figs: dict, run_identity, height: int, epochs: int, speed: str, *,
               on_click: Callable[[list[float]], None] | None = None,
               on_epoch: Callable[[int], None] | None = None) -> None:
    """Draw the three views in the browser component, `epochs` on the playback slider. A new
    `run_identity` replays the descent from epoch 0; the same one keeps the playback position
    and the camera."""
    token = hashlib.sha1(repr(run_identity).encode()).hexdigest()[:12]
    descent_view(figure_specs(figs), {"epochs": epochs, "speed": speed, "token": token},
                 key="descent_view", height=height, on_click=on_click, on_epoch=on_epoch)
