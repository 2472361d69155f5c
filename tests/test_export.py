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


def test_diverged_run_round_trips_with_gaps_for_non_finite_values():
    config = Config(surface="rosenbrock", runs=(RunChoice("sgd"), RunChoice("adam")),
                    learning_rate=2.0, epochs=30)
    results = _results(config)
    assert results[0].trajectory.status == "diverged"
    text = to_json(config, results)
    json.loads(text)  # strict JSON: no NaN or Infinity tokens
    _, back = from_json(text)
    for result in results:
        got = back[run_key(config, result.choice)].trajectory
        want = result.trajectory
        finite = np.isfinite(want.loss)
        assert np.array_equal(got.loss[finite], want.loss[finite])
        assert np.all(np.isnan(got.loss[~finite]))
        assert got.diverged_epoch == want.diverged_epoch and got.status == want.status


def test_csv_has_a_row_per_run_and_epoch_with_the_config():
    config = _config()
    results = _results(config)
    text = to_csv(config, results)
    first, rest = text.split("\n", 1)
    assert first.startswith("# descent-lab config: ") and "surface=logistic_regression" in first
    rows = list(csv.DictReader(io.StringIO(rest)))
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


def _valid_doc():
    config = _config(epochs=5)
    return json.loads(to_json(config, _results(config)))


@pytest.mark.parametrize("mutate, words", [
    (lambda d: b"{not json", "not valid JSON"),
    (lambda d: b"\xff\xfe\x00", "not text"),
    (lambda d: json.dumps({**d, "version": 99}), "version 99"),
    (lambda d: json.dumps({**d, "format": "other"}), "not a Descent Lab"),
    (lambda d: json.dumps(d).replace('"loss": ', '"loss": NaN, "x": ', 1), "non-finite"),
    (lambda d: json.dumps(d).replace('"loss": ', '"loss": Infinity, "x": ', 1), "non-finite"),
    (lambda d: json.dumps({**d, "config": {**d["config"], "surface": "moon"}}), "not valid here"),
    (lambda d: json.dumps({**d, "runs": d["runs"][:1]}), "do not match"),
    (lambda d: json.dumps({**d, "runs": [{**d["runs"][0], "epochs": d["runs"][0]["epochs"][::-1]},
                                         d["runs"][1]]}), "out of order"),
    (lambda d: json.dumps({**d, "runs": [{**d["runs"][0], "status": "exploded"}, d["runs"][1]]}),
     "unknown status"),
    (lambda d: json.dumps([1, 2, 3]), "not a Descent Lab"),
])
def test_bad_files_are_refused_with_a_clear_message(mutate, words):
    with pytest.raises(LoadError, match=words):
        from_json(mutate(_valid_doc()))
