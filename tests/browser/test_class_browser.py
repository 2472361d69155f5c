"""Done when (issue 19): a teacher on the projector and three students, four pages of one class,
go through ask → answer → reveal on ?lesson=lr-too-large; the teacher's screen shows the three
answers and the truth. The students' pages follow the teacher's through the class's JSON route
(no reload, no click of theirs), and never show the run before the reveal: while a question is
open their views hold it hidden, and the follower's poll of the reveal starts it playing, on the
class's clock, before their page's rerun brings the answers."""

from __future__ import annotations

import os
import re

import pytest

import browser_harness as harness
from serving import ENTRY

ANSWERS = ["diverges", "diverges", "stalls"]
SLOW_SECONDS = 4.0  # the view's slow playback, which the class uses so the reveal can be watched


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("class-data")
    old = os.environ.get("DESCENT_LAB_DATA")
    os.environ["DESCENT_LAB_DATA"] = str(data)
    try:
        with harness.run_streamlit(ENTRY) as url:
            yield url, data
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


def _text(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def _wait_text(page, pattern: str, timeout: float = 30_000) -> None:
    """Wait until the page's main column's text matches the regular expression."""
    page.wait_for_function(
        "(p) => { const m = document.querySelector('[data-testid=stMain]');"
        " return m && new RegExp(p).test(m.innerText); }", arg=pattern, timeout=timeout)


def _hidden_state(page) -> dict:
    """A student's view while the question is open: hidden, nothing drawn, no playback bar."""
    return page.evaluate("""() => {
        const root = document.querySelector('.dv-root');
        const view = root.__descentView;
        const drawn = ['surface3d', 'contour', 'loss'].map((v) => view.onScreen(v).length);
        return {hidden: root.dataset.hidden, drawn, updates: Number(root.dataset.updates || 0),
                playing: root.dataset.playing, epoch: Number(root.dataset.epoch),
                toolbar: getComputedStyle(root.querySelector('.dv-toolbar')).visibility,
                loss: getComputedStyle(root.querySelector('.dv-loss')).visibility}; }""")


def test_teacher_and_three_students_ask_answer_reveal(browser, class_server):
    class_server, _ = class_server
    errors: list[str] = []
    contexts = []
    try:
        teacher_ctx, teacher = _page(browser, errors)
        contexts.append(teacher_ctx)
        teacher.goto(f"{class_server}/?lesson=lr-too-large&speed=slow&class=new")
        harness.wait_idle(teacher, 90_000)
        teacher.get_by_text(re.compile(r"Class [0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}")).wait_for(timeout=60_000)
        student_link = teacher.locator("[data-testid=stCode]").first.inner_text().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?class=[0-9A-Z]{9}", student_link), student_link
        assert teacher.locator("[data-testid=stImage] img").count() == 1, "the QR code"
        assert "class=" in teacher.url and not re.search(r"[?&]t=", teacher.url), \
            "the secret stays off the projector"

        students = []
        for _ in ANSWERS:
            ctx, page = _page(browser, errors)
            contexts.append(ctx)
            page.goto(student_link)
            harness.wait_idle(page, 90_000)
            page.get_by_text("You have joined").wait_for(timeout=60_000)
            assert page.locator(harness.VIEW_ROOT).count() == 0, "no run before the reveal"
            students.append(page)
        _wait_text(teacher, r"Joined\s*3")  # the teacher's follower saw them join

        teacher.get_by_role("button", name="Ask the class").click()
        teacher.get_by_text("Reveal", exact=True).wait_for(timeout=60_000)
        assert teacher.locator(harness.VIEW_ROOT).count() == 0, "the projector hides the run too"

        for page, answer in zip(students, ANSWERS):
            # The follower sees the new question and reruns the page: nobody reloads or clicks.
            page.get_by_text("what will the run do?").wait_for(timeout=30_000)
            page.locator("[data-testid=stRadio] label").filter(has_text=answer).click()
            page.get_by_role("button", name="Send").click()
            page.get_by_text(f"Your answer: {answer}").wait_for(timeout=30_000)
            harness.wait_drawn(page)  # the view came with the run, hidden
        hidden = []
        for page in students:
            harness.wait_idle(page, 60_000)
            state = _hidden_state(page)
            assert state["hidden"] == "1" and state["drawn"] == [0, 0, 0], state
            assert state["playing"] == "false" and state["epoch"] == 0, state
            assert state["toolbar"] == "hidden" and state["loss"] == "hidden", state
            assert page.locator("[data-testid=stAlert]").filter(
                has_text=re.compile("diverged at epoch")).count() == 0, "no run's message before the reveal"
            hidden.append(state["updates"])
        _wait_text(teacher, r"3 of 3")

        teacher.get_by_role("button", name="Reveal").click()
        # Each student's view shows the run when its follower's poll sees the reveal: by the
        # window event, with the message it already held (no update applied since it was hidden),
        # and it plays (the epoch moves) on the class's clock.
        for page, updates in zip(students, hidden):
            page.wait_for_function(
                """() => { const r = document.querySelector('.dv-root');
                    return r && r.dataset.hidden === '0' && Number(r.dataset.epoch) > 0; }""",
                timeout=30_000)
            state = harness.view_state(page)
            assert state["revealedBy"] == "event", state
            assert int(state["revealedAtUpdate"]) == updates, (state, updates)
            assert page.locator(".class-follow").get_attribute("data-class-revealed") == "q1"
        teacher.get_by_text("2 of 3 right").wait_for(timeout=60_000)
        text = _text(teacher)
        assert "The run diverges." in text, "the truth"
        # The bar chart of the three answers: 2 diverges (the truth, green), 1 stalls.
        bars = teacher.evaluate("""() => {
            const plots = [...document.querySelectorAll('.js-plotly-plot')];
            for (const p of plots) for (const t of (p.data || []))
                if (t.type === 'bar') return {x: t.x, y: t.y, colors: t.marker.color};
            return null; }""")
        assert bars is not None and list(bars["x"]) == ["converges", "diverges", "stalls"]
        assert list(bars["y"]) == [0, 2, 1]
        harness.wait_drawn(teacher)  # the reveal plays the run on the projector
        for page, answer, updates in zip(students, ANSWERS, hidden):
            page.get_by_text("2 of 3 right").wait_for(timeout=30_000)
            harness.wait_drawn(page)  # ... and on every student's page
            harness.wait_idle(page, 30_000)
            after = harness.view_state(page)
            assert after["hidden"] == "0", "the rerun's message (the same as before) keeps it shown"
            # The rerun's view message is the one the page has (a reference): nothing redrawn.
            assert int(after["updates"]) == updates, (after, updates)
        # In step: at one moment every screen shows the same epoch, within a second's worth of
        # epochs (the slow playback runs all its epochs in SLOW_SECONDS), however late each page
        # got the reveal: each starts at the class's clock.
        pages = [teacher, *students]
        for _ in range(5):
            shown = [harness.view_state(p) for p in pages]
            epochs = int(shown[0]["epochs"])
            now = [int(state["epoch"]) for state in shown]
            assert max(now) - min(now) <= epochs / SLOW_SECONDS + 1, (now, epochs)
            word = "was right" if answer == "diverges" else "was not right this time"
            assert word in _text(page)
        harness.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        teacher.screenshot(path=str(harness.SCREENSHOTS / "class_reveal_teacher.png"))
        students[2].screenshot(path=str(harness.SCREENSHOTS / "class_reveal_student.png"))
        assert not errors, errors
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_student_answers_a_point_by_clicking_the_map(browser, class_server):
    """A point question: a click on the student's map (no run on it) is the answer, at the
    clicked place."""
    from classroom.classes import Classroom
    from classroom.questions import resolve
    from classroom.store import SQLiteStore
    from lab import lessons

    url, data = class_server
    room = Classroom(SQLiteStore(data / "classes.sqlite3"))
    started = room.start({"lesson": "local-minima"})
    lesson = lessons.get("local-minima")
    question = resolve(lessons.WHERE_WILL_IT_END, lesson.config)
    room.ask(started.code, started.secret, question)
    errors: list[str] = []
    context, page = _page(browser, errors)
    try:
        page.goto(f"{url}/?class={started.code}")
        harness.wait_idle(page, 90_000)
        page.get_by_text("Where will the blue run end?").wait_for(timeout=60_000)
        harness.wait_drawn(page)
        assert harness.view_state(page)["hidden"] == "1", "the run is on the page, hidden"
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        x, y, width, height = page.evaluate("""() => {
            const r = document.querySelector('.js-plotly-plot .nsewdrag').getBoundingClientRect();
            return [r.x, r.y, r.width, r.height]; }""")
        page.mouse.click(x + 0.8 * width, y + 0.25 * height)  # 80 % across, a quarter down
        page.get_by_text("Your answer: (").wait_for(timeout=30_000)
        room.reveal(started.code, started.secret)
        [answer] = room.results(started.code).answers
        (x0, x1), (y0, y1) = question["box"]
        step = (x1 - x0) / 40  # the map's clickable grid
        assert abs(answer[0] - (x0 + 0.8 * (x1 - x0))) <= step
        assert abs(answer[1] - (y1 - 0.25 * (y1 - y0))) <= step
        assert not errors, errors
    finally:
        context.close()
