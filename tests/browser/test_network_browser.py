"""Network mode in Chromium: the held-out loss is drawn beside each run's training line in the
loss view and follows the epoch slider, dot by dot; the held-out share slider puts test= in the
address bar."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

import browser_harness as h
from surfaces import datasets

QUERY = "/?mode=network&data=two_moons&hidden=8&opt=adam&lr=0.03&epochs=40&speed=instant"


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def _loss_runs(page) -> list[dict]:
    return h.on_screen(page, "loss")


def test_the_held_out_loss_follows_the_epoch_beside_the_training_line(page, app_url):
    page.goto(app_url + QUERY)
    h.wait_idle(page, timeout=120_000)
    h.wait_drawn(page, timeout=120_000)
    legend = page.evaluate("() => [...document.querySelectorAll('.dv-loss .legendtext')]"
                           ".map(t => t.textContent)")
    assert legend == ["Adam", "Adam · held out"]
    runs = _loss_runs(page)
    assert len(runs) == 2  # the training line and the held-out dots
    assert runs[0]["n"] == runs[1]["n"] == 41  # every epoch drawn, both
    training, held = runs[0]["y"], runs[1]["y"]
    assert training != held  # two curves, not one drawn twice
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    for _ in range(10):
        slider.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.dv-root').__descentView"
                           ".onScreen('loss')[1].n === 11")
    runs = _loss_runs(page)
    assert runs[0]["n"] == 11 and runs[0]["head"] is not None
    assert runs[1]["head"] is None  # the held-out curve has no moving head of its own
    png = h.screenshot(page, "network_held_out_epoch10")
    assert h.colourful_fraction(png, h.element_box(page, ".dv-loss")) > 0.002
    assert not page.js_errors


def test_the_held_out_share_goes_into_the_link(page, app_url):
    page.goto(app_url + QUERY)
    h.wait_idle(page, timeout=120_000)
    h.move_slider(page, "net_test", presses=1, key_name="ArrowRight")
    page.wait_for_function("() => location.search.includes('test=0.3')", timeout=60_000)
    h.wait_idle(page, timeout=120_000)
    query = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert query["test"] == "0.3" and query["mode"] == "network"
    n = datasets.held_out_size(len(datasets.load("two_moons")[1]), 0.3)
    assert page.get_by_text(f"Held out: {n} samples (30% of all)").count() == 1
    assert not page.js_errors
