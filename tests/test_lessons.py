"""Each lesson's claim holds in the run it sets up, checked from the engine's results."""

from dataclasses import replace

import numpy as np
import pytest

from engine.curvature import curvature
from lab.runs import TOLERANCE, run_one
from lab.lessons import LESSONS
from lab.link import from_query, to_query


def results(config):
    return {r.choice.key: r for r in (run_one(config, c) for c in config.runs)}


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
    both = results(LESSONS["lr-too-small"].config)
    small, reference = both["sgd"], both["sgd-2"]
    right = results(LESSONS["lr-just-right"].config)["sgd"]
    assert reached(small) is None
    assert small.trajectory.loss[-1] > 0.1 * small.trajectory.loss[0]
    # "a fifth of the way to the minimum", while the η = 0.05 run beside it gets there
    start, end = small.trajectory.params[0], small.trajectory.params[-1]
    assert 0.15 < 1 - abs(end[0]) / abs(start[0]) < 0.25
    assert reached(reference) is not None and reference.choice.own_lr == 0.05
    assert reached(right) is not None and right.trajectory.status != "diverged"
    assert reached(right) <= 100 and abs(reached(right) - 90) <= 5  # "near epoch 90" 


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
    # "at about a quarter of SGD's epochs (near 60 against 230)"
    assert 0.2 < reached(r["momentum"]) / reached(r["sgd"]) < 0.35
    assert abs(reached(r["momentum"]) - 60) <= 5 and abs(reached(r["sgd"]) - 230) <= 10


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
    both = results(config)
    assert [r.choice.label for r in both.values()] == ["SGD (full batch)", "SGD (batch 4)"]
    smooth, noisy = both["sgd"].trajectory.loss, both["sgd-2"].trajectory.loss
    assert np.sum(np.diff(noisy) > 0) >= 10
    assert np.sum(np.diff(smooth) > 0) == 0


def test_clipping_prevents_the_divergence():
    config = LESSONS["clipping"].config
    both = results(config)
    clipped, unclipped = both["sgd"].trajectory, both["sgd-2"].trajectory
    assert clipped.status != "diverged" and clipped.loss[-1] < clipped.loss[0]
    assert unclipped.status == "diverged" and unclipped.diverged_epoch == 4  # "at epoch 4"


def test_cosine_schedule_ends_closer_to_the_minimum_than_constant():
    config = LESSONS["schedule"].config
    s = config.surface_obj()
    both = results(config)
    assert both["sgd"].choice.schedule == "constant" and both["sgd-2"].choice.schedule == "cosine"
    gap_constant = both["sgd"].trajectory.loss[-1] - s.minimum_loss
    gap_cosine = both["sgd-2"].trajectory.loss[-1] - s.minimum_loss
    assert gap_cosine < TOLERANCE < gap_constant
    assert gap_cosine < gap_constant / 10


@pytest.mark.parametrize("key", list(LESSONS))
def test_a_changed_lesson_link_round_trips(key):
    config = replace(LESSONS[key].config, epochs=77, seed=9, presenter=True)
    back, notices = from_query(to_query(config))
    assert notices == [] and back == config


def test_lesson_words_fit_the_presenter_sidebar():
    """At 1280×720 the menu shows 28 characters of a title and the lesson box about 330
    characters without being cut off (measured in tests/browser/test_lessons_browser.py)."""
    for lesson in LESSONS.values():
        assert len(lesson.title) <= 28, lesson.title
        assert len(lesson.explanation) + len(lesson.watch_for) <= 330, lesson.key


def test_lessons_that_compare_two_settings_draw_both():
    for key, differs in (("minibatch-noise", "batch"), ("clipping", "clip"), ("schedule", "schedule")):
        first, second = LESSONS[key].config.runs
        assert first.preset == second.preset and getattr(first, differs) != getattr(second, differs)
        assert first.label != second.label


def test_unknown_lesson_falls_back_with_a_notice():
    config, notices = from_query({"lesson": "flying"})
    assert config.lesson == "" and any("lesson" in n for n in notices)


def test_the_default_page_with_sgd_and_momentum_added_shows_no_divergence():
    """Comparing works by default: an optimizer added to Rosenbrock at the shared η = 0.1 (where
    SGD and Momentum diverge) starts at its own η, which does not diverge, shown in its legend."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"),
                           default_timeout=90).run()
    at.multiselect(key="optimizers").set_value(["adam", "sgd", "momentum"]).run()
    assert not at.exception
    assert not [e.value for e in at.error if "diverged" in e.value]
    rows = at.dataframe[0].value
    names = list(rows["optimizer"])  # the runs' labels, as in the legend
    assert names[0] == "Adam" and names[1].startswith("SGD (η=") and names[2].startswith("Momentum (η=")
    assert list(rows["diverged at epoch"]) == ["—", "—", "—"]
    assert at.query_params["sgd.lr"] == names[1].split("η=")[1].rstrip(")")
    # the shared η stays one click away
    at.button(key="lr_for_all").click().run()
    assert at.query_params.get("sgd.lr") is None


def test_per_run_settings_round_trip_in_the_link_and_the_export():
    from lab import export
    from lab.config import Config, RunChoice

    config = Config(surface="linear_regression", learning_rate=0.05, epochs=30, batch_size=8,
                    runs=(RunChoice("sgd", batch=4), RunChoice("sgd", batch=0, copy=1, clip="norm:1"),
                          RunChoice("adam", (("lr", 0.01),), schedule="cosine", clip="off")))
    q = to_query(config)
    assert q["opt"] == "sgd,sgd-2,adam"
    assert (q["sgd.batch"], q["sgd-2.batch"], q["sgd-2.clip"]) == ("4", "full", "norm:1")
    assert (q["adam.schedule"], q["adam.clip"]) == ("cosine", "off")
    back, notices = from_query(q)
    assert notices == [] and back == config
    ran = [run_one(config, c) for c in config.runs]
    # each run trains with its own settings: batch 4 takes 16 steps an epoch, the full batch one
    assert [r.choice.label for r in ran] == ["SGD (batch 4)", "SGD (full batch, clip norm 1)",
                                             "Adam (η=0.01, no clipping, cosine)"]
    assert not np.array_equal(ran[0].trajectory.params, ran[1].trajectory.params)
    loaded, results_by_key = export.from_json(export.to_json(config, ran))
    assert loaded == config
    assert len(results_by_key) == 3


@pytest.mark.parametrize("query, key", [
    ({"opt": "sgd", "sgd.batch": "3"}, "sgd.batch"),
    ({"opt": "sgd,sgd-2", "sgd-2.clip": "norm:zero"}, "sgd-2.clip"),
    ({"opt": "sgd", "sgd.schedule": "sometimes"}, "sgd.schedule"),
])
def test_a_bad_per_run_setting_in_the_link_is_a_notice(query, key):
    config, notices = from_query(query)
    assert any(f"`{key}=" in n for n in notices)
    assert all(r.batch is None and r.clip is None and r.schedule is None for r in config.runs)


def test_the_five_steps_put_negative_factors_in_parentheses_and_hide_unused_buffers():
    import surfaces
    from engine import optimizers
    from engine.anatomy import replay_step, sample_view
    from lab.anatomy import anatomy_sections

    s = surfaces.get("rosenbrock")
    step = replay_step(s, optimizers.create("sgd", lr=1e-3), epoch=1, epochs=1, start=(-1.5, 2.0))
    text = "\n".join(l for sec in anatomy_sections(s, step, "sgd", None) for l in sec.latex)
    assert step.clipped[0] < 0 and rf"\cdot \left({step.clipped[0]:.4g}\right)" in text
    adam = optimizers.create("adam", lr=0.1)
    step = replay_step(s, adam, epoch=2, epochs=2)
    off = anatomy_sections(s, step, "adam", sample_view(s, step), hyper={"amsgrad": False})
    notes = "\n".join(n for sec in off for n in sec.notes)
    assert "AMSGrad" not in notes and "second moment v" in notes
    ams = optimizers.create("adam", lr=0.1, amsgrad=True)
    step = replay_step(s, ams, epoch=2, epochs=2)
    on = anatomy_sections(s, step, "adam", sample_view(s, step), hyper={"amsgrad": True})
    assert "AMSGrad" in "\n".join(n for sec in on for n in sec.notes)


def test_a_second_run_with_its_own_batch_size_from_the_sidebar():
    """A user puts 'batch 4' beside 'full batch': a second SGD run from the menu, its own batch
    size in its settings; the link, the labels and the table follow."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=90)
    at.query_params.update({"surface": "linear_regression", "opt": "sgd", "lr": "0.05", "epochs": "50"})
    at.run()
    menu = at.multiselect(key="optimizers")
    assert menu.options[-1] == "SGD · run 2"  # offered once SGD is chosen
    menu.set_value(["sgd", "sgd-2"]).run()
    at.selectbox(key="hp.sgd-2.batch").set_value(4).run()
    assert not at.exception
    assert at.query_params["opt"] == "sgd,sgd-2" and at.query_params["sgd-2.batch"] == "4"
    assert list(at.dataframe[0].value["optimizer"]) == ["SGD", "SGD (batch 4)"]
    at.selectbox(key="hp.sgd-2.clip").set_value("norm").run()
    assert at.query_params["sgd-2.clip"].startswith("norm:")


def test_the_share_tab_says_the_html_size_and_the_link_has_a_slash_before_the_query():
    import re
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=90).run()
    at.session_state["panel"] = "Share and export"
    at.run()
    assert not at.exception
    labels = [e.proto.label for e in at.get("download_button")]
    assert any(re.fullmatch(r"Figures \(offline HTML, \d+\.\d MB\)", label) for label in labels), labels
    link = at.code[0].value
    assert "/?surface=rosenbrock" in link and "?" not in link.split("/?")[0]
