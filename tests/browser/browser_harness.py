"""Start a Streamlit script on a free loopback port and drive it in headless Chromium.

Shared by the browser tests (through conftest.py) and by benchmarks/bench_page.py."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
APP_IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
VIEW_ROOT = ".dv-root"

# JS: the plot div of a view ("surface3d", "contour" or "loss").
JS_PLOT = "(view) => document.querySelector(`.dv-root .dv-${view}`)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def entry_for(script: str | os.PathLike[str]) -> str:
    """The file to `streamlit run`: app.py is started through the app's entry point
    (serving.ENTRY, as `make run` and `make serve` start it); a test page as itself."""
    if Path(script) == Path("app.py") or Path(script).resolve() == ROOT / "app.py":
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from serving import ENTRY

        return str(ENTRY)
    return str(script)


def streamlit_command(script: str | os.PathLike[str], port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", entry_for(script),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
        "--server.fileWatcherType", "none",
        *extra,
    ]


@contextlib.contextmanager
def run_streamlit(script: str | os.PathLike[str], *extra: str, timeout: float = 60.0) -> Iterator[str]:
    """Run `streamlit run script` until the block ends; yields the base URL.

    The server's output goes to a temporary log, shown in the error if it never answers."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        streamlit_command(script, port, *extra), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc, timeout, Path(log.name))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def wait_for_health(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"streamlit did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the script has finished running."""
    page.wait_for_selector(APP_IDLE, timeout=timeout)


def wait_drawn(page, min_updates: int = 1, timeout: float = 30_000) -> None:
    """Wait until the descent view has applied at least `min_updates` data updates to all three
    plots, and the 3D scene has a WebGL canvas."""
    page.wait_for_function(
        """(n) => {
            const root = document.querySelector('.dv-root');
            if (!root || Number(root.dataset.updates || 0) < n) return false;
            const ok = (v) => { const d = root.querySelector('.dv-' + v); return d && d._fullLayout; };
            return ok('surface3d') && ok('contour') && ok('loss')
                && root.querySelector('.dv-surface3d canvas') !== null;
        }""",
        arg=min_updates, timeout=timeout,
    )
    # Two animation frames so that the WebGL scene and the SVG are painted.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def view_state(page) -> dict:
    """The descent view's dataset: epoch, epochs, playing, frames, updates, token, drawn."""
    return page.evaluate("() => Object.assign({}, document.querySelector('.dv-root').dataset)")


def on_screen(page, view: str) -> list[dict]:
    """Per run of a view, what its overlay drew at the epoch on screen: n points of the path
    (gaps included), the head's pixel position (or None), and the path's x, y up to there."""
    return page.evaluate("(view) => document.querySelector('.dv-root').__descentView.onScreen(view)", view)


def trace_lengths(page, view: str) -> list[int]:
    """Per run of a view, in run order: the points of its path drawn up to the epoch on screen,
    then 1 if its head is drawn (else 0), as the old path/head trace lengths were."""
    out = []
    for run in on_screen(page, view):
        out += [run["n"], 1 if run["head"] is not None else 0]
    return out


def path_x(page, view: str, run: int = 0) -> list[float]:
    """The whole path's x of a run (at the η on screen), as the overlay draws it."""
    return page.evaluate(
        """([view, run]) => { const v = document.querySelector('.dv-root').__descentView;
            const p = v.current && v.current.views[view].get(String(run));
            return p ? Array.from(p.x.subarray(0, p.n)).map(x => Number.isFinite(x) ? x : null) : null; }""",
        [view, run])


def camera(page) -> dict:
    return page.evaluate(
        f"() => JSON.parse(JSON.stringify(({JS_PLOT})('surface3d')._fullLayout.scene.camera))"
    )


def element_box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    if box is None:
        raise AssertionError(f"{selector} is not visible")
    return box


def move_slider(page, key: str, presses: int = 1, key_name: str = "ArrowRight") -> None:
    """Move a Streamlit slider (by its widget key) with focus and the arrow keys."""
    thumb = page.locator(f".st-key-{key} input[type=range], .st-key-{key} [role=slider]").first
    thumb.focus()
    for _ in range(presses):
        thumb.press(key_name)


def screenshot(page, name: str) -> bytes:
    """Save a screenshot of the viewport as screenshots/<name>.png and return the PNG bytes."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def visible_points(page, view: str) -> list[int]:
    """Per run of a 2D view, in run order: how many of its path's dots are drawn (points off the
    box or not numbers are gaps), then 1 if its head is drawn (else 0)."""
    out = []
    for run in on_screen(page, view):
        dots = sum(1 for x, y in zip(run["x"], run["y"]) if x is not None and y is not None)
        out += [dots, 1 if run["head"] is not None else 0]
    return out


def colourful_fraction(png: bytes, box: dict, min_saturation: float = 0.25) -> float:
    """Fraction of the pixels inside `box` (CSS px of a 1× screenshot) that are clearly
    coloured, i.e. neither background white/grey nor black text."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    crop = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]),
                       int(box["y"] + box["height"])))
    hsv = np.asarray(crop.convert("HSV"))
    coloured = (hsv[..., 1] >= min_saturation * 255) & (hsv[..., 2] >= 40)
    return float(coloured.mean()) if coloured.size else 0.0


def run_async(coro):
    """asyncio.run in a thread of its own: in the full suite the browser tests' Playwright (sync
    API) keeps an event loop running on the main thread, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
