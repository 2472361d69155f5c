"""Presenter mode in front of a class (issue 16, item 1): adding or removing a run while the
projector shows the page must not break it, and settings presenter mode does not draw keep their
values when it is switched off again (the link must not say epochs=1)."""

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import open_app
from lab import lessons


def _open(**query) -> AppTest:
    return open_app(query, timeout=120)


@pytest.mark.parametrize("added", ["sgd", "momentum", "adam-2"])
def test_adding_an_optimizer_in_presenter_mode_keeps_the_page(added):
    at = _open(present="1", epochs="60", speed="slow")
    at.multiselect(key="optimizers").set_value(["adam", added]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("descent_view") or at.get("plotly_chart") or [1]) >= 1
    at.toggle(key="presenter").set_value(False).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="epochs").value == 60
    assert at.query_params["epochs"] == ["60"] or at.query_params["epochs"] == "60"
    assert str(at.query_params.get("speed", "")).strip("[]'") == "slow"


def test_a_lesson_in_presenter_mode_takes_a_run_and_gives_it_back():
    key = "momentum-valley"
    at = _open(lesson=key, present="1")
    chosen = list(at.multiselect(key="optimizers").value)
    epochs = at.slider(key="epochs").value
    at.multiselect(key="optimizers").set_value(chosen + ["rmsprop"]).run()
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key="optimizers").set_value(chosen).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="epochs").value == epochs == lessons.get(key).config.epochs
