"""The view's first message after a new computation (the epochs slider moved) on a page whose η
set is larger than the first message sends: the stop on screen only, from the run already
trained, and the whole set when the browser asks for it after its first paint; the figures are
made once for both messages. AppTest on app.py, no browser."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from lab.config import LR_OPTIONS, Config
from lab.runs import AHEAD, lr_set_plan

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _view_message(at) -> dict:
    from ui import descent_view

    (element,) = [e for e in at.get("bidi_component") if e.proto.bytes]  # the η echo is JSON
    return descent_view.decode(element.proto.bytes)


def _rows(header: dict, run: int, what: str, stops: int) -> np.ndarray:
    ref = header["runs"][run][what]
    flat = np.frombuffer(base64.b64decode(ref["bdata"]), dtype="<f4")
    return flat.reshape(stops, -1)


def test_an_epochs_change_sends_the_stop_on_screen_first_and_the_whole_set_when_asked():
    from streamlit.testing.v1 import AppTest

    from ui import cache, surface_page
    from ui.descent_view import FIRST_PAINT_LIMIT

    config = Config(speed="instant", epochs=487)  # an epochs value no other test computes
    assert lr_set_plan(config, list(config.runs)) == AHEAD  # cheap enough to compute ahead…
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["speed"] = "instant"
    at.run()
    at.slider(key="epochs").set_value(config.epochs).run()
    assert not at.exception, [e.value for e in at.exception]
    first = _view_message(at)
    paths = first["paths"]
    index = LR_OPTIONS.index(config.learning_rate)
    # …but larger than one message sends before the first paint: the stop on screen comes first
    assert paths["rows"] == [index] and paths["complete"] is False

    at.session_state["descent_view"] = {"painted": True, "full": paths["key"]}  # the browser's ask
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    whole = _view_message(at)
    assert whole["paths"]["complete"] is True and whole["paths"]["key"] == paths["key"]
    assert whole["paths"]["rows"] == list(range(len(LR_OPTIONS)))
    # the set was as large as the rule said before it was computed
    set_bytes = sum((config.epochs + 1) * 3 * 4 * len(LR_OPTIONS) for _ in whole["paths"]["runs"])
    assert set_bytes > FIRST_PAINT_LIMIT
    # the stop on screen: the trained run's weights and loss are the batch's row, number for number
    E = config.epochs + 1
    for what, width in (("params", 2 * E), ("loss", E)):
        got = _rows(whole["paths"], 0, what, len(LR_OPTIONS))[index]
        was = _rows(paths, 0, what, 1)[0]
        assert got.size == width
        np.testing.assert_array_equal(got, was)
    assert whole["paths"]["lossAxes"][index] == paths["lossAxes"][0]
    # the same figures in both messages, made once for the set
    assert whole["figures"] == first["figures"]
    made = [k for k in cache.shared().keys() if k[0] == "view-wire" and k[1][0] == "figures"
            and k[1][2] == paths["key"]]
    assert len(made) == 1
