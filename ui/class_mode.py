"""Class mode on the page: the teacher's panel (codes, links, QR code, ask, reveal, next, export)
and the student's page (the question, an answer, then the reveal), over classroom/. A store that
cannot be reached leaves a normal page with a message; a student never sees the run before the
reveal."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from urllib.parse import unquote, urlencode

import numpy as np
import streamlit as st

from classroom import classes, questions
from classroom.classes import Classroom, NoClass, Refused
from classroom.routes import PATH as STATE_PATH
from classroom.store import StoreUnavailable, data_dir, open_store
from figures import classroom as class_figures
from lab import lessons, link
from lab import runs as lab_runs
from ui import sidebar

START_BUTTON = "class_start"  # the sidebar's "Start a class" button (ui/sidebar.py)
_CODE, _SECRET, _STUDENT = "class_code", "class_secret", "class_student"
_START, _SEEN_PAGE, _JOINED, _NOTICE = "class_start_asked", "class_seen_page", "class_joined", "class_notice"
_SESSION, _ELAPSED, _HIDE = "class_session", "class_elapsed", "class_hide"
_FROM_COOKIE, _SHOW_TEACHER_LINK = "class_secret_from_cookie", "class_show_teacher_link"
POLL_MS = 1500
# A student's rerun after the reveal (the class's answers and the truth) waits until every page's
# poll has seen the reveal (1.5 poll intervals after it) and then a random 0-3 s, so 200 of them
# neither land at once nor delay the polls: the run already plays, started by the follower.
SPREAD_MS = 3000
RESULTS_HEIGHT = 170  # px: the results beside their words, the run's views still on a projector
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "class_follow"

_follow = st.components.v2.component(
    "descent_lab_class_follow",
    html='<span class="class-follow" hidden></span>',
    js=(ASSET_DIR / "class_follow.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # a plain element in the page, that tests can find
)


@st.cache_resource(show_spinner=False)
def _shared_classroom(url: str, data: str) -> Classroom:
    # Not cached when the store fails (cache_resource keeps no exception): the next rerun retries.
    return Classroom(open_store(url))


def _room() -> Classroom:
    return _shared_classroom(os.environ.get("DESCENT_LAB_STORE", ""), str(data_dir()))


def _session_id() -> str:
    ss = st.session_state
    if _SESSION not in ss:
        ss[_SESSION] = classes.new_student_id()
    return ss[_SESSION]


# --- The link ---------------------------------------------------------------------------------


def read_class_link() -> None:
    """Before the page's link is read: take ?class=CODE (&t=SECRET) or ?class=new out of the
    address bar into the session, so the link's parser does not see them."""
    params = st.query_params
    if "class" not in params and "t" not in params:
        return
    ss = st.session_state
    asked, secret = params.get("class", ""), params.get("t", "")
    if asked.strip().lower() == "new":
        ss[_START] = True
    elif asked:
        code = classes.clean_code(asked)
        if code is not None and not secret and code != ss.get(_CODE):
            # A reload of the teacher's page (the address bar holds only ?class=CODE): the secret
            # from the cookie its follower set for this class; checked in render like a link's.
            secret = unquote(str(_teacher_cookie(code) or ""))
            ss[_FROM_COOKIE] = bool(secret)
        if code is None:
            ss[_NOTICE] = "That link's class code is not one: the page opens as usual."
        elif code != ss.get(_CODE) or (secret and secret != ss.get(_SECRET, "")):
            # The same class without a secret (the address bar after a rerun) keeps the session's.
            ss[_CODE], ss[_SECRET] = code, secret if secret and len(secret) < 200 else ""
            ss.pop(_SEEN_PAGE, None)
            ss.pop(_JOINED, None)
    for key in ("class", "t"):
        if key in params:
            del params[key]


def teacher_cookie_name(code: str) -> str:
    return f"dl_teacher_{code}"


def _teacher_cookie(code: str) -> str | None:
    try:
        value = st.context.cookies.get(teacher_cookie_name(code))
    except Exception:  # noqa: BLE001 - no browser request (a bare run): no cookie
        return None
    return value if isinstance(value, str) and len(value) < 600 else None  # AppTest: a mock


def _keep_class_link() -> None:
    """The class's code back in the address bar (the page's link is rewritten on each run), so a
    reload stays in the class. Never the teacher's secret: the projector shows the address bar
    to the room (the teacher link is in the panel, folded)."""
    if st.query_params.get("class") != st.session_state[_CODE]:
        st.query_params["class"] = st.session_state[_CODE]


def _base_url() -> str:
    url = st.context.url or ""
    return url.split("?")[0].rstrip("/") + "/" if url else "/"


def student_link(code: str) -> str:
    return f"{_base_url()}?{urlencode({'class': code})}"


def teacher_link(code: str, secret: str) -> str:
    return f"{_base_url()}?{urlencode({'class': code, 't': secret})}"


def _state_url(code: str) -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base + '/' if base else ''}{STATE_PATH}/{code}"


# --- Following --------------------------------------------------------------------------------


def follow_teacher() -> None:
    """A student's page takes the teacher's page (lesson and settings) into its widgets whenever
    the teacher changed it; before the sidebar draws them."""
    ss = st.session_state
    # The sidebar's class buttons and the lesson's words (ui/sidebar.py) go by the role and the
    # phase: every change of phase reruns the page, so the phase read here is this run's.
    teacher = bool(ss.get(_START) or (ss.get(_CODE) and ss.get(_SECRET)))
    ss[sidebar.CLASS_ROLE] = "teacher" if teacher else "student" if ss.get(_CODE) else None
    ss[sidebar.LESSON_HELD] = teacher or bool(ss.get(_CODE))
    if not ss.get(_CODE) or ss.get(_START):
        return
    try:
        view = _room().view(ss[_CODE])
    except NoClass:
        ss[sidebar.CLASS_ROLE], ss[sidebar.LESSON_HELD] = None, False  # render says so and drops it
        return
    except (Refused, StoreUnavailable):
        return  # held: a page without the class's phase shows no answer
    ss[sidebar.LESSON_HELD] = view.phase != "revealed"
    if ss.get(_SECRET):
        return
    if ss.get(_SEEN_PAGE) != view.page:
        config, _ = link.from_query(view.page)
        sidebar.load_config(config)
        ss[_SEEN_PAGE] = view.page


def _follower(code: str, seen: str, watch: str, reveal: dict | None = None,
              teacher: str | None = None) -> None:
    """The follower component; a student's also spreads its reruns after a reveal, and with
    `reveal` ({question, revealed_at}) tells the page's view at once that the run is shown. The
    teacher's keeps `teacher` (the secret) in a cookie, so a reload stays the teacher's."""
    data = {"url": _state_url(code), "seen": seen, "watch": watch, "interval_ms": POLL_MS}
    if teacher:
        data["teacher"] = {"name": teacher_cookie_name(code), "secret": teacher}
    if watch == "version":
        data["spread_ms"] = SPREAD_MS
    if reveal is not None:
        data["reveal"] = reveal
    _follow(key="class_follow", data=data, on_changed_change=lambda: None, height=0)


# --- The page ---------------------------------------------------------------------------------


def render(config, query: dict) -> bool:
    """The class's part of the page. True when it replaced the views (a question is open, or a
    student waits for the reveal): the caller then draws no run."""
    ss = st.session_state
    ss.pop(_ELAPSED, None)
    ss.pop(_HIDE, None)
    if ss.pop(_NOTICE, None):
        st.info("That link's class code is not a class code; the page opens as usual.",
                icon=":material/group:")
    if ss.pop(_START, False) or ss.get(START_BUTTON):
        _start(query)
    if not ss.get(_CODE):
        return False
    _keep_class_link()
    try:
        room = _room()
        if ss.get(_SECRET):
            if not room.is_teacher(ss[_CODE], ss[_SECRET]):
                if not ss.pop(_FROM_COOKIE, False):  # a stale cookie: a student, without a word
                    st.warning("This link's teacher key does not belong to that class: you are a student here.",
                               icon=":material/lock:")
                ss[_SECRET] = ""
                return _student(room, config)
            return _teacher(room, config, query)
        return _student(room, config)
    except NoClass as err:
        st.info(f"{err} The page works as usual.", icon=":material/group_off:")
        for key in (_CODE, _SECRET, _SEEN_PAGE, _JOINED):
            ss.pop(key, None)
        return False
    except Refused as err:  # e.g. two teacher screens: the other one revealed first
        st.warning(str(err), icon=":material/info:")
        return False
    except StoreUnavailable as err:
        _unavailable(err)
        return False


def _unavailable(err: Exception) -> None:
    st.error(f"Class mode is not available right now: {err} The page works as usual; try "
             "again in a moment.", icon=":material/cloud_off:")


def _start(query: dict) -> None:
    ss = st.session_state
    try:
        started = _room().start(query, session=_session_id())
    except StoreUnavailable as err:
        _unavailable(err)
        return
    except Refused as err:
        st.warning(str(err))
        return
    ss[_CODE], ss[_SECRET] = started.code, started.secret
    ss.pop(_JOINED, None)
    if ss.get(START_BUTTON):
        st.rerun()  # the sidebar, drawn before the class existed, becomes the teacher's


def _pretty(code: str) -> str:
    return f"{code[:3]}-{code[3:6]}-{code[6:]}"


def _qr_png(text: str) -> bytes:
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def _askable(config) -> list[lessons.Question]:
    own = lessons.get(config.lesson).questions if config.lesson in lessons.LESSONS else ()
    return [*own, lessons.WHERE_WILL_IT_END]


def _teacher(room: Classroom, config, query: dict) -> bool:
    ss = st.session_state
    code, secret = ss[_CODE], ss[_SECRET]
    view = room.view(code)
    if view.phase == "waiting" and view.page != query:
        view = room.set_page(code, secret, query)
    _follower(code, f"{view.version}:{view.joined}:{view.answered}", "counts", teacher=secret)
    if view.phase == "revealed":
        # Compact, so that the run playing below stays on a 1280×720 projector.
        with st.container(border=True, key="class_panel"):
            left, right = st.columns([2, 3])
            with left:
                st.markdown(f"**Class {_pretty(code)}** · {view.joined} joined")
                results = room.results(code)
                _results_text(results)
                next_col, csv_col = st.columns(2)
                if next_col.button("Next question", key="class_next", type="primary"):
                    room.next_question(code, secret)
                    st.rerun()
                with csv_col:
                    _csv_button(room, code, secret)
            with right:
                _results_chart(results, config)
        _revealed(view)
        return False
    if view.phase == "waiting":
        # No question yet: the projector holds the run (no playback, paths, messages or panels)
        # so the teacher can ask before the room sees it; the reveal plays it.
        ss[_HIDE] = "waiting"  # no question id: nothing announces it; the reveal draws anew
    # One row (QR code, the code and the student link, the count, the question), so the held
    # views below stay on a 1280×720 projector; the teacher link folded under it.
    with st.container(border=True, key="class_panel"):
        qr, head, joined, act = st.columns([1, 3.6, 0.9, 4])
        qr.image(_qr_png(student_link(code)), width=110)
        with head:
            st.markdown(f"### Class {_pretty(code)}")
            st.code(student_link(code), language=None, wrap_lines=True)
        joined.metric("Joined", view.joined, border=False)
        with act:
            if config.mode == "network":
                st.info("Questions are asked on the surface pages (Loss surface mode).")
            elif view.phase == "asking":
                st.markdown(f"**Asked:** {view.question['prompt']}")
                count, reveal = st.columns([2, 1], vertical_alignment="center")
                count.metric("Answers", f"{view.answered} of {view.joined}", border=False)
                if reveal.button("Reveal", key="class_reveal", type="primary"):
                    room.reveal(code, secret)
                    st.rerun()
            else:
                _ask_controls(room, code, secret, config, query)
        with st.expander("Teacher link (keep it to yourself)"):
            st.caption("It opens this teacher's screen on another device. This browser "
                       "stays the teacher's on a reload without it.")
            # Not on the page until asked for: the projector shows the room what it holds.
            if st.toggle("Show it (the room will see it)", key=_SHOW_TEACHER_LINK):
                st.code(teacher_link(code, secret), language=None, wrap_lines=True)
    if config.mode == "network":
        return False
    if view.phase == "asking":
        _board(config, None)
    return view.phase == "asking"


def _csv_button(room: Classroom, code: str, secret: str) -> None:
    st.download_button("Answers (CSV)", data=room.export_csv(code, secret),
                       help="Every question's answers and the truth, without names.",
                       file_name=f"class-{code}.csv", mime="text/csv", key="class_csv",
                       on_click="ignore")


def _ask_controls(room: Classroom, code: str, secret: str, config, query: dict) -> None:
    options = _askable(config)
    chosen = st.selectbox("Question", range(len(options)), key="class_question",
                          format_func=lambda i: options[i].prompt)
    ask, csv = st.columns(2)
    if ask.button("Ask the class", key="class_ask", type="primary",
                  help="While a question is open, the run is hidden here and on every student's "
                       "screen; Reveal plays it on all of them at once."):
        question = options[min(int(chosen or 0), len(options) - 1)]
        try:
            spec = questions.resolve(question, config, _cached_result(config, question))
        except ValueError as err:
            st.warning(f"That question does not fit this page: {err}.")
            return
        room.ask(code, secret, spec, page=query)
        st.rerun()
    with csv:
        _csv_button(room, code, secret)


def _cached_result(config, question):
    from ui import cache

    if not 0 <= question.run < len(config.runs):
        return None
    return cache.get("run", lab_runs.run_key(config, config.runs[question.run]))


def _board(config, question: dict | None, clickable: bool = False, mine=None):
    """The map without the run: what the room looks at while it predicts."""
    from ui.surface_page import surface_grid

    surface = config.surface_obj()
    grid = surface_grid(config, lab_runs.GRID_POINTS)
    fig = class_figures.answer_map(grid, np.asarray(surface.minima).reshape(-1, 2), config.start_point(),
                                   log=config.use_log(), clickable=clickable, mine=mine)
    key = f"class_map_{question['id']}" if question else "class_map"
    if clickable:
        return st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points",
                               config={"displayModeBar": False})
    st.plotly_chart(fig, key=key, config={"displayModeBar": False})
    return None


def _results_text(results) -> None:
    question = results.question
    # One paragraph (a line break, not two blocks): the reveal's panel stays short.
    st.markdown(f"**Asked:** {question['prompt']}  \n"
                f"**{results.n_right} of {len(results.answers)} right.** {question.get('note', '')}")


def _results_chart(results, config, mine=None) -> None:
    """The class's answers beside the truth: dots (or a heat map) on the map, bars, a histogram."""
    question, truth = results.question, results.truth
    if question["kind"] == "point":
        from ui.surface_page import surface_grid

        surface = config.surface_obj()
        grid = surface_grid(config, lab_runs.GRID_POINTS)
        fig = class_figures.answer_map(grid, np.asarray(surface.minima).reshape(-1, 2),
                                       config.start_point(), log=config.use_log(),
                                       answers=results.answers, truth=truth,
                                       radius=question.get("radius"), mine=mine)
    elif question["kind"] == "choice":
        fig = class_figures.choice_bars(question["choices"], results.answers, truth)
    else:
        fig = class_figures.number_answers(results.answers, truth, question["lo"], question["hi"],
                                           question.get("tolerance", 0))
    fig.update_layout(height=RESULTS_HEIGHT)
    st.plotly_chart(fig, key="class_results", config={"displayModeBar": False})


def _student(room: Classroom, config) -> bool:
    ss = st.session_state
    code = ss[_CODE]
    if _STUDENT not in ss:
        ss[_STUDENT] = classes.new_student_id()
    if not ss.get(_JOINED):
        try:
            room.join(code, ss[_STUDENT])
            ss[_JOINED] = True
        except NoClass:
            raise
        except Refused as err:
            st.warning(str(err))
    view = room.view(code)
    revealed = view.phase == "revealed" and view.question is not None
    _follower(code, str(view.version), "version",
              {"question": view.question["id"], "revealed_at": float(view.revealed_at or time.time())}
              if revealed else None)
    mine_key = f"class_mine_{view.question['id']}" if view.question else None
    with st.container(border=True, key="class_student_panel"):
        if view.phase != "asking":  # asking: the code beside the question, the views in sight
            st.markdown(f"#### Class {_pretty(code)}")
        if view.phase == "waiting":
            st.info("You have joined. Wait for the teacher's question; the run stays hidden until "
                    "the reveal.", icon=":material/hourglass_top:")
        elif view.phase == "asking":
            st.markdown(f"Class {_pretty(code)} · **{view.question['prompt']}**")
            _answer_controls(room, code, view.question, config, mine_key)
        else:
            mine = ss.get(mine_key)
            results = room.results(code)
            left, right = st.columns([2, 3])
            with left:
                _results_text(results)
                if mine is not None:
                    good = classes.is_right(view.question, results.truth, mine)
                    shown = _answer_text(view.question, mine)
                    (st.success if good else st.info)(
                        f"Your answer, {shown}, was {'right' if good else 'not right this time'}.")
            with right:
                _results_chart(results, config, mine=mine if view.question["kind"] == "point" else None)
    if view.phase == "revealed":
        _revealed(view)
        if view.question is not None:
            # The same view message as while the question was open (a reference, no redraw):
            # the follower already started its playback on the reveal's clock.
            ss[_HIDE] = view.question["id"]
        return False
    if view.phase == "waiting":
        if config.mode == "network":
            return False  # no class questions there: the teacher's network page, as it is
        _board(config, None)
        return True
    if config.mode == "network":
        return True
    # The question is open: the views come with the run, hidden (no paths, head, loss curve or
    # playback) until the follower sees the reveal and starts it, before any rerun. The run is
    # no secret (the lesson's link shows it); the answers and the truth stay on the server.
    ss[_HIDE] = view.question["id"]
    return False


def _answer_text(question: dict, value) -> str:
    """A student's answer in words (numbers formatted here; a choice is one of the offered)."""
    if question["kind"] == "point":
        return f"({value[0]:.3g}, {value[1]:.3g})"
    if question["kind"] == "number":
        return f"{value:g}"
    return str(value)


def _send(room: Classroom, code: str, question: dict, value, mine_key: str) -> None:
    ss = st.session_state
    try:
        ss[mine_key] = room.answer(code, ss[_STUDENT], question["id"], value)
    except Refused as err:
        ss["class_refused"] = str(err)


def _answer_controls(room: Classroom, code: str, question: dict, config, mine_key: str) -> None:
    ss = st.session_state
    qid = question["id"]
    if question["kind"] == "point":
        event = _board(config, question, clickable=True, mine=ss.get(mine_key))
        points = (event or {}).get("selection", {}).get("points", []) if event else []
        if points:
            point = [float(points[0]["x"]), float(points[0]["y"])]
            if point != ss.get(mine_key):
                _send(room, code, question, point, mine_key)
                st.rerun()
        (x0, x1), (y0, y1) = question["box"]
        with st.form(f"class_form_{qid}", border=False):
            cx, cy, go = st.columns([2, 2, 1], vertical_alignment="bottom")
            x = cx.number_input("x (w1)", min_value=float(x0), max_value=float(x1),
                                value=float((x0 + x1) / 2), key=f"class_x_{qid}", format="%.3f")
            y = cy.number_input("y (w2)", min_value=float(y0), max_value=float(y1),
                                value=float((y0 + y1) / 2), key=f"class_y_{qid}", format="%.3f")
            if go.form_submit_button("Send", type="primary", key=f"class_send_{qid}"):
                _send(room, code, question, [x, y], mine_key)
        st.caption("Click the map where you think it will be, or type the point.")
    elif question["kind"] == "choice":
        with st.form(f"class_form_{qid}", border=False):
            pick, go = st.columns([5, 1], vertical_alignment="bottom")
            choice = pick.radio("Your answer", question["choices"], index=None, key=f"class_choice_{qid}",
                                horizontal=True)
            if go.form_submit_button("Send", type="primary", key=f"class_send_{qid}") and choice is not None:
                _send(room, code, question, choice, mine_key)
    else:
        with st.form(f"class_form_{qid}", border=False):
            pick, go = st.columns([5, 1], vertical_alignment="bottom")
            number = pick.number_input("Your answer (epoch)", min_value=float(question["lo"]),
                                       max_value=float(question["hi"]), value=None, step=1.0,
                                       key=f"class_number_{qid}", format="%g")
            if go.form_submit_button("Send", type="primary", key=f"class_send_{qid}") and number is not None:
                _send(room, code, question, number, mine_key)
    refused = ss.pop("class_refused", None)
    if refused:
        st.warning(refused)
    if ss.get(mine_key) is not None:
        st.success(f"Your answer: {_answer_text(question, ss[mine_key])}. You can change it until "
                   "the reveal.", icon=":material/check:")


def _revealed(view) -> None:
    """The reveal's time (the server's clock), for every screen's view to show the same epoch."""
    st.session_state[_ELAPSED] = float(view.revealed_at or time.time())


def reveal_time() -> float | None:
    """When the class's run was revealed (Unix time) on this run of the page, else None."""
    return st.session_state.get(_ELAPSED)


def hidden_run() -> str | None:
    """A student's page in a question (open or revealed): the question's id, for the views to
    carry the run hidden until the follower announces that question's reveal; else None."""
    return st.session_state.get(_HIDE)
