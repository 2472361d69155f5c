"""A class: start, join, ask, answer, reveal, next question, counts and a CSV export, over the
store. Teacher actions need the teacher's secret (compared in constant time); a student's answer
is validated and rate-limited; nobody reads answers before the reveal."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from classroom.store import Store, StoreUnavailable

# 32 letters with none that reads as another (no 0/O, 1/I): 9 of them are 45 bits of randomness,
# so a guessed code finds a class about once in 10^13 tries.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 9
SECRET_BYTES = 24  # 192 bits
STUDENT_ID_BYTES = 12
KINDS = ("point", "choice", "number")
# An answer is small: two numbers, a choice's name or one number. Anything longer is refused.
MAX_ANSWER_CHARS = 120
MAX_CHOICES = 8
# The token bucket of each session: a burst of 10 actions, then 2 a second.
BUCKET_BURST = 10.0
BUCKET_RATE = 2.0
MAX_BUCKETS = 20_000
CAS_TRIES = 8


class Refused(ValueError):
    """An action that is not allowed; the message says why, in the page's words."""


class NoClass(Refused):
    """No class has this code (never made, mistyped, or expired)."""


@dataclass(frozen=True)
class Started:
    code: str
    secret: str


@dataclass(frozen=True)
class ClassView:
    """What anyone holding the code may see: never the truth or the answers before the reveal."""
    code: str
    version: int
    phase: str  # "waiting" (no question yet), "asking", "revealed"
    page: dict  # the teacher's page as a link query
    question: dict | None  # the question without its truth
    revealed_at: float | None
    joined: int
    answered: int

    def public(self) -> dict:
        return {"code": self.code, "version": self.version, "phase": self.phase,
                "page": self.page, "question": self.question, "revealed_at": self.revealed_at,
                "joined": self.joined, "answered": self.answered}


@dataclass(frozen=True)
class Results:
    """After the reveal: the question with its truth, every answer (no student ids), which were right."""
    question: dict
    truth: Any
    answers: list
    right: list[bool]

    @property
    def n_right(self) -> int:
        return sum(self.right)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def clean_code(text: Any) -> str | None:
    """A typed or linked code, upper-cased without spaces or dashes; None if it cannot be one."""
    if not isinstance(text, str) or len(text) > 4 * CODE_LENGTH:
        return None
    code = text.strip().upper().replace("-", "").replace(" ", "")
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def new_student_id() -> str:
    return secrets.token_urlsafe(STUDENT_ID_BYTES)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class TokenBucket:
    """`burst` actions at once, refilled at `rate` a second."""

    def __init__(self, rate: float = BUCKET_RATE, burst: float = BUCKET_BURST, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = burst, clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def validate_question(question: dict) -> dict:
    """A question as the store keeps it; ValueError for a malformed one (a bug in its maker)."""
    kind = question.get("kind")
    if kind not in KINDS:
        raise ValueError(f"Unknown question kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if not str(question.get("prompt", "")).strip():
        raise ValueError("A question needs a prompt")
    if kind == "choice":
        choices = question.get("choices") or []
        if not 2 <= len(choices) <= MAX_CHOICES or question.get("truth") not in choices:
            raise ValueError(f"A choice question needs 2 to {MAX_CHOICES} choices including its truth")
    elif kind == "number":
        lo, hi = float(question["lo"]), float(question["hi"])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"A number question's range [{lo}, {hi}] is not a range")
    else:
        (x0, x1), (y0, y1) = question["box"]
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"A point question's box {question['box']} is empty")
    return json.loads(json.dumps(question))  # plain JSON types, as the store returns them


def check_answer(question: dict, value: Any) -> Any:
    """The answer as stored, or Refused saying what would be accepted."""
    try:
        size = len(json.dumps(value))
    except (TypeError, ValueError):
        raise Refused("That answer is not something this question accepts.") from None
    if size > MAX_ANSWER_CHARS:
        raise Refused("That answer is too long.")
    kind = question["kind"]
    if kind == "choice":
        if not isinstance(value, str) or value not in question["choices"]:
            raise Refused(f"Choose one of: {', '.join(question['choices'])}.")
        return value
    if kind == "number":
        number = _finite(value)
        lo, hi = float(question["lo"]), float(question["hi"])
        if number is None or not lo <= number <= hi:
            raise Refused(f"Give a number from {lo:g} to {hi:g}.")
        return number
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise Refused("Give a point as two numbers (x, y).")
    x, y = _finite(value[0]), _finite(value[1])
    (x0, x1), (y0, y1) = question["box"]
    if x is None or y is None or not (x0 <= x <= x1 and y0 <= y <= y1):
        raise Refused(f"Give a point inside the map: x from {x0:g} to {x1:g}, y from {y0:g} to {y1:g}.")
    return [x, y]


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def is_right(question: dict, truth: Any, value: Any) -> bool:
    """Whether an answer counts as right: the truth's choice; a number within the question's
    tolerance; a point within its radius of the truth."""
    kind = question["kind"]
    if truth is None:
        return False
    if kind == "choice":
        return value == truth
    if kind == "number":
        return abs(float(value) - float(truth)) <= float(question.get("tolerance", 0.0))
    return math.dist(value, truth) <= float(question.get("radius", 0.0))


class Classroom:
    """Class actions over a store. One per process; its token buckets are per session, which
    holds because a session stays on one replica (sticky sessions)."""

    def __init__(self, store: Store, clock=time.time, limit_clock=time.monotonic):
        self.store = store
        self.clock = clock
        self.limit_clock = limit_clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    # --- limits and access ------------------------------------------------------------------

    def _limit(self, session: str) -> None:
        with self._lock:
            bucket = self._buckets.pop(session, None) or TokenBucket(clock=self.limit_clock)
            self._buckets[session] = bucket
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
            if not bucket.take():
                raise Refused("Too many actions at once; wait a moment and try again.")

    def _load(self, code: Any) -> tuple[str, dict, int]:
        clean = clean_code(code)
        if clean is None:
            raise NoClass("That is not a class code.")
        got = self.store.load(clean)
        if got is None:
            raise NoClass(f"There is no class {clean} (it may have ended).")
        return clean, got[0], got[1]

    @staticmethod
    def _teacher(state: dict, secret: Any) -> None:
        given = _digest(secret) if isinstance(secret, str) and len(secret) < 200 else ""
        if not hmac.compare_digest(given.encode(), state["secret"].encode()):
            raise Refused("Only the teacher's screen can do that.")

    def is_teacher(self, code: Any, secret: Any) -> bool:
        try:
            _, state, _ = self._load(code)
            self._teacher(state, secret)
            return True
        except Refused:
            return False

    def _change(self, code: Any, secret: Any, change) -> ClassView:
        """Apply change(state) → state as the teacher, by compare-and-set (another replica may
        write at the same time)."""
        for _ in range(CAS_TRIES):
            clean, state, version = self._load(code)
            self._teacher(state, secret)
            new = change(dict(state))
            if self.store.replace(clean, version, new):
                return self.view(clean)
        raise StoreUnavailable("The class changed too often at once; try again.")

    # --- the actions -----------------------------------------------------------------------

    def start(self, page: dict, session: str = "") -> Started:
        """A new class showing `page` (a link query); its code and the teacher's secret."""
        self._limit("start:" + session)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        state = {"secret": _digest(secret), "created": self.clock(), "page": dict(page),
                 "phase": "waiting", "question": None, "revealed_at": None, "history": []}
        for _ in range(CAS_TRIES):
            code = new_code()
            if self.store.create(code, state):
                return Started(code, secret)
        raise StoreUnavailable("Could not find a free class code.")

    def view(self, code: Any) -> ClassView:
        clean, state, version = self._load(code)
        question = state.get("question")
        shown = None if question is None else {k: v for k, v in question.items() if k != "truth"}
        answered = self.store.count(clean, question["id"]) if question else 0
        return ClassView(clean, version, state["phase"], state["page"], shown,
                         state.get("revealed_at"), self.store.joined(clean), answered)

    def join(self, code: Any, student: str) -> ClassView:
        self._limit(student)
        clean, _, _ = self._load(code)
        self.store.join(clean, student)
        return self.view(clean)

    def set_page(self, code: Any, secret: Any, page: dict) -> ClassView:
        """The teacher's page changed (another lesson, another setting): students follow it."""
        def change(state):
            state["page"] = dict(page)
            return state
        if self.view(code).page == page:
            return self.view(code)
        return self._change(code, secret, change)

    def ask(self, code: Any, secret: Any, question: dict, page: dict | None = None) -> ClassView:
        """Ask a question (with its truth, kept from students until the reveal); a new question
        replaces the current one, and its answers start empty."""
        question = validate_question(question)

        def change(state):
            number = len(state["history"]) + 1
            asked = {**question, "id": f"q{number}"}
            state["question"] = asked
            state["phase"] = "asking"
            state["revealed_at"] = None
            if page is not None:
                state["page"] = dict(page)
            state["history"] = state["history"] + [{k: v for k, v in asked.items()}]
            return state
        return self._change(code, secret, change)

    def answer(self, code: Any, student: str, question_id: Any, value: Any) -> Any:
        """A student's answer to the question on screen; a new one replaces the old. Returns the
        answer as stored, or raises Refused (wrong question, after the reveal, invalid)."""
        self._limit(student)
        clean, state, _ = self._load(code)
        question = state.get("question")
        if question is None or state["phase"] != "asking" or question_id != question["id"]:
            raise Refused("This question is closed: answers are no longer taken.")
        stored = check_answer(question, value)
        self.store.join(clean, student)
        self.store.answer(clean, question["id"], student, stored)
        return stored

    def reveal(self, code: Any, secret: Any) -> ClassView:
        def change(state):
            if state["phase"] != "asking":
                raise Refused("There is no open question to reveal.")
            state["phase"] = "revealed"
            state["revealed_at"] = self.clock()
            return state
        return self._change(code, secret, change)

    def next_question(self, code: Any, secret: Any) -> ClassView:
        """Back to the page without a question, ready for the next one."""
        def change(state):
            state["phase"], state["question"], state["revealed_at"] = "waiting", None, None
            return state
        return self._change(code, secret, change)

    def results(self, code: Any) -> Results:
        """The answers and the truth: for anyone once revealed, else Refused (the teacher sees
        only the count before the reveal, so the room is not swayed)."""
        clean, state, _ = self._load(code)
        question = state.get("question")
        if question is None or state["phase"] != "revealed":
            raise Refused("The answers are shown after the reveal.")
        answers = list(self.store.answers(clean, question["id"]).values())
        answers.sort(key=json.dumps)  # no order that would tell who answered when
        truth = question.get("truth")
        shown = {k: v for k, v in question.items() if k != "truth"}
        return Results(shown, truth, answers, [is_right(question, truth, a) for a in answers])

    def export_csv(self, code: Any, secret: Any) -> str:
        """Every asked question's answers as CSV, without names or student ids (teacher only)."""
        clean, state, _ = self._load(code)
        self._teacher(state, secret)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["question", "kind", "prompt", "answer_x_or_value", "answer_y", "truth", "right"])
        for asked in state["history"]:
            answers = sorted(self.store.answers(clean, asked["id"]).values(), key=json.dumps)
            for value in answers:
                x, y = (value if asked["kind"] == "point" else (value, ""))
                writer.writerow([asked["id"], asked["kind"], asked["prompt"], x, y,
                                 json.dumps(asked.get("truth")),
                                 int(is_right(asked, asked.get("truth"), value))])
        return out.getvalue()
