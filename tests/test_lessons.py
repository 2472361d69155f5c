"""Each lesson's claim holds in the run it sets up, checked from the engine's results."""

from dataclasses import replace

import numpy as np
import pytest

from engine.curvature import curvature
from lab.runs import TOLERANCE, run_one
from lab.lessons import LESSONS
from lab.link import from_query, to_query


def results(config):
    return {r.choice.preset: r for r in (run_one(config, c) for c in config.runs)}


def reached(result):
    return result.summary.epochs_to_tolerance


def test_there_are_at_least_eight_lessons_each_reachable_by_its_own_link():
    assert len(LESSONS) >= 8
    for key, lesson in LESSONS.items():
        config, notices = from_query(to_query(lesson.config))
        assert notices == [] and config == lesson.config
        config, notices = from_query({"lesson": key})
        assert notices == [] and config == lesson.config
        assert lesson.title and lesson.explanation and lesson.watch_for


def test_too_small_crawls_while_just_right_arrives():
    small = results(LESSONS["lr-too-small"].config)["sgd"]
    right = results(LESSONS["lr-just-right"].config)["sgd"]
    assert reached(small) is None
    assert small.trajectory.loss[-1] > 0.1 * small.trajectory.loss[0]
    assert reached(right) is not None and right.trajectory.status != "diverged"


def test_too_large_diverges_above_two_over_lambda_max():
    config = LESSONS["lr-too-large"].config
    s = config.surface_obj()
    limit = curvature(s, s.minima[0]).lr_limit
    assert config.learning_rate > limit
    assert results(config)["sgd"].trajectory.status == "diverged"
    # ... and just below the limit the same run converges.
    below = replace(config, learning_rate=0.07)
    assert below.learning_rate < limit
    assert results(below)["sgd"].trajectory.status != "diverged"


def test_momentum_reaches_the_tolerance_in_fewer_epochs_than_sgd():
    r = results(LESSONS["momentum-valley"].config)
    assert reached(r["momentum"]) is not None and reached(r["sgd"]) is not None
    assert reached(r["momentum"]) < reached(r["sgd"]) / 2


def test_adam_ends_far_lower_than_sgd_on_rosenbrock():
    r = results(LESSONS["adam-vs-sgd"].config)
    assert r["adam"].trajectory.loss[-1] < 0.05 < 1.0 < r["sgd"].trajectory.loss[-1]


def test_saddle_stalls_then_escapes():
    t = results(LESSONS["saddle"].config)["sgd"].trajectory
    g = t.grad_norm
    stall = int(np.argmin(g))
    assert g[stall] < 0.05 * g[0]  # nearly stopped near the saddle point...
    assert np.sum(g < 0.1 * g[0]) >= 15  # ... for a good while
    assert t.loss[-1] < t.loss[stall] - 0.5  # then it escapes downhill
    assert g[-1] > 5 * g[stall]


def test_where_you_start_decides_which_minimum():
    config = LESSONS["local-minima"].config
    s = config.surface_obj()
    ends = []
    for start in (None, (0.5, 0.5), (-1.0, 1.0)):
        t = results(replace(config, start=start))["sgd"].trajectory
        ends.append(int(np.argmin(np.linalg.norm(s.minima - t.params[-1], axis=1))))
        assert np.min(np.linalg.norm(s.minima - t.params[-1], axis=1)) < 1e-3
    assert len(set(ends)) == 3


def test_minibatch_path_is_noisy_and_full_batch_is_smooth():
    config = LESSONS["minibatch-noise"].config
    noisy = results(config)["sgd"].trajectory.loss
    smooth = results(replace(config, batch_size=None))["sgd"].trajectory.loss
    assert np.sum(np.diff(noisy) > 0) >= 10
    assert np.sum(np.diff(smooth) > 0) == 0


def test_clipping_prevents_the_divergence():
    config = LESSONS["clipping"].config
    clipped = results(config)["sgd"].trajectory
    unclipped = results(replace(config, clip="off"))["sgd"].trajectory
    assert clipped.status != "diverged" and clipped.loss[-1] < clipped.loss[0]
    assert unclipped.status == "diverged" and unclipped.diverged_epoch <= 5


def test_cosine_schedule_ends_closer_to_the_minimum_than_constant():
    config = LESSONS["schedule"].config
    s = config.surface_obj()
    gap_cosine = results(config)["sgd"].trajectory.loss[-1] - s.minimum_loss
    gap_constant = results(replace(config, schedule="constant"))["sgd"].trajectory.loss[-1] - s.minimum_loss
    assert gap_cosine < TOLERANCE < gap_constant
    assert gap_cosine < gap_constant / 10


@pytest.mark.parametrize("key", list(LESSONS))
def test_a_changed_lesson_link_round_trips(key):
    config = replace(LESSONS[key].config, epochs=77, seed=9, presenter=True)
    back, notices = from_query(to_query(config))
    assert notices == [] and back == config


def test_unknown_lesson_falls_back_with_a_notice():
    config, notices = from_query({"lesson": "flying"})
    assert config.lesson == "" and any("lesson" in n for n in notices)


def test_the_default_page_with_sgd_and_momentum_added_shows_no_divergence():
    """Comparing works by default: an optimizer added to Rosenbrock at the shared η = 0.1 (where
    SGD and Momentum diverge) starts at its own η, which does not diverge, shown in its legend."""
    import json
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"),
                           default_timeout=90).run()
    at.multiselect(key="optimizers").set_value(["adam", "sgd", "momentum"]).run()
    assert not at.exception
    assert not [e.value for e in at.error if "diverged" in e.value]
    (element,) = at.get("bidi_component")
    data = json.loads(element.proto.json)["figures"]["surface3d"]["data"]
    names = [t["name"] for t in data if (t.get("meta") or {}).get("role") == "path"]
    assert names[0] == "Adam" and names[1].startswith("SGD (η=") and names[2].startswith("Momentum (η=")
    rows = at.dataframe[0].value
    assert list(rows["diverged at epoch"]) == ["—", "—", "—"]
    assert at.query_params["sgd.lr"] == names[1].split("η=")[1].rstrip(")")
    # the shared η stays one click away
    at.button(key="lr_for_all").click().run()
    assert at.query_params.get("sgd.lr") is None
