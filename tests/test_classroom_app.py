"""Class mode's pages in AppTest (real Streamlit, real SQLite store): a teacher and three students
go through ask → answer → reveal; a student never sees the run before the reveal; a forged
teacher key is a student; an unreachable store leaves a normal page with a message."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import classroom_redis
from app_pages import open_app


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DESCENT_LAB_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("DESCENT_LAB_STORE", raising=False)


def _open(**query) -> AppTest:
    return open_app(query, timeout=90)


def _has_view(at) -> bool:
    return any(e.proto.bytes for e in at.get("bidi_component"))


def _view_animation(at) -> dict | None:
    """The descent view's playback settings as sent, or None without a view."""
    from ui.descent_view import MAGIC, decode

    for e in at.get("bidi_component"):
        if e.proto.bytes[:4] == MAGIC:
            return decode(e.proto.bytes)["animation"]
    return None


def _view_bytes(at) -> bytes | None:
    from ui.descent_view import MAGIC

    return next((e.proto.bytes for e in at.get("bidi_component") if e.proto.bytes[:4] == MAGIC), None)


def _run_hidden_for(at, qid: str) -> bool:
    """The student's view carries the run hidden until question `qid`'s reveal, with nothing
    above or under it that tells the run (no divergence message, no panels)."""
    animation = _view_animation(at)
    return (animation is not None and animation.get("hidden") == qid and "started_at" not in animation
            and not any("diverge" in str(e.value).lower() for e in at.error)
            and not at.get("tab"))


def _texts(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "success", "info", "warning", "error")
                    for e in getattr(at, kind))


def teacher_link_holds(at, code: str, secret: str) -> bool:
    """The folded teacher link in the panel carries the code and the secret."""
    return any(f"class={code}" in str(c.value) and f"t={secret}" in str(c.value) for c in at.code)


def _send(at, button_label="Send"):
    [button] = [b for b in at.button if b.label == button_label]
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_teacher_and_three_students_ask_answer_reveal():
    teacher = _open(lesson="lr-too-large", **{"class": "new"})
    code, secret = teacher.session_state["class_code"], teacher.session_state["class_secret"]
    assert f"Class {code[:3]}-{code[3:6]}-{code[6:]}" in _texts(teacher)
    assert teacher.query_params["class"] == code
    assert "t" not in teacher.query_params, "the secret never shows in the projector's address bar"
    assert not any(secret in str(c.value) for c in teacher.code), "the secret is not on the page"
    teacher.toggle(key="class_show_teacher_link").set_value(True).run()
    assert teacher_link_holds(teacher, code, secret), "shown when the teacher asks for it"
    assert len(teacher.get("image")) == 1, "the QR code for the projector"
    assert _has_view(teacher), "no question open yet: the teacher's page is a normal page"

    students = [_open(**{"class": code.lower()}) for _ in range(3)]
    for s in students:
        assert not _has_view(s), "no question yet: the student waits on the map"
        assert "Reveal" not in [b.label for b in s.button]
        assert s.session_state["lesson"] == "lr-too-large", "the student takes the teacher's page"
    teacher.run()
    assert teacher.metric[0].value == "3"

    teacher.selectbox(key="class_question").set_value(0)
    teacher.button(key="class_ask").click().run()
    assert not _has_view(teacher), "while the class predicts, the projector hides the run too"
    qid = "q1"
    for s, answer in zip(students, ["diverges", "diverges", "stalls"]):
        s.run()
        assert "what will the run do" in _texts(s).lower()
        s.radio(key=f"class_choice_{qid}").set_value(answer)
        _send(s)
        assert f"Your answer: {answer}" in _texts(s)
        assert _run_hidden_for(s, qid), "the run comes hidden: shown by the follower at the reveal"
    hidden_message = _view_bytes(students[0])
    teacher.run()
    assert "3 of 3" in [m.value for m in teacher.metric]

    teacher.button(key="class_reveal").click().run()
    assert "2 of 3 right" in _texts(teacher) and "The run diverges" in _texts(teacher)
    assert _has_view(teacher), "the reveal plays the run"
    bars = teacher.get("plotly_chart")[-1].proto.spec
    assert '"y":[0,2,1]' in bars.replace(" ", "") or "[0, 2, 1]" in bars
    for s, right in zip(students, [True, True, False]):
        s.run()
        assert _has_view(s)
        assert ("was right" in _texts(s)) == right
        # The view's message is the one sent while the question was open (a reference to it, no
        # redraw): the follower's reveal event already plays it; the rest of the page is shown.
        assert _view_bytes(s) == hidden_message
        assert any("diverge" in str(e.value).lower() for e in s.error), "the run's message at the reveal"
        [follow] = [e for e in s.get("bidi_component") if e.proto.component_name.endswith("class_follow")]
        assert '"question": "q1"' in follow.proto.json or '"question":"q1"' in follow.proto.json
    csv = teacher.session_state["class_code"]  # the export button exists for the teacher only
    assert csv and any(e.proto.label == "Answers (CSV)" for e in teacher.get("download_button"))
    assert not any(True for e in students[0].get("download_button")
                   if e.proto.label == "Answers (CSV)")


def test_a_forged_teacher_key_is_a_student():
    teacher = _open(lesson="lr-too-large", **{"class": "new"})
    code = teacher.session_state["class_code"]
    forged = _open(**{"class": code, "t": "not-the-secret"})
    assert "does not belong to that class" in _texts(forged)
    assert "class_ask" not in [b.key for b in forged.button]
    assert not forged.session_state["class_secret"]


def test_a_code_that_is_no_class_leaves_a_normal_page():
    at = _open(lesson="lr-too-large", **{"class": "ZZZZZZZZZ"})
    assert "There is no class ZZZZZZZZZ" in _texts(at) and _has_view(at)
    at = _open(**{"class": "<b>x</b>"})
    assert "not a class code" in _texts(at) and _has_view(at)


def test_an_unreachable_store_tells_the_teacher_and_the_page_goes_on(monkeypatch):
    monkeypatch.setenv("DESCENT_LAB_STORE", f"redis://127.0.0.1:{classroom_redis.free_port()}/0")
    at = _open(lesson="lr-too-large", **{"class": "new"})
    assert "Class mode is not available right now" in _texts(at)
    assert _has_view(at), "the page goes on as a normal page"


def _teacher_asks(lesson: str, index: int):
    teacher = _open(lesson=lesson, **{"class": "new"})
    teacher.selectbox(key="class_question").set_value(index)
    teacher.button(key="class_ask").click().run()
    assert not teacher.exception, [e.value for e in teacher.exception]
    return teacher, teacher.session_state["class_code"]


def test_a_point_answer_typed_and_a_number_answer():
    teacher, code = _teacher_asks("local-minima", 1)  # "Where will the run end?"
    student = _open(**{"class": code})
    assert "Where will the run end" in _texts(student)
    student.number_input(key="class_x_q1").set_value(-3.5)
    student.number_input(key="class_y_q1").set_value(-3.0)
    _send(student)
    assert "Your answer: (-3.5, -3)" in _texts(student)
    teacher.button(key="class_reveal").click().run()
    assert "1 of 1 right" in _texts(teacher), "(-3.5, -3) lies within the circle around (-3.78, -3.28)"
    spec = teacher.get("plotly_chart")[-1].proto.spec
    assert "the class's answers" in spec and "the truth" in spec

    teacher, code = _teacher_asks("lr-too-large", 1)  # "At which epoch … divergence?"
    student = _open(**{"class": code})
    from classroom.questions import resolve
    from lab import lessons

    lesson = lessons.get("lr-too-large")
    truth = resolve(lesson.questions[1], lesson.config)["truth"]  # the engine's epoch
    student.number_input(key="class_number_q1").set_value(truth + 1)
    _send(student)
    teacher.button(key="class_reveal").click().run()
    assert "1 of 1 right" in _texts(teacher)


def test_an_answer_after_the_reveal_is_refused_on_the_page():
    teacher, code = _teacher_asks("lr-too-large", 0)
    student = _open(**{"class": code})
    student.radio(key="class_choice_q1").set_value("converges")
    teacher.button(key="class_reveal").click().run()
    _send(student)  # the form was filled before the reveal and sent after it
    assert "0 of 0 right" in _texts(student) or "closed" in _texts(student)
    teacher.run()
    assert "0 of 0 right" in _texts(teacher), "the late answer was not stored"


def test_two_teacher_screens_one_reveal_no_exception():
    """The teacher link opened on a second screen: both can act; the second Reveal finds the
    question already revealed and says so, without an exception on the page."""
    first, code = _teacher_asks("lr-too-large", 0)
    secret = first.session_state["class_secret"]
    second = _open(**{"class": code, "t": secret})
    assert "class_reveal" in [b.key for b in second.button], "the teacher link gives the teacher's screen"
    first.button(key="class_reveal").click().run()
    second.button(key="class_reveal").click().run()
    assert not second.exception
    assert "no open question to reveal" in _texts(second) or "right" in _texts(second)


def test_a_redis_restart_mid_class_on_the_pages(monkeypatch):
    """The hostile campaign's restart, seen from the pages: while Redis is down every page says
    so and goes on (no exception); after it comes back (its append-only file kept the class),
    the student answers and the teacher reveals it."""
    reason = classroom_redis.available()
    if reason:
        classroom_redis.skip_or_fail(reason)
    with classroom_redis.redis_server(persist=True) as server:
        monkeypatch.setenv("DESCENT_LAB_STORE", server.url)
        teacher, code = _teacher_asks("lr-too-large", 0)
        student = _open(**{"class": code})
        server.stop()
        for page in (student, teacher):
            page.run()
            assert not page.exception, [e.value for e in page.exception]
            assert "Class mode is not available right now" in _texts(page)
            assert _has_view(page), "the page goes on as a normal page"
        server.start()
        student.run()
        student.radio(key="class_choice_q1").set_value("diverges")
        _send(student)
        assert "Your answer: diverges" in _texts(student)
        teacher.run()
        teacher.button(key="class_reveal").click().run()
        assert "1 of 1 right" in _texts(teacher)


def test_network_mode_in_a_class_has_no_questions_and_no_exception():
    teacher = _open(mode="network", **{"class": "new"})
    code = teacher.session_state["class_code"]
    assert "Questions are asked on the surface pages" in _texts(teacher)
    student = _open(**{"class": code})
    assert student.session_state["mode"] == "network", "the student follows the teacher's page"
    assert not student.exception and "You have joined" in _texts(student)


def _buttons(at) -> list[str]:
    return [b.key for b in at.button]


@pytest.mark.parametrize("lesson, answer, present", [
    ("lr-just-right", "near epoch 90", "1"), ("local-minima", "(−3.78, −3.28)", "0"),
    ("lr-too-large", "divergence", "1")])  # its title's "…: divergence" too
def test_the_lessons_words_wait_for_the_reveal(lesson, answer, present):
    """The lesson's explanation states the run's outcome: in a class, neither the projector (the
    sidebar's box in presenter mode, the page's box without) nor a student shows it before the
    reveal; only the title and a neutral line. After the reveal both show it again."""
    from lab import lessons

    lesson_text = lessons.get(lesson)
    assert answer in lesson_text.title + lesson_text.explanation + lesson_text.watch_for
    teacher = _open(lesson=lesson, present=present, **{"class": "new"})
    assert answer not in _texts(teacher) and "Predict first" in _texts(teacher)
    code = teacher.session_state["class_code"]
    student = _open(**{"class": code})
    assert answer not in _texts(student)  # waiting: the map board, the sidebar's title alone
    teacher.selectbox(key="class_question").set_value(0)
    teacher.button(key="class_ask").click().run()
    student.run()
    for page in (teacher, student):
        assert not page.exception, [e.value for e in page.exception]
        assert answer not in _texts(page)  # (the lesson menu still names every lesson in full)
        assert "Predict first" in _texts(page) or page is teacher and present == "0", "the title stays"
    teacher.button(key="class_reveal").click().run()
    student.run()
    for page in (teacher, student):
        assert answer in _texts(page) and "Predict first" not in _texts(page)


def test_a_class_starts_with_the_run_held_on_the_projector():
    """?class=new does not play the run under the class panel: the teacher's view holds it (no
    playback, no paths, no divergence message, no panels) until a reveal plays it."""
    teacher = _open(lesson="lr-too-large", present="1", **{"class": "new"})
    animation = _view_animation(teacher)
    assert animation is not None and str(animation.get("hidden", "")).startswith("waiting")
    assert "started_at" not in animation
    assert not any("diverge" in str(e.value).lower() for e in teacher.error) and not teacher.get("tab")
    teacher.selectbox(key="class_question").set_value(0)
    teacher.button(key="class_ask").click().run()
    teacher.button(key="class_reveal").click().run()
    animation = _view_animation(teacher)
    assert "hidden" not in animation and "started_at" in animation, "the reveal plays it"
    assert any("diverge" in str(e.value).lower() for e in teacher.error)


def test_start_a_class_is_for_the_teacher_only_and_asks_first():
    teacher = _open(lesson="lr-too-large", **{"class": "new"})
    code = teacher.session_state["class_code"]
    student = _open(**{"class": code})
    assert not {"class_start", "class_new"} & set(_buttons(student)), "a student starts no class"
    assert "class_start" not in _buttons(teacher) and "class_new" in _buttons(teacher)
    teacher.button(key="class_new").click().run()
    assert "class_start" in _buttons(teacher) and "Start a new class?" in _texts(teacher)
    teacher.button(key="class_new_cancel").click().run()
    assert "class_start" not in _buttons(teacher) and teacher.session_state["class_code"] == code
    teacher.button(key="class_new").click().run()
    teacher.button(key="class_start").click().run()
    assert not teacher.exception, [e.value for e in teacher.exception]
    assert teacher.session_state["class_code"] != code, "confirmed: a new class"
    plain = _open(lesson="lr-too-large")
    assert "class_start" in _buttons(plain), "without a class: Start a class"
