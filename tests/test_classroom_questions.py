"""Each lesson's class questions: askable on its page, with a truth read from the engine's run
that matches what the lesson says the room will see."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classroom import classes
from classroom.questions import resolve
from lab import lessons
from lab import runs as lab_runs

ASKED = [(key, q) for key, lesson in lessons.LESSONS.items() for q in lesson.questions]


def test_most_lessons_have_questions_of_every_kind():
    assert len({key for key, _ in ASKED}) >= 6
    kinds = {resolve(q, lessons.get(key).config)["kind"] for key, q in ASKED}
    assert kinds == {"point", "choice", "number"}


@pytest.mark.parametrize("key,question", ASKED, ids=[f"{k}-{q.about}" for k, q in ASKED])
def test_every_lesson_question_has_a_truth_the_right_answer_matches(key, question):
    config = lessons.get(key).config
    spec = classes.validate_question(resolve(question, config))
    assert spec["truth"] is not None
    assert classes.check_answer(spec, spec["truth"]) is not None, "the truth is a valid answer"
    assert classes.is_right(spec, spec["truth"], classes.check_answer(spec, spec["truth"]))
    if spec["kind"] == "point":
        (x0, x1), (y0, y1) = spec["box"]
        x, y = spec["truth"]
        far = [x0 if x - x0 > x1 - x else x1, y0 if y - y0 > y1 - y else y1]
        assert not classes.is_right(spec, spec["truth"], far)
    elif spec["kind"] == "choice":
        wrong = next(c for c in spec["choices"] if c != spec["truth"])
        assert not classes.is_right(spec, spec["truth"], wrong)
    else:
        assert not classes.is_right(spec, spec["truth"], spec["truth"] + 3 * spec["tolerance"] + 1)


def test_truths_agree_with_the_lessons_words():
    too_large = lessons.get("lr-too-large")
    outcome, epoch = (resolve(q, too_large.config) for q in too_large.questions)
    result = lab_runs.run_one(too_large.config, too_large.config.runs[0])
    assert outcome["truth"] == "diverges"
    assert epoch["truth"] == result.trajectory.diverged_epoch
    assert resolve(lessons.get("lr-too-small").questions[0], lessons.get("lr-too-small").config)["truth"] == "stalls"
    # "near epoch 90" and "near 60" in the lessons' words
    assert abs(resolve(lessons.get("lr-just-right").questions[0], lessons.get("lr-just-right").config)["truth"] - 90) <= 5
    assert abs(resolve(lessons.get("momentum-valley").questions[0], lessons.get("momentum-valley").config)["truth"] - 60) <= 5
    minimum = resolve(lessons.get("local-minima").questions[0], lessons.get("local-minima").config)
    assert minimum["truth"] == "(-3.78, -3.28)"  # "From here the run ends near (−3.78, −3.28)"


def test_the_truth_follows_the_page_not_a_table():
    """The same question on a changed page has the changed run's truth."""
    lesson = lessons.get("lr-too-large")
    from dataclasses import replace
    calmer = replace(lesson.config, learning_rate=0.05, epochs=150)
    assert resolve(lesson.questions[0], calmer)["truth"] == "converges"
    end = resolve(lessons.WHERE_WILL_IT_END, calmer)
    run = lab_runs.run_one(calmer, calmer.runs[0]).trajectory
    assert np.allclose(end["truth"], run.params[-1])
    gone = resolve(lessons.WHERE_WILL_IT_END, lesson.config)
    assert gone["truth"] is None and "diverged at epoch" in gone["note"]
    assert math.isfinite(gone["radius"])


def test_a_question_that_does_not_fit_the_page_says_so():
    with pytest.raises(ValueError, match="no run 2"):
        resolve(lessons.Question("outcome", "?", run=1), lessons.get("lr-too-large").config)
    with pytest.raises(ValueError, match="does not reach the tolerance"):
        resolve(lessons.Question("tolerance", "?"), lessons.get("lr-too-large").config)


def test_a_tolerance_question_says_its_number_and_points_at_nothing_hidden():
    """While a question is open the student's loss axis is hidden with the run: a prompt cannot
    point at "the dotted line"; it says the tolerance (the page's, lab/runs.py)."""
    asked = [(lesson, q) for lesson in lessons.LESSONS.values() for q in lesson.questions
             if q.about == "tolerance"]
    assert asked
    for lesson, question in asked:
        assert "dotted" not in question.prompt and "line" not in question.prompt, question.prompt
        assert f"{lab_runs.TOLERANCE:g}" in question.prompt, (lesson.key, question.prompt)
