"""In the browser: network mode draws the edge-of-stability chart under the views, with the
sentence saying what to look for."""

from __future__ import annotations

import browser_harness as harness


def test_network_mode_shows_sharpness_beside_two_over_eta(streamlit_server, page):
    url = streamlit_server("app.py")
    page.goto(f"{url}/?mode=network&data=noisy_sine&act=tanh&opt=sgd&lr=0.1&epochs=300&batch=full")
    harness.wait_idle(page, timeout=90_000)
    chart = page.locator(".stPlotlyChart").filter(has_text="Edge of stability").first
    chart.wait_for(timeout=90_000)
    chart.scroll_into_view_if_needed()
    assert page.get_by_text("What to look for").first.is_visible()
    legend = chart.inner_text()
    assert "SGD: sharpness" in legend and "SGD: 2/η" in legend
    harness.screenshot(page, "edge_of_stability")
    # The fitted curve's frames (a regression data set) play without errors in the view.
    page.wait_for_function("() => Number(document.querySelector('.dv-root').dataset.framesContour) > 0")
    assert not page.js_errors
