"""Opening the page: Plotly's bundle comes from the app's own versioned route, is requested from
the page's top (before the script's first message), and a second visit takes it from the
browser's cache without a network fetch, read from Chromium's own network events (CDP)."""

from __future__ import annotations

import gzip
import re
import urllib.request

import pytest

import browser_harness as h

BUNDLE_PATH = re.compile(r"/vendor/plotly-[0-9.]+\.[0-9a-f]{12}\.min\.js$")


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def _bundle_path(url: str) -> str:
    with urllib.request.urlopen(url + "/") as resp:
        shell = resp.read().decode("utf-8")
    found = re.findall(r'<link rel="preload" href="([^"]+)" as="script">', shell)
    assert len(found) == 1, "the page shell preloads exactly one script, Plotly's bundle"
    assert shell.index(found[0]) < shell.index('<script type="module"'), \
        "the preload comes before Streamlit's own code"
    return found[0]


def test_the_bundle_route_serves_plotly_gzipped_once_with_year_long_cache_headers(app_url):
    path = _bundle_path(app_url)
    assert BUNDLE_PATH.search(path), path
    from serving import bundle

    raw = bundle.source_path().read_bytes()
    request = urllib.request.Request(app_url + path, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as resp:
        zipped = resp.read()
        headers = resp.headers
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(zipped) == raw
    with urllib.request.urlopen(urllib.request.Request(app_url + path, headers={"Accept-Encoding": "gzip"})) as again:
        assert again.read() == zipped, "the same compressed bytes on every request"
    with urllib.request.urlopen(urllib.request.Request(app_url + path, headers={"Accept-Encoding": "identity"})) as plain:
        assert plain.headers.get("Content-Encoding") is None
        assert plain.read() == raw


class NetworkLog:
    """Chromium's network events of one page, for the bundle and the app's websocket."""

    def __init__(self, page, bundle_path: str):
        self.events: list[tuple[str, dict]] = []
        self.bundle_path = bundle_path
        session = page.context.new_cdp_session(page)
        for name in ("Network.requestWillBeSent", "Network.responseReceived",
                     "Network.requestServedFromCache", "Network.loadingFinished",
                     "Network.webSocketFrameReceived"):
            session.on(name, lambda params, name=name: self.events.append((name, params)))
        session.send("Network.enable")
        self.session = session

    def bundle_ids(self) -> set[str]:
        return {p["requestId"] for n, p in self.events
                if n == "Network.requestWillBeSent" and p["request"]["url"].endswith(self.bundle_path)}

    def of(self, name: str, ids: set[str]) -> list[dict]:
        return [p for n, p in self.events if n == name and p.get("requestId") in ids]

    def first_index(self, predicate) -> int:
        return next((i for i, (n, p) in enumerate(self.events) if predicate(n, p)), -1)


def test_the_bundle_is_fetched_from_the_top_and_a_second_visit_takes_it_from_the_cache(browser, app_url):
    path = _bundle_path(app_url)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        # First visit: the bundle is asked for before the script's first message reaches the page.
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        log = NetworkLog(page, path)
        page.goto(app_url + "/?speed=instant")
        h.wait_idle(page, timeout=90_000)
        h.wait_drawn(page, timeout=90_000)
        ids = log.bundle_ids()
        assert len(ids) == 1, f"one request for the bundle on the first visit, got {len(ids)}"
        asked = log.first_index(lambda n, p: n == "Network.requestWillBeSent" and p["requestId"] in ids)
        first_frame = log.first_index(lambda n, p: n == "Network.webSocketFrameReceived")
        assert 0 <= asked < first_frame, "the bundle was requested only after the websocket spoke"
        responses = log.of("Network.responseReceived", ids)
        assert responses and responses[0]["response"]["status"] == 200
        first_bytes = sum(p["encodedDataLength"] for p in log.of("Network.loadingFinished", ids))
        from serving import bundle

        zipped = len(gzip.compress(bundle.source_path().read_bytes(), bundle.GZIP_LEVEL, mtime=0))
        assert first_bytes >= zipped, "the first visit fetched the (gzipped) bundle over the network"
        assert not errors, errors
        page.close()

        # Second visit, same browser profile: the bundle comes from the cache, not the network.
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        log = NetworkLog(page, path)
        page.goto(app_url + "/?speed=instant")
        h.wait_idle(page, timeout=90_000)
        h.wait_drawn(page, timeout=90_000)
        ids = log.bundle_ids()
        cached = {p["requestId"] for p in log.of("Network.requestServedFromCache", ids)} | {
            p["requestId"] for p in log.of("Network.responseReceived", ids)
            if p["response"].get("fromDiskCache") or p["response"].get("fromMemoryCache")}
        assert ids <= cached, "a request for the bundle went to the network on the second visit"
        assert sum(p["encodedDataLength"] for p in log.of("Network.loadingFinished", ids)) == 0
        assert page.evaluate("() => typeof window.Plotly === 'object' && window.Plotly !== null")
        assert not errors, errors
    finally:
        context.close()


# Records, in the page, the order in which the views were drawn and the panels under them appeared.
JS_ORDER = """(() => {
  window.__order = [];
  const seen = new Set();
  const note = (name, ok) => { if (ok && !seen.has(name)) { seen.add(name); window.__order.push(name); } };
  new MutationObserver(() => {
    const root = document.querySelector('.dv-root');
    note('views drawn', root && root.dataset.drawn === '1');
    note('panels', document.querySelector('.st-key-panel [role=tab]') !== null);
  }).observe(document, {subtree: true, childList: true, attributes: true});
})()"""


def test_the_panels_under_the_views_come_after_the_views_are_drawn(page, app_url):
    page.add_init_script(JS_ORDER)
    page.goto(app_url + "/?speed=instant")
    h.wait_drawn(page, timeout=90_000)
    page.get_by_role("tab", name="Summary table").wait_for(timeout=60_000)
    h.wait_idle(page, timeout=60_000)
    assert page.evaluate("() => window.__order") == ["views drawn", "panels"]
    assert page.locator(".dv-root").get_attribute("data-painted") == "1"
    assert not page.js_errors


def test_the_warm_up_opens_the_default_page_over_the_websocket(app_url):
    """The start-up warm-up's page open (serving.warm) speaks Streamlit's protocol to the server
    and sees the default page's script run to its end."""
    from serving import warm

    from concurrent.futures import ThreadPoolExecutor

    port = int(app_url.rsplit(":", 1)[1])
    # In a thread of its own, as the server runs it (Playwright's loop holds this one).
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(warm.warm_page, port).result(timeout=120) == "FINISHED_SUCCESSFULLY"


# The time (performance.now()) at which the descent view first said it was drawn.
JS_DRAWN_AT = """(() => {
  new MutationObserver((_, obs) => {
    const root = document.querySelector('.dv-root');
    if (root && root.dataset.drawn === '1') { window.__drawnAt = performance.now(); obs.disconnect(); }
  }).observe(document, {subtree: true, childList: true, attributes: true});
})()"""


def test_the_first_paint_fetches_no_streamlit_chunk_the_shell_did_not_preload(browser, app_url):
    """Streamlit imports each kind of element's code when its first message arrives, one round of
    fetches after another; the page shell names those files (serving/preload.py), so none of them
    is fetched by an import before the views are drawn (Chromium's resource timing: a module
    preload's initiator is "other", an import's is "script")."""
    from serving import preload

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.add_init_script(JS_DRAWN_AT)
        page.goto(app_url + "/?speed=instant")
        h.wait_drawn(page, timeout=90_000)
        page.wait_for_function("() => window.__drawnAt !== undefined")
        entries = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('/static/js/'))
            .map((e) => ({file: e.name.split('/').pop(), by: e.initiatorType, at: e.startTime}))""")
        drawn_at = page.evaluate("() => window.__drawnAt")
    finally:
        context.close()
    before = [e for e in entries if e["at"] < drawn_at]
    preloaded = set(preload.first_paint_chunks())
    assert preloaded and {e["file"] for e in before} >= preloaded, "the preloads were fetched"
    imported = [e["file"] for e in before if e["by"] == "script" and not e["file"].startswith("index.")]
    assert imported == [], f"fetched by an import before the views were drawn: {imported}"
