"""Each lesson at 1280×720 in presenter mode, as a projector shows it: its words end inside the
screen, its name is not cut in the menu, every run it sets up is drawn, and its specific claim
can be seen (clipping: only the unclipped run diverges; mini-batch noise: the batch-4 steps
leave the full-batch path; the bowl's map at equal scale). Screenshots of every lesson go to
tests/browser/screenshots/lesson_<key>.png. One server for the module."""

from __future__ import annotations

import math

import pytest

import browser_harness as h
from lab.lessons import LESSONS

VIEWPORT_HEIGHT = 720

# The sidebar's lesson box, the lesson menu's text and the runs drawn on the contour map.
JS_LESSON = """() => {
    const sidebar = document.querySelector('section[data-testid=stSidebar]');
    const boxes = [...sidebar.querySelectorAll('[data-testid=stVerticalBlockBorderWrapper], [data-testid=stVerticalBlock]')]
        .filter(e => e.innerText.includes('Watch for:'));
    const box = boxes.length ? boxes[boxes.length - 1].getBoundingClientRect() : null;
    const input = document.querySelector('.st-key-lesson input');
    const c = document.querySelector('.dv-root .dv-contour');
    const paths = c._fullData.filter(t => t.meta && t.meta.role === 'path').map(t => t.name);
    return {
        boxTop: box && box.top, boxBottom: box && box.bottom,
        sidebarScroll: (sidebar.querySelector('[data-testid=stSidebarContent]') || sidebar).scrollTop,
        menuText: input ? input.value : null,
        menuCut: input ? input.scrollWidth > input.clientWidth + 1 : null,
        paths,
    };
}"""

# Pixel positions on the contour map of a run's path as its overlay drew it up to the epoch on
# screen (role "path"), or of a static trace's points as Plotly placed them (role "steps").
JS_PIXELS = """([role, run]) => {
    const c = document.querySelector('.dv-root .dv-contour');
    const xa = c._fullLayout.xaxis, ya = c._fullLayout.yaxis;
    let xs, ys;
    if (role === 'path') {
        const drawn = document.querySelector('.dv-root').__descentView.onScreen('contour')
            .find(d => d.run === run);
        if (!drawn) return null;
        xs = drawn.x; ys = drawn.y;
    } else {
        const t = c._fullData.find(t => t.meta && t.meta.role === role && t.meta.run === run);
        if (!t) return null;
        xs = t.x; ys = t.y;
    }
    const out = [];
    for (let i = 0; i < xs.length; i++) {
        const x = Number(xs[i]), y = Number(ys[i]);
        if (xs[i] !== null && Number.isFinite(x) && Number.isFinite(y))
            out.push([xa.c2p(x) + xa._offset, ya.c2p(y) + ya._offset]);
    }
    return out;
}"""

JS_SCALE = """() => {
    const l = document.querySelector('.dv-root .dv-contour')._fullLayout;
    const span = (a) => Math.abs(a.range[1] - a.range[0]);
    return [l.xaxis._length / span(l.xaxis), l.yaxis._length / span(l.yaxis)];
}"""


# The loss plot's y labels (top, bottom) from top to bottom, its axis type and range, and the
# dotted tolerance line's level when the figure draws it.
JS_LOSS_AXIS = """() => {
    const c = document.querySelector('.dv-root .dv-loss');
    const texts = [...c.querySelectorAll('.ytick text')];
    const size = texts.length ? parseFloat(getComputedStyle(texts[0]).fontSize) : 0;
    const labels = texts.map(t => t.getBoundingClientRect())
        .filter(r => r.height > 0).map(r => (r.top + r.bottom) / 2).sort((a, b) => a - b);
    const ya = c._fullLayout.yaxis;
    const tol = c._fullData.find(t => t.meta && t.meta.role === 'tolerance');
    return {labels, size, type: ya.type, range: ya.range, tolerance: tol ? Number(tol.y[0]) : null,
            legend: [...c.querySelectorAll('.legendtext')].map(e => e.textContent)};
}"""


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def open_lesson(page, url: str, key: str) -> None:
    page.goto(f"{url}/?lesson={key}&present=1&speed=instant")
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    # the view reports its epoch once drawn, which may rerun the script: wait for that too
    page.wait_for_timeout(500)
    h.wait_idle(page, timeout=90_000)


def alerts(page) -> list[str]:
    return page.locator("[data-testid=stAlert]").all_inner_texts()


@pytest.mark.parametrize("key", list(LESSONS))
def test_each_lesson_fits_the_projector_and_draws_every_run(page, app_url, key):
    open_lesson(page, app_url, key)
    h.screenshot(page, f"lesson_{key}")
    lesson = LESSONS[key]
    seen = page.evaluate(JS_LESSON)
    # the words end inside the screen, without scrolling the sidebar
    assert seen["boxBottom"] is not None and seen["sidebarScroll"] == 0
    assert seen["boxBottom"] <= VIEWPORT_HEIGHT, f"the lesson box ends at {seen['boxBottom']:.0f} px"
    # the lesson's name is whole in the menu
    assert seen["menuText"] == lesson.title and not seen["menuCut"]
    # every run of the lesson is drawn, under its own label
    assert seen["paths"] == [run.label for run in lesson.config.runs]
    for run in range(len(lesson.config.runs)):
        assert page.evaluate(JS_PIXELS, ["path", run]), f"run {run} has no point on the map"
    loss = page.evaluate(JS_LOSS_AXIS)
    if loss["type"] == "log":  # its labels keep at least one label height (the type size) apart
        for above, below in zip(loss["labels"], loss["labels"][1:]):
            assert below - above >= 2 * loss["size"], loss
    if loss["tolerance"] is not None:  # a legend entry for the dotted line: the line is on the axis
        level = math.log10(loss["tolerance"]) if loss["type"] == "log" else loss["tolerance"]
        assert loss["range"][0] <= level <= loss["range"][1], loss
    # the lesson's run stays on the map at its η: no "leaves the plotted box" note before
    # playback gets there
    assert not [m for m in alerts(page) if "plotted box" in m]
    assert not page.js_errors


def test_clipping_draws_both_runs_and_only_the_unclipped_one_diverges(page, app_url):
    open_lesson(page, app_url, "clipping")
    clipped, unclipped = (run.label for run in LESSONS["clipping"].config.runs)
    assert page.evaluate(JS_LESSON)["paths"] == [clipped, unclipped]
    messages = {m for m in alerts(page) if "diverged" in m}  # (an alert and its container)
    assert len(messages) == 1 and f"{unclipped} diverged at epoch 4" in messages.pop()
    assert len(page.evaluate(JS_PIXELS, ["path", 0])) == LESSONS["clipping"].config.epochs + 1


def test_the_mini_batch_steps_leave_the_full_batch_path(page, app_url):
    open_lesson(page, app_url, "minibatch-noise")
    full = page.evaluate(JS_PIXELS, ["path", 0])
    steps = page.evaluate(JS_PIXELS, ["steps", 1])
    # 16 steps an epoch (64 samples, batch 4); a step that leaves the plotted box is not drawn
    assert steps and 0.98 * 1600 <= len(steps) <= 16 * LESSONS["minibatch-noise"].config.epochs

    def away(p):  # distance to the nearest dot of the full-batch path
        return min(math.dist(p, q) for q in full)

    distances = sorted(away(p) for p in steps)
    # many step dots sit clearly off the smooth path: more than a few pixels, more than a dot
    assert distances[-len(distances) // 10] > 6, distances[-10:]


def test_the_bowl_map_is_no_strip_and_says_how_it_is_stretched(page, app_url):
    """The bowl's box is 10 × 4: at equal scale in presenter mode it was a 280×110 strip. Its w2
    is drawn twice as long per unit instead, and the map says so."""
    open_lesson(page, app_url, "momentum-valley")
    x_scale, y_scale = page.evaluate(JS_SCALE)
    assert abs(y_scale / x_scale - 2) < 0.04
    size = page.evaluate("""() => { const l = document.querySelector('.dv-root .dv-contour')._fullLayout;
        return [l.xaxis._length, l.yaxis._length,
                [...document.querySelectorAll('.dv-root .dv-contour .annotation-text')].map(e => e.textContent)]; }""")
    assert size[1] >= 0.6 * size[0] and size[1] >= 180, size
    assert "w2 drawn ×2" in size[2]


def test_a_typed_function_heading_keeps_its_asterisks(page, app_url):
    page.goto(f"{app_url}/?surface=typed&speed=instant")
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    heading = page.locator("h3").first.inner_text()
    assert "sin(x)*cos(y) + 0.1*(x^2 + y^2)" in heading
    assert page.locator("h3 em, h3 i").count() == 0
