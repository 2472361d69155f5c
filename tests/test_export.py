"""Export and load: the JSON round trip is exact, CSV has every epoch, bad files are refused."""

import csv
import io
import json

import numpy as np
import pytest

from lab.runs import run_key, run_one
from figures.html import figures_html
from lab.export import LoadError, from_json, to_csv, to_json
from lab.config import Config, RunChoice


def _config(**kw):
    base = dict(surface="logistic_regression", runs=(RunChoice("adam"), RunChoice("momentum")),
                learning_rate=0.05, epochs=40, batch_size=8, seed=3, schedule="cosine", warmup=3)
    base.update(kw)
    return Config(**base)


def _results(config):
    return [run_one(config, c) for c in config.runs]


def test_json_round_trip_is_exact():
    config = _config()
    results = _results(config)
    back_config, back = from_json(to_json(config, results).encode())
    assert back_config == config
    for result in results:
        got = back[run_key(config, result.choice)]
        for a, b in zip(result.trajectory, got.trajectory):
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b)
            else:
                assert a == b
        assert got.summary == result.summary


def test_diverged_run_round_trips_with_the_kind_of_each_non_finite_value():
    config = Config(surface="typed", expression="exp(x^2) + y^2", runs=(RunChoice("sgd"), RunChoice("adam")),
                    learning_rate=0.1, epochs=30)
    results = _results(config)
    assert results[0].trajectory.status == "diverged"
    assert results[0].trajectory.loss[-1] == np.inf  # the loss overflowed: +inf, not NaN
    text = to_json(config, results)
    json.loads(text, parse_constant=lambda token: pytest.fail(token))  # strict JSON
    _, back = from_json(text)
    for result in results:
        got = back[run_key(config, result.choice)].trajectory
        want = result.trajectory
        for a, b in zip(want[:4], got[:4]):
            assert np.array_equal(a, b, equal_nan=True)  # inf stays inf, -inf stays -inf
            assert np.array_equal(np.isposinf(a), np.isposinf(b)) and np.array_equal(np.isneginf(a), np.isneginf(b))
        assert got.diverged_epoch == want.diverged_epoch and got.status == want.status
        assert str(back[run_key(config, result.choice)].summary) == str(result.summary)


def test_csv_has_a_header_and_a_row_per_run_and_epoch():
    config = _config()
    results = _results(config)
    text = to_csv(config, results)
    assert text.startswith("optimizer,epoch,w1,w2,loss,grad_norm,lr,status\n")  # plain CSV
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(r.trajectory.loss) for r in results)
    adam = [r for r in rows if r["optimizer"] == "Adam"]
    assert float(adam[7]["loss"]) == results[0].trajectory.loss[7]
    assert float(adam[7]["w1"]) == results[0].trajectory.params[7, 0]


def test_figures_html_is_standalone():
    import plotly.graph_objects as go

    html = figures_html({"a": go.Figure(go.Scatter(y=[1, 2])), "b": go.Figure()}, "Runs")
    assert html.count("<script") >= 2
    assert "https://cdn" not in html.split("</head>")[0]
    assert len(html) > 1_000_000  # plotly.js itself is inside


def _valid_doc(**kw):
    config = _config(epochs=5, **kw)
    return json.loads(to_json(config, _results(config)))


def _run(d, i=0, **changes):
    """The doc with run i's fields changed."""
    runs = [dict(r) for r in d["runs"]]
    runs[i].update(changes)
    return json.dumps({**d, "runs": runs})


def _row(d, e, i=0, **changes):
    """The doc with epoch e of run i changed."""
    rows = [dict(r) for r in d["runs"][i]["epochs"]]
    rows[e].update(changes)
    return _run(d, i, epochs=rows)


def _cut(d, n, status="finished", i=0):
    rows = [dict(r) for r in d["runs"][i]["epochs"][:n]]
    rows[-1]["status"] = status
    return _run(d, i, epochs=rows, status=status)


@pytest.mark.parametrize("mutate, words", [
    (lambda d: b"{not json", "not valid JSON"),
    (lambda d: b"\xff\xfe\x00", "not text"),
    (lambda d: json.dumps({**d, "version": 99}), "'version' is `99`"),
    (lambda d: json.dumps({**d, "version": True}), "'version' is `true`"),
    (lambda d: json.dumps({**d, "version": 2.0}), "'version' is `2.0`"),
    (lambda d: json.dumps({**d, "format": "other"}), "not a Descent Lab"),
    (lambda d: json.dumps(d).replace('"loss": ', '"loss": NaN, "x": ', 1), "non-standard number `NaN`"),
    (lambda d: json.dumps(d).replace('"loss": ', '"loss": Infinity, "x": ', 1), "non-standard number"),
    (lambda d: json.dumps(d).replace('"w1": ', '"w1": 1e400, "x": ', 1), "`1e400`, which is too large"),
    (lambda d: json.dumps(d).replace('"w1": ', '"w1": -2e308, "x": ', 1), "too large for a float"),
    (lambda d: json.dumps(d).replace('"w1": ', '"w1": 1' + "0" * 400 + ', "x": ', 1), "more than 40 digits"),
    (lambda d: json.dumps(d).replace('"w1": ', '"w1": 1' + "0" * 5000 + ', "x": ', 1), "more than 40 digits"),
    (lambda d: "[" * 100_000 + "]" * 100_000, "nested more than 20 levels"),
    (lambda d: json.dumps(d).replace('"w1": ', '"w1": ' + "[" * 2000 + "1" + "]" * 2000 + ', "x": ', 1),
     "nested more than 20 levels"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "surface": "moon"}}), "'config' is not valid here"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "adam.zzz": "1"}}), "Adam has no setting"),
    (lambda d: json.dumps({**d, "runs": d["runs"][:1]}), "'runs' hold 1 runs"),
    (lambda d: _run(d, epochs=d["runs"][0]["epochs"][::-1]), "out of order"),
    (lambda d: _run(d, status="exploded"), "'status' is `\"exploded\"`"),
    (lambda d: _run(d, status="running"), "'status' is `\"running\"`"),
    (lambda d: json.dumps([1, 2, 3]), "not a Descent Lab"),
    (lambda d: _row(d, 1, epoch=True), "epoch 1 is missing or out of order"),
    (lambda d: _row(d, 2, loss="1.5"), "'loss' is `\"1.5\"`, not a number"),
    (lambda d: _row(d, 2, w1=None), "'w1' is `null`, not a number"),
    (lambda d: _row(d, 2, lr=True), "'lr' is `true`, not a number"),
    (lambda d: _cut(d, 3), "neither converged nor diverged"),
    (lambda d: _run(d, status="diverged"), "engine marks its last epoch `finished`"),
    (lambda d: _cut(d, 4, "diverged"), "neither converged nor diverged"),
    (lambda d: _run(d, diverged_epoch=5), "'diverged_epoch' is `5`"),
    (lambda d: _row(d, 0, w1=0.25), "not the configuration's start"),
    (lambda d: _row(d, 3, w2=d["runs"][0]["epochs"][3]["w2"] + 0.5), "'loss' is"),
    (lambda d: _row(d, 3, loss=d["runs"][0]["epochs"][3]["loss"] * 1.01), "not made on the configuration's surface"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "lr": "0.1"}}), "but the configuration gives η"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "schedule": "constant"}}), "'lr' is"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "epochs": "200"}}), "'lr' is"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "surface": "bowl"}}), "not the configuration's start"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "mode": "network"}}), "Neural network mode"),
    (lambda d: _row(d, 2, status="finished"), "epoch 2: 'status' is `\"finished\"`"),
    (lambda d: _run(d, 1, optimizer="sgd"), "'optimizer' is not `momentum`"),
    (lambda d: _run(d, 1, status="not run"), "the engine runs this optimizer"),
])
def test_bad_files_are_refused_with_a_clear_message(mutate, words):
    with pytest.raises(LoadError) as caught:
        from_json(mutate(_valid_doc()))
    assert words in str(caught.value)


def test_a_run_that_stopped_early_is_accepted_at_its_own_length():
    config = Config(surface="bowl", runs=(RunChoice("adam"), RunChoice("sgd")), learning_rate=0.5,
                    epochs=200)
    results = _results(config)
    assert results[1].trajectory.status == "diverged" and len(results[1].trajectory.loss) < 201
    back_config, back = from_json(to_json(config, results))
    assert back_config == config
    assert back[run_key(config, results[1].choice)].trajectory.diverged_epoch == \
        results[1].trajectory.diverged_epoch


def test_a_string_is_held_to_the_same_size_limit_as_bytes():
    with pytest.raises(LoadError, match="too large"):
        from_json(" " * 20_000_001)
    with pytest.raises(LoadError, match="not text"):
        from_json("\ud800")  # a lone surrogate is no UTF-8 text


def test_version_1_files_are_still_read():
    config = Config(surface="typed", expression="exp(x^2) + y^2", runs=(RunChoice("sgd"), RunChoice("adam")),
                    learning_rate=0.1, epochs=30)
    results = _results(config)
    doc = json.loads(to_json(config, results))
    doc["version"] = 1
    for run in doc["runs"]:
        for row in run["epochs"]:
            for name in ("w1", "w2", "loss", "grad_norm", "lr"):
                if isinstance(row[name], str):
                    row[name] = None  # version 1 wrote null for a value that is not finite
    back_config, back = from_json(json.dumps(doc))
    assert back_config == config
    sgd = back[run_key(config, results[0].choice)].trajectory
    # the loss at the saved weights is the surface's: its +inf comes back, not NaN
    assert np.array_equal(sgd.loss, results[0].trajectory.loss)
    assert sgd.status == "diverged"


def test_the_pages_own_export_with_nesterov_at_momentum_0_loads_with_the_pages_message():
    config = Config(surface="rosenbrock", runs=(RunChoice("nesterov", (("momentum", 0.0),)), RunChoice("adam")),
                    epochs=20)
    results = _results(config)
    assert results[0].trajectory is None and "Nesterov" in results[0].error
    back_config, back = from_json(to_json(config, results))
    assert back_config == config
    assert back[run_key(config, results[0].choice)].error == results[0].error
    assert back[run_key(config, results[1].choice)].trajectory.status == results[1].trajectory.status
    # version 1 had no entry for the run that could not be built
    doc = json.loads(to_json(config, results))
    doc["version"], doc["runs"] = 1, doc["runs"][1:]
    assert from_json(json.dumps(doc))[0] == config
