"""The page config and its URL form: round trips, defaults, and garbage that never raises."""

from dataclasses import replace

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
