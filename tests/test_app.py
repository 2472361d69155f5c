"""The page in streamlit.testing.v1.AppTest: widgets driven by key, figures read from the
descent view's data, the URL round trip and garbage links."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.config import PRESETS, Config
from lab.link import from_query
from ui import descent_view

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def fresh(query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def view_data(at) -> dict:
    """The data the descent view component received on the last run."""
    (element,) = [e for e in at.get("bidi_component") if e.proto.bytes]  # the η echo is JSON
    return descent_view.decode(element.proto.bytes)


def paths(at, figure="surface3d"):
    data = view_data(at)["figures"][figure]["data"]
    return [t for t in data if (t.get("meta") or {}).get("role") == "path"]


def no_trouble(at):
    assert not at.exception, [e.value for e in at.exception]


def table_rows(at) -> int:
    return len(at.dataframe[0].value)


def test_default_page_draws_one_blue_descent_and_a_table_row():
    at = fresh()
    no_trouble(at)
    (path,) = paths(at)
    assert path["marker"]["color"] == "#0072B2"
    assert view_data(at)["animation"]["epochs"] == Config().epochs
    assert table_rows(at) == 1
    assert len(at.error) == 0
    assert at.query_params["surface"] == "rosenbrock"


def test_three_optimizers_give_three_paths_and_three_rows():
    at = fresh()
    at.multiselect(key="optimizers").set_value(["sgd", "momentum", "adam"]).run()
    no_trouble(at)
    # SGD and Momentum diverge at the shared η = 0.1 here, so they start at their own η
    assert [p["name"].split(" (η=")[0] for p in paths(at)] == ["SGD", "Momentum", "Adam"]
    assert len(paths(at, "contour")) == 3 and len(paths(at, "loss")) == 3
    assert table_rows(at) == 3
    assert len({p["marker"]["color"] for p in paths(at)}) == 3


def test_every_control_changes_without_an_exception():
    at = fresh()
    steps = [
        lambda: at.selectbox(key="surface").set_value("himmelblau"),
        lambda: at.multiselect(key="optimizers").set_value(["momentum", "nesterov", "adam", "rmsprop", "adagrad", "adadelta"]),
        lambda: at.select_slider(key="learning_rate").set_value(0.01),
        lambda: at.slider(key="epochs").set_value(40),
        lambda: at.select_slider(key="batch").set_value(4),
        lambda: at.slider(key="start_x").set_value(2.0),
        lambda: at.slider(key="start_y").set_value(-1.0),
        lambda: at.number_input(key="seed").set_value(5),
        lambda: at.radio(key="clip").set_value("norm"),
        lambda: at.number_input(key="clip_limit").set_value(3.0),
        lambda: at.radio(key="clip").set_value("value"),
        lambda: at.selectbox(key="schedule").set_value("cosine"),
        lambda: at.number_input(key="warmup").set_value(5),
        lambda: at.select_slider(key="speed").set_value("fast"),
        lambda: at.radio(key="log_scale").set_value("on"),
        lambda: at.number_input(key="hp.momentum.momentum").set_value(0.5),
        lambda: at.checkbox(key="hp.nesterov.nesterov").uncheck(),
        lambda: at.number_input(key="hp.adam.beta1").set_value(0.8),
        lambda: at.checkbox(key="hp.adam.amsgrad").check(),
        lambda: at.checkbox(key="hp.rmsprop.centered").check(),
        lambda: at.number_input(key="hp.adagrad.lr_decay").set_value(0.01),
        lambda: at.number_input(key="hp.adadelta.rho").set_value(0.95),
        lambda: at.selectbox(key="surface").set_value("logistic_regression"),
        lambda: at.select_slider(key="batch").set_value(8),
    ]
    for step in steps:
        step().run()
        no_trouble(at)
    config, notices = from_query({k: at.query_params[k] for k in at.query_params})
    assert notices == []
    assert config.surface == "logistic_regression" and config.batch_size == 8
    assert config.schedule == "cosine" and config.warmup == 5 and config.speed == "fast"
    assert table_rows(at) == 6


def test_nesterov_without_momentum_is_a_message_not_a_crash():
    at = fresh()
    at.multiselect(key="optimizers").set_value(["nesterov", "adam"]).run()
    at.number_input(key="hp.nesterov.momentum").set_value(0.0).run()
    no_trouble(at)
    assert any("Nesterov" in e.value for e in at.error)
    assert len(paths(at)) == 1  # Adam still draws


def test_a_diverging_run_says_so_and_the_others_still_draw():
    at = fresh({"surface": "rosenbrock", "opt": "sgd,adam", "lr": "1"})
    no_trouble(at)
    messages = [e.value for e in at.error]
    assert any("SGD diverged at epoch" in m and "learning rate" in m for m in messages)
    assert len(paths(at)) == 2
    rows = at.dataframe[0].value
    assert rows["diverged at epoch"][0].isdigit()  # SGD's divergence epoch
    assert rows["diverged at epoch"][1] == "—"  # Adam did not diverge


def test_url_round_trip_reopens_the_same_page():
    at = fresh()
    at.selectbox(key="surface").set_value("himmelblau").run()
    at.multiselect(key="optimizers").set_value(["momentum", "rmsprop"]).run()
    at.select_slider(key="learning_rate").set_value(0.003).run()
    at.slider(key="epochs").set_value(150).run()
    at.slider(key="start_x").set_value(-1.0).run()
    query = {k: at.query_params[k] for k in at.query_params}
    first = view_data(at)["figures"]
    again = fresh(query)
    no_trouble(again)
    assert {k: again.query_params[k] for k in again.query_params} == query
    assert view_data(again)["figures"] == first
    assert again.slider(key="start_x").value == -1.0


@pytest.mark.parametrize("query", [
    {"surface": "<script>alert(1)</script>", "lr": "banana", "epochs": "-3"},
    {"opt": ",,,", "batch": "9999", "x0": "nan", "y0": "inf"},
    {"seed": "1e309", "clip": "x", "clip_limit": "-1", "warmup": "abc", "log_scale": "maybe"},
    {"adam.beta1": "2", "adam.eps": "-1", "what": "ever"},
])
def test_garbage_links_fall_back_with_a_visible_notice(query):
    at = fresh(query)
    no_trouble(at)
    assert len(at.warning) >= 1
    assert len(paths(at)) >= 1


def test_an_optimizer_can_have_its_own_learning_rate():
    at = fresh({"surface": "rosenbrock", "opt": "sgd,adam", "lr": "0.001", "epochs": "200"})
    at.select_slider(key="hp.adam.lr").set_value(0.1).run()
    no_trouble(at)
    assert [p["name"] for p in paths(at)] == ["SGD", "Adam (η=0.1)"]
    assert at.query_params["adam.lr"] == "0.1"
    rows = at.dataframe[0].value
    assert float(rows["final loss"][1]) < float(rows["final loss"][0])  # tuned Adam beats SGD here


def test_a_lesson_link_opens_the_lesson_with_its_claim_visible():
    at = fresh({"lesson": "lr-too-large"})
    no_trouble(at)
    assert at.selectbox(key="lesson").value == "lr-too-large"
    assert any("too large" in m.value for m in at.markdown)
    assert any("SGD diverged at epoch" in e.value for e in at.error)
    assert at.query_params["lesson"] == "lr-too-large"


def test_choosing_a_lesson_from_the_menu_sets_every_control():
    at = fresh()
    at.selectbox(key="lesson").set_value("momentum-valley").run()
    no_trouble(at)
    assert at.selectbox(key="surface").value == "bowl"
    assert at.multiselect(key="optimizers").value == ["sgd", "momentum"]
    assert at.select_slider(key="learning_rate").value == 0.02
    assert len(paths(at)) == 2


def test_unknown_lesson_in_the_link_falls_back_with_a_notice():
    at = fresh({"lesson": "nope"})
    no_trouble(at)
    assert any("lesson" in w.value for w in at.warning)
    assert at.selectbox(key="lesson").value == ""


def test_presenter_mode_hides_advanced_controls_and_keeps_their_values():
    at = fresh({"surface": "linear_regression", "batch": "8", "seed": "4", "clip": "norm"})
    at.toggle(key="presenter").set_value(True).run()
    no_trouble(at)
    keys = ({w.key for w in at.sidebar.get("number_input")} | {w.key for w in at.sidebar.get("slider")}
            | {w.key for w in at.sidebar.get("checkbox")})
    # optimizer settings hidden, except what a lesson may ask the room to change live
    assert {k for k in keys if k.startswith("hp.")} <= {"hp.adam.beta1", "hp.sgd.momentum"}
    assert "start_x" not in keys and "start_y" not in keys  # start sliders hidden
    assert "seed" in keys  # what a lesson may ask for stays (batch, clipping, schedule, seed)
    assert at.query_params["batch"] == "8" and at.query_params["seed"] == "4"
    assert at.query_params["present"] == "1"
    at.select_slider(key="learning_rate").set_value(0.01).run()
    assert at.query_params["seed"] == "4" and at.query_params["clip"] == "norm"
    at.toggle(key="presenter").set_value(False).run()
    assert at.number_input(key="seed").value == 4


def test_the_five_steps_panel_shows_the_inspected_step():
    at = fresh({"surface": "two_weight_net", "opt": "momentum", "lr": "0.05", "epochs": "30",
                "batch": "8"})
    assert not at.latex  # lazy tabs: the five steps are computed only when their tab is open
    at.session_state["panel"] = "The five steps"
    at.run()
    at.slider(key="inspect_epoch").set_value(12).run()
    no_trouble(at)
    text = " ".join(l.value for l in at.latex)
    assert r"\tanh" in text and r"\partial a/\partial z" in text
    assert any("step 1 of 10 in epoch 12" in c.value for c in at.caption)
    at.slider(key="inspect_step").set_value(4).run()
    no_trouble(at)
    assert any("step 4 of 10 in epoch 12" in c.value for c in at.caption)


def test_network_mode_trains_and_shows_the_slice_with_a_boundary():
    at = fresh({"mode": "network", "data": "two_moons", "hidden": "8", "epochs": "30",
                "opt": "adam,momentum", "lr": "0.03", "batch": "32"})
    no_trouble(at)
    data = view_data(at)["figures"]
    assert len(paths(at)) == 2  # both optimizers on one shared slice
    frames = [t for t in data["contour"]["data"] if (t.get("meta") or {}).get("role") == "frames"]
    assert len(frames) == 1 and frames[0]["meta"]["epochs"][-1] == 30
    assert any("movement" in m.value for m in at.markdown)
    assert len(at.dataframe[0].value) == 2


def test_network_mode_refuses_bad_layers_with_a_message():
    at = fresh({"mode": "network", "hidden": "16-16", "epochs": "5"})
    at.text_input(key="net_hidden").set_value("1000-1000-1000").run()
    no_trouble(at)
    assert any("limit is 100,000" in e.value for e in at.error)
    at.text_input(key="net_hidden").set_value("abc").run()
    no_trouble(at)
    assert any("whole number" in e.value for e in at.error)
    at.text_input(key="net_hidden").set_value("4").run()
    no_trouble(at)
    assert len(paths(at)) == 1


def test_switching_modes_keeps_the_page_working():
    at = fresh()
    at.button_group(key="mode").set_value("network").run()
    no_trouble(at)
    assert at.query_params["mode"] == "network"
    at.selectbox(key="net_data").set_value("noisy_sine").run()
    no_trouble(at)
    curve = [t for t in view_data(at)["figures"]["contour"]["data"]
             if (t.get("meta") or {}).get("role") == "frames"]
    assert curve and curve[0]["type"] == "scatter"
    at.button_group(key="mode").set_value("surface").run()
    no_trouble(at)
    assert "mode" not in at.query_params


def test_curvature_tab_compares_the_learning_rate_with_two_over_lambda_max():
    at = fresh({"lesson": "lr-too-large"})
    at.session_state["panel"] = "Curvature and η"
    at.run()
    no_trouble(at)
    text = " ".join(l.value for l in at.latex)
    assert "2/\\lambda_{max} = 0.08" in text  # the bowl's steep direction has λ = 25
    assert any("Above the limit" in c.value for c in at.caption)


def test_share_tab_gives_a_link_that_reopens_the_page():
    at = fresh({"surface": "beale", "opt": "rmsprop", "lr": "0.01"})
    at.session_state["panel"] = "Share and export"
    at.run()
    no_trouble(at)
    link = at.code[0].value
    assert "surface=beale" in link and "opt=rmsprop" in link and "lr=0.01" in link


def test_a_typed_surface_draws_and_goes_into_the_link():
    at = fresh()
    at.selectbox(key="surface").set_value("typed").run()
    no_trouble(at)
    at.text_input(key="expr_text").set_value("(x-1)^2 + 2*(y+0.5)^2").run()
    no_trouble(at)
    assert at.query_params["f"] == "(x-1)^2 + 2*(y+0.5)^2"
    assert len(paths(at)) == 1
    assert not at.error


@pytest.mark.parametrize("text, words", [
    ("__import__('os').system('touch /tmp/descent-pwned')", "not an allowed function"),
    ("x.real", "Attribute"),
    ("z + 1", "Unknown name"),
    ("x^1000000", "xponent"),
    ("(" * 300 + "x" + ")" * 300, ""),
])
def test_a_refused_function_keeps_the_previous_surface(text, words):
    at = fresh({"surface": "typed", "f": "x^2 + y^2"})
    before = view_data(at)["figures"]["surface3d"]["data"][0]["z"]
    at.text_input(key="expr_text").set_value(text).run()
    no_trouble(at)
    assert at.error and words in at.error[0].value
    assert "previous surface stays" in at.error[0].value
    assert view_data(at)["figures"]["surface3d"]["data"][0]["z"] == before
    assert at.query_params["f"] == "x^2 + y^2"


def test_log_of_negative_numbers_shows_gaps_not_errors():
    at = fresh({"surface": "typed", "f": "-log(x) + (x-2)^2 + y^2", "fx": "-2,4"})
    no_trouble(at)
    assert not at.error
    z = view_data(at)["figures"]["surface3d"]["data"][0]["z"]
    import base64
    import numpy as np
    values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
    assert np.isnan(values).mean() > 0.2 and np.isfinite(values).mean() > 0.5  # x <= 0: a gap


def open_tab(at, name):
    at.session_state["panel"] = name
    return at.run()


def test_the_sweep_marks_the_limit_and_a_button_loads_the_best_rate():
    at = fresh({"surface": "bowl", "opt": "sgd,momentum", "lr": "0.001", "epochs": "100"})
    open_tab(at, "Learning-rate sweep")
    no_trouble(at)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {(t.get("meta") or {}).get("optimizer") for t in chart["data"] if t.get("meta")}
    assert {"SGD", "Momentum"} <= names
    assert any("2/λ_max = 0.08" in c.value for c in at.caption)
    best = [b for b in at.button if b.key == "sweep_best_SGD"][0]
    best.click().run()
    no_trouble(at)
    lr = at.select_slider(key="learning_rate").value
    assert 0.01 <= lr < 0.08 and at.query_params["lr"] == repr(lr)


def test_basins_on_himmelblau_show_four_minima():
    at = fresh({"surface": "himmelblau", "opt": "adam", "lr": "0.05", "epochs": "200"})
    open_tab(at, "Basins")
    no_trouble(at)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert chart["data"][0]["type"] == "heatmap"


def test_the_fair_race_tunes_each_rate_and_applies_them():
    at = fresh({"surface": "rosenbrock", "opt": "sgd,adam", "lr": "0.001", "epochs": "200"})
    open_tab(at, "Fair race")
    no_trouble(at)
    rows = at.dataframe[-1].value
    assert list(rows["optimizer"]) == ["SGD", "Adam"]
    assert any("rule" in c.value.lower() for c in at.caption)
    [b for b in at.button if b.key == "race_apply"][0].click().run()
    no_trouble(at)
    assert "adam.lr" in at.query_params and "sgd.lr" in at.query_params


# --------------------------------------------------------------------------- nothing crashes,
# nothing lies

def test_a_link_cannot_put_markdown_into_the_pages_notices():
    from test_state import INJECTION, read_markdown

    at = fresh({"lr": INJECTION, "opt": "adam", "adam.zzz": INJECTION, INJECTION: "1"})
    no_trouble(at)
    bodies = [w.value for w in at.warning]
    assert len(bodies) == 3
    for body in bodies:
        outside, spans = read_markdown(body)
        for sign in ("**", "](", "<b>", ":red[", "$x$", "INJ", "http"):
            assert sign not in outside, body  # no bold, link, HTML, colour or formula from the link
        assert any("**INJ**" in span for span in spans)  # the link's text is shown, as it is
    assert "Using the default (0.1) instead" in bodies[0]


def test_a_typed_box_with_many_decimals_keeps_the_start_inside_and_its_link_reopens():
    at = fresh({"surface": "typed", "fy": "-3.636,-3.6350000000000002", "x0": "0",
                "y0": "-3.6350000000000002"})
    no_trouble(at)
    assert not at.warning
    y = at.slider(key="start_y").value
    assert -3.636 <= y <= -3.6350000000000002
    query = {k: at.query_params[k] for k in at.query_params}
    assert from_query(query)[1] == []
    again = fresh(query)
    no_trouble(again)
    assert not again.warning and {k: again.query_params[k] for k in again.query_params} == query


def test_nesterov_at_momentum_0_survives_the_link_and_the_export():
    from lab import export

    at = fresh({"opt": "nesterov,adam", "epochs": "30"})
    at.number_input(key="hp.nesterov.momentum").set_value(0.0).run()
    no_trouble(at)
    message = next(e.value for e in at.error if "Nesterov" in e.value)
    query = {k: at.query_params[k] for k in at.query_params}
    config, notices = from_query(query)
    assert notices == []
    # the link reopens the same page with the same message
    again = fresh(query)
    no_trouble(again)
    assert not again.warning and message in [e.value for e in again.error]
    # and the export of that page loads, with the run the engine refused and its message
    from lab.runs import run_one
    results = [run_one(config, choice) for choice in config.runs]
    loaded, back = export.from_json(export.to_json(config, results))
    assert loaded == config
    assert [r.error for r in back.values()] == [r.error for r in results]


def test_the_link_refuses_what_the_hyperparameter_widgets_cannot_show():
    from lab.config import hyper_range

    for presets in (["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta"],
                    ["adam", "adamw", "nadam", "adamax", "radam"]):
        at = fresh({"opt": ",".join(presets), "epochs": "5"})
        no_trouble(at)
        widgets = [w for w in at.number_input if (w.key or "").startswith("hp.")]
        assert widgets
        for w in widgets:
            name = w.key.split(".")[-1]
            assert (w.min, w.max) == hyper_range(name), w.key


def test_a_typed_formula_with_blanks_is_accepted_and_a_refused_one_is_shown_literally():
    at = fresh({"surface": "typed", "f": "x^2 + y^2"})
    at.text_input(key="expr_text").set_value("\t (x-1)^2 + y^2 ").run()
    no_trouble(at)
    assert not at.error and at.query_params["f"] == "\t (x-1)^2 + y^2 "
    hostile = "x + ```` **INJ** [a](http://127.0.0.1:9/) <b>B</b>"
    at.text_input(key="expr_text").set_value(hostile).run()
    no_trouble(at)
    (body,) = [e.value for e in at.error]
    lines = body.split("\n")
    opening = next(i for i, line in enumerate(lines) if set(line) == {"`"})
    fence = lines[opening]
    assert len(fence) > 4 and lines[opening + 3] == fence  # no run of backticks in the text closes it
    assert lines[opening + 1] == hostile and lines[opening + 2].endswith("^")
    words = "\n".join(lines[:opening] + lines[opening + 4:])
    for sign in ("**", "](", "<b>", "INJ"):  # the words hold none of the text's Markdown
        assert sign not in words, body
    assert "previous surface stays" in words


def test_an_upload_message_quotes_the_file_and_its_name_literally():
    def script():
        import json

        import streamlit as st

        from lab.config import Config, RunChoice
        from lab.export import to_json
        from lab.runs import run_one
        from ui import panels, surface_page

        class Upload:
            def __init__(self, name, data):
                self.name, self.data = name, data

            def getvalue(self):
                return self.data

        config = Config(epochs=5, runs=(RunChoice("adam"),))
        doc = json.loads(to_json(config, [run_one(config, c) for c in config.runs]))
        doc["runs"][0]["status"] = "x` **INJ** [a](http://127.0.0.1:9/) `"
        name = "runs` **INJ** [a](http://127.0.0.1:9/) `.json"
        for data in (json.dumps(doc).encode(), to_json(config, [run_one(config, c) for c in config.runs]).encode()):
            st.session_state[panels.UPLOAD_KEY] = Upload(name, data)
            surface_page._on_upload()
            kind, text = st.session_state.pop(surface_page._UPLOAD_MESSAGE)
            (st.error if kind == "error" else st.success)(text)

    from test_state import read_markdown

    at = AppTest.from_function(script, default_timeout=60).run()
    no_trouble(at)
    (error,), (success,) = at.error, at.success
    assert "Could not load" in error.value and "'status'" in error.value
    assert "Loaded" in success.value
    for body in (error.value, success.value):
        outside, spans = read_markdown(body)
        assert "INJ" not in outside and "http" not in outside, body
        assert any("runs` **INJ**" in span for span in spans)
