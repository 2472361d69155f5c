"""Class mode's teacher screen on a 1280×720 projector (issue 19, the reviewer's pass): a reload
keeps the teacher (the secret from the cookie the follower set, never from the address bar),
while a browser without the cookie opening the same address is a student; the teacher link's
secret is not on the page until the teacher asks for it; the class code and the whole student
link are legible; the three views stay in sight above the fold while a question is open."""

from __future__ import annotations

import os
import re

import pytest

import browser_harness as harness
from serving import ENTRY

SHOTS = os.environ.get("CLASS_SHOTS")  # a folder: save the pages' screenshots there to look at


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("class-data")
    old = os.environ.get("DESCENT_LAB_DATA")
    os.environ["DESCENT_LAB_DATA"] = str(data)
    try:
        with harness.run_streamlit(ENTRY) as url:
            yield url
    finally:
        if old is None:
            os.environ.pop("DESCENT_LAB_DATA", None)
        else:
            os.environ["DESCENT_LAB_DATA"] = old


def _page(browser, errors):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.on("pageerror", lambda err: errors.append(str(err)))
    return context, page


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def _teacher_page(browser, errors, url: str, query: str):
    context, teacher = _page(browser, errors)
    teacher.goto(f"{url}/?{query}")
    harness.wait_idle(teacher, 90_000)
    teacher.get_by_text(re.compile(r"Class [0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}")).first.wait_for(timeout=60_000)
    return context, teacher


def test_a_reload_keeps_the_teacher_and_the_secret_stays_off_the_page(browser, class_server):
    errors: list[str] = []
    contexts = []
    try:
        teacher_ctx, teacher = _teacher_page(browser, errors, class_server, "lesson=lr-too-large&class=new")
        contexts.append(teacher_ctx)
        assert not re.search(r"[?&]t=", teacher.url)
        code = re.search(r"class=([0-9A-Z]{9})", teacher.url).group(1)
        assert not re.search(r"[?&]t=", teacher.locator("[data-testid=stMain]").inner_text()), \
            "the teacher link's secret is not on the page before the teacher asks for it"
        teacher.wait_for_function(f"() => document.cookie.includes('dl_teacher_{code}=')", timeout=30_000)

        teacher.reload()
        harness.wait_idle(teacher, 90_000)
        teacher.get_by_role("button", name="Ask the class").wait_for(timeout=60_000)
        assert f"class={code}" in teacher.url and not re.search(r"[?&]t=", teacher.url)

        student_ctx, student = _page(browser, errors)
        contexts.append(student_ctx)
        student.goto(teacher.url)  # the projector's address, typed by a student
        harness.wait_idle(student, 90_000)
        student.get_by_text("You have joined").wait_for(timeout=60_000)
        assert student.get_by_role("button", name="Ask the class").count() == 0

        teacher.get_by_text("Teacher link (keep it to yourself)").click()
        teacher.get_by_text("Show it (the room will see it)").click()
        teacher.get_by_text(re.compile(r"[?&]t=")).first.wait_for(timeout=30_000)
        assert not errors, errors
    finally:
        for context in contexts:
            context.close()


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(
        "(e) => { const r = e.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, scroll: e.scrollWidth, client: e.clientWidth}; }")


def test_the_projector_shows_the_code_the_whole_link_and_the_views(browser, class_server):
    """At 1280×720 in presenter mode: the whole student link on screen (wrapped, not cut), the
    class panel one compact row at the start and at the reveal, so the views begin on screen
    with most of their height in sight."""
    errors: list[str] = []
    contexts = []
    try:
        teacher_ctx, teacher = _teacher_page(browser, errors, class_server,
                                             "lesson=lr-too-large&present=1&class=new")
        contexts.append(teacher_ctx)
        code = re.search(r"class=([0-9A-Z]{9})", teacher.url).group(1)
        link = teacher.locator("[data-testid=stCode] pre").first
        assert link.inner_text().replace("\n", "").strip().endswith(f"?class={code}")
        shown = _box(teacher, "[data-testid=stCode] pre")
        assert shown["scroll"] <= shown["client"] + 1 and shown["bottom"] <= 720, shown
        teacher.locator(harness.VIEW_ROOT).wait_for(timeout=60_000)
        harness.wait_idle(teacher, 60_000)
        _shot(teacher, "teacher_start")
        panel = _box(teacher, ".st-key-class_panel")
        assert panel["bottom"] <= 300, panel
        assert _box(teacher, harness.VIEW_ROOT)["top"] <= 720 - 300, "the views in sight"

        teacher.get_by_role("button", name="Ask the class").click()
        teacher.get_by_role("button", name="Reveal").wait_for(timeout=60_000)
        _shot(teacher, "teacher_question")
        teacher.get_by_role("button", name="Reveal").click()
        teacher.get_by_role("button", name="Next question").wait_for(timeout=60_000)
        harness.wait_drawn(teacher)
        harness.wait_idle(teacher, 60_000)  # the panel of the question gone, not stale
        _shot(teacher, "teacher_reveal")
        panel = _box(teacher, ".st-key-class_panel")
        assert panel["bottom"] <= 300, panel
        assert _box(teacher, harness.VIEW_ROOT)["top"] <= 720 - 300, "the run in sight at the reveal"
        assert not errors, errors
    finally:
        for context in contexts:
            context.close()
