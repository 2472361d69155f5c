"""The descent view in a real browser: it draws, keeps the camera, sends clicks, plays back.

Runs tests/pages/chart_demo.py (two runs of descent on Himmelblau's function) in headless
Chromium with software WebGL."""

from __future__ import annotations

import re
import time

import browser_harness as h

SPEED_INSTANT = "/?speed=instant&epochs=60"


def open_demo(page, url: str, query: str = SPEED_INSTANT) -> dict:
    page.goto(url + query)
    h.wait_idle(page)
    h.wait_drawn(page)
    return h.view_state(page)


def test_all_three_views_draw(page, demo_url):
    state = open_demo(page, demo_url)
    assert state["epoch"] == state["epochs"] == "60"
    png = h.screenshot(page, "draw_1280x720")

    # The 3D surface is WebGL: a blank or failed canvas would leave the plot area white.
    box3d = h.element_box(page, ".dv-surface3d")
    assert h.colourful_fraction(png, box3d) > 0.15
    # The filled contour and the loss lines are SVG.
    assert page.locator(".dv-contour .contourlayer path").count() > 10
    # Two loss lines, each the whole run (drawn on the overlay over the loss axes).
    assert [run["n"] for run in h.on_screen(page, "loss")] == [61, 61]
    assert h.colourful_fraction(png, h.element_box(page, ".dv-contour")) > 0.3
    # Each run's whole path is shown at the last epoch, with its head.
    assert h.trace_lengths(page, "surface3d") == [61, 1, 61, 1]
    assert h.visible_points(page, "contour") == [61, 1, 61, 1]
    assert page.locator(".dv-label").inner_text() == "Epoch 60 / 60"
    assert not page.js_errors


def test_rotated_camera_survives_a_rerun(page, demo_url):
    state = open_demo(page, demo_url)
    before = h.camera(page)["eye"]

    box = h.element_box(page, ".dv-surface3d")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(cx + 14 * step, cy + 4 * step)
    page.mouse.up()
    page.wait_for_function(
        "(eye) => { const c = document.querySelector('.dv-surface3d')._fullLayout.scene.camera.eye;"
        " return Math.abs(c.x - eye.x) + Math.abs(c.y - eye.y) + Math.abs(c.z - eye.z) > 0.1; }",
        arg=before)
    rotated = h.camera(page)["eye"]
    path_before = h.path_x(page, "surface3d")[5]

    # A new learning rate: a new computation, new data, the same plots.
    h.move_slider(page, "learning_rate", presses=3)
    page.wait_for_function(
        "(token) => document.querySelector('.dv-root').dataset.token !== token",
        arg=state["token"])
    h.wait_idle(page)
    h.wait_drawn(page, min_updates=2)
    h.screenshot(page, "camera_after_rerun")

    after = h.camera(page)["eye"]
    for axis in "xyz":
        assert abs(after[axis] - rotated[axis]) < 1e-6, (axis, rotated, after)
    path_after = h.path_x(page, "surface3d")[5]
    assert path_after != path_before  # the data really changed under the kept camera
    # Rotating the 3D view is not a click on the map.
    assert page.get_by_text("clicks: 0").count() == 1


def test_click_on_contour_sends_the_point_and_drag_does_not(page, demo_url):
    open_demo(page, demo_url)
    # Where to click, and the data coordinates Plotly's axes give for that pixel.
    target = page.evaluate("""() => {
        const gd = document.querySelector('.dv-contour');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const box = gd.getBoundingClientRect();
        const px = 0.3 * xa._length, py = 0.25 * ya._length;
        return {x: box.left + xa._offset + px, y: box.top + ya._offset + py,
                dx: xa.p2d(px), dy: ya.p2d(py)};
    }""")
    page.mouse.click(target["x"], target["y"])
    page.get_by_text("clicked:").wait_for(timeout=15_000)
    h.wait_idle(page)
    h.wait_drawn(page, min_updates=2)
    h.screenshot(page, "after_contour_click")

    text = page.get_by_text("clicked:").inner_text()
    x, y = map(float, re.findall(r"-?\d+\.\d+", text))
    assert abs(x - target["dx"]) < 0.1 and abs(y - target["dy"]) < 0.1, (text, target)
    # on_click ran before the rerun, so the start point the page computed from is the click.
    start = page.get_by_text("start:").inner_text()
    sx, sy = map(float, re.findall(r"-?\d+\.\d+", start))
    assert (round(sx, 4), round(sy, 4)) == (x, y)
    assert page.get_by_text("clicks: 1").count() == 1

    # A drag on the map zooms and sends no click.
    updates = int(h.view_state(page)["updates"])
    box = h.element_box(page, ".dv-contour")
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    page.mouse.down()
    for step in range(1, 8):
        page.mouse.move(box["x"] + box["width"] * (0.4 + 0.04 * step),
                        box["y"] + box["height"] * (0.4 + 0.04 * step))
    page.mouse.up()
    time.sleep(1.5)
    h.wait_idle(page)
    assert page.get_by_text("clicks: 1").count() == 1
    assert int(h.view_state(page)["updates"]) == updates
    zoomed = page.evaluate("() => document.querySelector('.dv-contour')._fullLayout.xaxis.range")
    assert zoomed[1] - zoomed[0] < 9.0  # the drag did zoom in (the full range is 10)


def sample_epochs(page, seconds: float) -> list[int]:
    """The epoch shown, sampled in the page every 100 ms."""
    return page.evaluate("""(ms) => new Promise(resolve => {
        const out = [], root = document.querySelector('.dv-root'), t0 = performance.now();
        const id = setInterval(() => {
            out.push(Number(root.dataset.epoch));
            if (performance.now() - t0 >= ms) { clearInterval(id); resolve(out); }
        }, 100);
    })""", seconds * 1000)


def test_playback_advances_pauses_and_scrubs(page, demo_url):
    # A new computation plays by itself from epoch 0 to the end.
    open_demo(page, demo_url, "/?speed=slow&epochs=150")  # slow: 4 s for the whole run
    page.wait_for_function(
        "() => { const d = document.querySelector('.dv-root').dataset;"
        " return d.playing === 'false' && d.epoch === d.epochs; }", timeout=15_000)
    assert int(h.view_state(page)["framesContour"]) > 1  # it went through intermediate epochs
    assert h.visible_points(page, "contour") == [151, 1, 151, 1]
    # The 3D dots are drawn in the same frame as the 2D views.
    assert h.trace_lengths(page, "surface3d") == [151, 1, 151, 1]

    # Scrub with the keyboard: every view and every run follow the one epoch slider.
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    for _ in range(5):
        slider.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.dv-root').dataset.epoch === '5'")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert h.visible_points(page, "contour") == [6, 1, 6, 1]
    assert h.trace_lengths(page, "surface3d") == [6, 1, 6, 1]
    assert page.locator(".dv-label").inner_text() == "Epoch 5 / 150"
    h.screenshot(page, "scrubbed_epoch_5")

    # Play (Space on the slider) goes on from there and advances; Pause holds the epoch.
    slider.press(" ")
    epochs = sample_epochs(page, 0.5)
    assert h.view_state(page)["playing"] == "true"
    assert epochs == sorted(epochs) and epochs[-1] > 5 and len(set(epochs)) >= 2, epochs
    page.locator(".dv-play").click()
    state = h.view_state(page)
    assert state["playing"] == "false"
    assert set(sample_epochs(page, 0.5)) == {int(state["epoch"])}
    h.screenshot(page, "paused")
    assert not page.js_errors
