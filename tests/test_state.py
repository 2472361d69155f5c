"""The page config and its URL form: round trips, defaults, and garbage that never raises."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surfaces
from lab.config import LR_OPTIONS, MAX_RUNS, PRESETS, Config, RunChoice, batch_options, preset_hyper, snap_learning_rate
from lab.link import from_query, to_query


def test_default_config_round_trips_with_no_notice():
    config, notices = from_query(to_query(Config()))
    assert config == Config()
    assert notices == []


def test_a_full_config_round_trips_exactly():
    config = Config(
        surface="himmelblau",
        runs=(RunChoice("adam", (("amsgrad", True), ("beta1", 0.8), ("lr", 0.1))), RunChoice("momentum"),
              RunChoice("rmsprop", (("centered", True),))),
        learning_rate=0.003, epochs=1234, batch_size=4, start=(-2.5, 1.25), seed=42, clip="norm",
        clip_limit=2.5, schedule="cosine", warmup=10, speed="fast", log_scale="off")
    query = to_query(config)
    assert all(isinstance(v, str) for v in query.values())
    back, notices = from_query(query)
    assert notices == []
    assert back == config


def test_every_preset_builds_a_torch_optimizer():
    for key in PRESETS:
        opt = RunChoice(key).make(0.01)
        assert opt.lr == 0.01
    assert RunChoice("nesterov").make(0.01).hyper["nesterov"] is True
    assert preset_hyper("adamw")["weight_decay"] == 0.01


def test_learning_rate_stops_span_1e_4_to_10_in_log_steps():
    assert LR_OPTIONS[0] == 1e-4 and LR_OPTIONS[-1] == 10.0
    assert LR_OPTIONS == sorted(LR_OPTIONS)
    assert len(LR_OPTIONS) >= 61
    assert snap_learning_rate(0.00104) == 0.001
    assert snap_learning_rate(0.052) == 0.05
    ratios = [b / a for a, b in zip(LR_OPTIONS, LR_OPTIONS[1:])]
    assert max(ratios) < 1.34  # roughly log-spaced: no gap wider than a third


def test_batch_options_end_with_the_full_batch():
    assert batch_options(64) == [1, 2, 4, 8, 16, 32, 64]
    assert batch_options(100) == [1, 2, 4, 8, 16, 32, 64, 100]


@pytest.mark.parametrize("query, key", [
    ({"surface": "nope"}, "surface"),
    ({"opt": "adam,turbo"}, "opt"),
    ({"lr": "abc"}, "lr"),
    ({"lr": "-1"}, "lr"),
    ({"lr": "nan"}, "lr"),
    ({"lr": "1e400"}, "lr"),
    ({"epochs": "0"}, "epochs"),
    ({"epochs": "2.5"}, "epochs"),
    ({"epochs": "99999999999999999999"}, "epochs"),
    ({"batch": "3"}, "batch"),
    ({"x0": "100", "y0": "0"}, "x0"),
    ({"seed": "-4"}, "seed"),
    ({"clip": "sideways"}, "clip"),
    ({"speed": "warp"}, "speed"),
    ({"schedule": "lunar"}, "schedule"),
    ({"opt": "adam", "adam.beta1": "1.5"}, "adam.beta1"),
    ({"opt": "momentum", "momentum.momentum": "-3"}, "momentum.momentum"),
])
def test_a_bad_parameter_falls_back_to_its_default_with_a_notice(query, key):
    config, notices = from_query(query)
    assert len(notices) >= 1
    assert any(f"`{key}=" in n for n in notices)
    assert config == Config(runs=config.runs)  # everything else stays at its default
    assert config.runs == Config().runs or all(r.changes == () for r in config.runs)


def test_too_many_optimizers_keeps_the_first_six():
    config, notices = from_query({"opt": ",".join(PRESETS)})
    assert len(config.runs) == MAX_RUNS
    assert any("first 6" in n for n in notices)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=8))
def test_garbage_never_raises(query):
    config, notices = from_query(query)
    assert config.surface in surfaces.names()
    assert 1 <= len(config.runs) <= MAX_RUNS
    assert isinstance(notices, list)


def test_a_typed_surface_round_trips_through_the_link():
    config = Config(surface="typed", expression="(1-x)^2 + 100*(y-x^2)^2",
                    expr_bounds=((-2.0, 2.0), (-1.0, 3.0)), runs=(RunChoice("adam"),))
    query = to_query(config)
    assert query["f"] == "(1-x)^2 + 100*(y-x^2)^2" and query["fx"] == "-2.0,2.0"
    back, notices = from_query(query)
    assert notices == [] and back == config
    s = back.surface_obj()
    rosen = surfaces.get("rosenbrock")
    w = [[0.3, -0.7], [1.2, 2.0]]
    assert abs(s.loss(w) - rosen.loss(w)).max() < 1e-12


@pytest.mark.parametrize("query, key", [
    ({"surface": "typed", "f": "__import__('os').system('true')"}, "f"),
    ({"surface": "typed", "f": "x.real"}, "f"),
    ({"surface": "typed", "f": "9**9**9**9"}, "f"),
    ({"surface": "typed", "f": "x^2", "fx": "3,-3"}, "fx"),
    ({"surface": "typed", "f": "x^2", "fy": "nan,1"}, "fy"),
])
def test_a_bad_typed_surface_in_a_link_falls_back_with_a_notice(query, key):
    config, notices = from_query(query)
    assert any(f"`{key}=" in n for n in notices)
    assert config.surface in surfaces.names() or config.surface == "typed"


def test_a_network_link_starts_from_the_network_defaults_and_round_trips():
    config, notices = from_query({"mode": "network"})
    assert notices == []
    assert (config.learning_rate, config.epochs, config.batch_size) == (0.03, 100, 32)
    changed = replace(config, dataset="spirals", hidden="32-32", activation="tanh", epochs=200)
    back, notices = from_query(to_query(changed))
    assert notices == [] and back == changed


# --------------------------------------------------------------------------- notices in words,
# user text shown as it is

def read_markdown(md: str) -> tuple[str, list[str]]:
    """Split Markdown into the text outside code spans and the contents of its code spans, by
    CommonMark's rule: a run of n backticks opens a span that only a run of exactly n closes; a
    backslash makes the next character literal outside a span; inside, one space is stripped
    from each end when both ends have one."""
    outside, spans, i = [], [], 0
    while i < len(md):
        c = md[i]
        if c == "\\" and i + 1 < len(md):
            outside.append(md[i:i + 2])
            i += 2
            continue
        if c != "`":
            outside.append(c)
            i += 1
            continue
        n = len(md[i:]) - len(md[i:].lstrip("`"))
        j, close = i + n, None
        while j < len(md):
            if md[j] == "`":
                m = len(md[j:]) - len(md[j:].lstrip("`"))
                if m == n:
                    close = j
                    break
                j += m
            else:
                j += 1
        if close is None:
            outside.append(md[i:i + n])
            i += n
            continue
        content = md[i + n:close].replace("\n", " ")
        if len(content) > 1 and content[0] == " " and content[-1] == " " and content.strip(" "):
            content = content[1:-1]
        spans.append(content)
        i = close + n
    return "".join(outside), spans


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_code_shows_any_text_literally(text):
    from lab.link import code, visible

    outside, spans = read_markdown(f"Ignored {code(text)} here.")
    shown = visible(text)
    shown = (shown if len(shown) <= 40 else shown[:40] + "…") or " "  # nothing shows as a blank
    assert spans == [shown] and outside == "Ignored  here."


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_plain_escapes_every_markdown_sign(text):
    from lab.link import plain

    out = plain(text)
    assert "\n" not in out
    for i, c in enumerate(out):
        if c in "*_[]()<>`#!~|$:\\" and (i == 0 or out[i - 1] != "\\"):
            assert c == "\\" and i + 1 < len(out) and not out[i + 1].isalnum()


INJECTION = "x` **INJ** [a](http://127.0.0.1:9/) <b>B</b> :red[R] $x$ `"


@pytest.mark.parametrize("query", [
    {"lr": INJECTION},
    {"opt": INJECTION},
    {"opt": "adam", "adam.beta1": INJECTION},
    {"surface": "typed", "f": INJECTION},
    {"surface": "typed", "fx": INJECTION},
    {INJECTION: "1"},
    {"adam." + INJECTION: "1"},
    {"lesson": "``" + INJECTION + "\n\n**INJ**"},
])
def test_no_notice_reads_link_text_as_markdown(query):
    _, notices = from_query(query)
    assert notices
    for notice in notices:
        outside, spans = read_markdown(notice)
        for sign in ("**", "](", "<b>", ":red[", "$x$", "INJ", "http"):
            assert sign not in outside, (sign, notice)


@pytest.mark.parametrize("query, key, words", [
    ({"opt": "adam", "adam.zzz": "1e-4"}, "adam.zzz", "Adam has no setting"),
    ({"foo.bar": "1"}, "foo.bar", "no such setting"),
    ({"sgd.beta1": "0.5"}, "sgd.beta1", "the link does not choose its optimizers"),
    ({"opt": "adam", "sgd.beta1": "0.5"}, "sgd.beta1", "SGD is not among the link's optimizers"),
    ({"opt": "sgd", "sgd.beta1": "0.5"}, "sgd.beta1", "SGD has no setting"),
    ({"f": "x^2"}, "f", "applies only to your own f(x, y)"),
    ({"fx": "-1,1"}, "fx", "applies only to your own f(x, y)"),
    ({"hidden": "8"}, "hidden", "applies only to the Neural network mode"),
    ({"zzz": "1"}, "zzz", "no such setting"),
    ({"surface": "typed", "fx": "1"}, "fx", "give the range as two numbers, low,high"),
    ({"surface": "typed", "fx": "16-16"}, "fx", "give the range as two numbers, low,high"),
    ({"surface": "typed", "fx": "1,2,3"}, "fx", "give the range as two numbers, low,high"),
    ({"surface": "typed", "fx": "-1e9,-999999999"}, "fx", "between -10000 and 10000"),
    ({"surface": "typed", "fx": "0,5e-324"}, "fx", "at least 1e-06 wide"),
    ({"opt": "adam", "adam.eps": "2"}, "adam.eps", "between 0 and 1"),
    ({"opt": "adam", "adam.beta2": "0.99999"}, "adam.beta2", "between 0 and 0.9999"),
    ({"opt": "adam", "adam.weight_decay": "5000"}, "adam.weight_decay", "between 0 and 1000"),
    ({"clip": "norm", "clip_limit": "1e-9"}, "clip_limit", "between 1e-06 and 1e+06"),
])
def test_every_unknown_or_inapplicable_parameter_gets_a_notice_in_words(query, key, words):
    config, notices = from_query(query)
    mine = [n for n in notices if f"`{key}=" in n]
    assert len(mine) == 1 and words in mine[0], notices
    back, again = from_query(to_query(config))
    assert again == [] and back == config  # what is used instead is a valid page


RAW_PYTHON = ("unpack", "could not convert", "invalid literal", "object has no attribute",
              "Traceback", "NoneType", "expected 2, got")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["lr", "epochs", "batch", "x0", "y0", "fx", "fy", "f", "opt",
                                        "adam.beta1", "sgd.momentum", "clip_limit", "seed", "hidden",
                                        "mode", "surface", "warmup", "nesterov.nesterov"]),
                       st.text(max_size=20), max_size=6).map(lambda d: {"surface": "typed", **d}))
def test_notices_never_hold_raw_python_messages(query):
    _, notices = from_query(query)
    for notice in notices:
        assert not any(raw in notice for raw in RAW_PYTHON), notice


def test_a_learning_rate_between_stops_is_snapped_with_a_notice():
    config, notices = from_query({"lr": "0.105"})
    assert config.learning_rate == 0.1
    assert notices == ["The link's learning rate `0.105` is not one of the slider's stops; using the "
                       "nearest stop, η = 0.1."]


def test_nesterov_at_momentum_0_stays_as_the_page_shows_it():
    # Each value is fine alone; the engine refuses the pair, and the page shows the engine's
    # message for that run, whether it was set with the widget or opened from the link.
    config, notices = from_query({"opt": "nesterov,adam", "nesterov.momentum": "0"})
    assert notices == []
    assert config.runs[0] == RunChoice("nesterov", (("momentum", 0.0),))
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        config.runs[0].make(0.1)
    assert from_query(to_query(config)) == (config, [])
    # a value the engine refuses on its own still falls back with a notice
    config, notices = from_query({"opt": "nesterov", "nesterov.momentum": "-1"})
    assert config.runs[0] == RunChoice("nesterov") and "`nesterov.momentum=-1`" in notices[0]


def test_a_typed_formula_may_start_with_blanks():
    config, notices = from_query({"surface": "typed", "f": "\t x^2 + y^2 "})
    assert notices == [] and config.expression == "\t x^2 + y^2 "
    assert from_query(to_query(config)) == (config, [])


def test_a_start_in_a_box_with_many_decimals_stays_in_the_box():
    from lab.config import Config
    from ui.sidebar import snap_start

    config, notices = from_query({"surface": "typed", "fy": "-3.636,-3.6350000000000002",
                                  "x0": "0", "y0": "-3.6350000000000002"})
    assert notices == []
    s = config.surface_obj()
    (x0, x1), (y0, y1) = s.bounds
    for point in [config.start_point(), (x1, y1), (x0, y0), (1e9, -1e9), s.start]:
        x, y = snap_start(s, point)
        assert x0 <= x <= x1 and y0 <= y <= y1
        back, again = from_query(to_query(Config(**{**config.__dict__, "start": (x, y)})))
        assert again == [], again


def test_snap_start_never_raises_and_stays_in_the_box():
    from ui.sidebar import snap_start

    rng = np.random.default_rng(0)
    for name in surfaces.names():
        s = surfaces.get(name)
        (x0, x1), (y0, y1) = s.bounds
        points = [(np.nan, 0.0), (np.inf, -np.inf), (1e308, -1e308), tuple(s.start), (x1, y0)]
        points += [tuple(p) for p in rng.uniform(-1e3, 1e3, (20, 2))]
        for point in points:
            x, y = snap_start(s, point)
            assert x0 <= x <= x1 and y0 <= y <= y1, (name, point)
