"""The MLP: backprop against central differences, the surface contract, training, bad input, data sets."""

import numpy as np
import pytest

from engine import collect, optimizers, train
from engine.network import DEFAULT_CONFIG, MAX_WEIGHTS, MLP, count_weights, parse_layers
from surfaces import datasets

ACTIVATIONS = ["relu", "tanh", "sigmoid"]


def small_net(activation, task, seed=1):
    """A small net with several layers: 3 classes from blobs, or a 2-output regression."""
    if task == "classification":
        return MLP([2, 5, 4, 3], activation, task, data=datasets.blobs(n=30, seed=seed), seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.5, 1.5, (25, 2))
    y = np.stack([np.sin(X[:, 0]), X[:, 0] * X[:, 1]], axis=1)
    return MLP([2, 6, 4, 2], activation, task, data=(X, y), seed=seed)


def central_differences(f, w, h=1e-6):
    grad = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        grad[i] = (f(w + e) - f(w - e)) / (2 * h)
    return grad


# --------------------------------------------------------------------------- backprop

@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch", [None, [3, 0, 7, 7, 12]])
def test_backprop_equals_central_differences(activation, task, batch):
    net = small_net(activation, task)
    idx = None if batch is None else np.array(batch)
    # Away from the initialisation (biases are zero there), so every weight and bias matters.
    w = net.start + 0.3 * np.random.default_rng(5).standard_normal(net.d)
    numeric = central_differences(lambda v: float(net.loss(v, idx)), w)
    backprop = net.grad(w, idx)
    assert backprop.shape == (net.d,)
    np.testing.assert_allclose(backprop, numeric, rtol=1e-6, atol=1e-8)
    assert np.abs(backprop).max() > 1e-3  # a gradient of zeros would pass trivially


def test_mini_batch_gradient_is_the_mean_of_per_sample_gradients():
    net = small_net("tanh", "classification")
    w = net.start + 0.2
    per_sample = np.stack([net.grad(w, np.array([i])) for i in range(net.n_samples)])
    np.testing.assert_allclose(per_sample.mean(axis=0), net.grad(w), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(per_sample[[2, 5]].mean(axis=0), net.grad(w, np.array([2, 5])),
                               rtol=1e-12, atol=1e-15)


def test_cross_entropy_and_mse_match_their_definitions():
    net = small_net("relu", "classification")
    w = net.start + 0.1
    probs = net.predict_proba(w, net.X)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-12)
    expected = -np.mean(np.log(probs[np.arange(net.n_samples), net.y]))
    assert float(net.loss(w)) == pytest.approx(expected, rel=1e-12)

    reg = small_net("relu", "regression")
    prediction = reg.predict(reg.start, reg.X)
    assert float(reg.loss(reg.start)) == pytest.approx(np.mean((prediction - reg.y) ** 2), rel=1e-12)


def test_cross_entropy_is_finite_for_huge_logits():
    """The log-sum-exp is taken with the max out: confident wrong answers give a big finite loss."""
    net = small_net("relu", "classification")
    w = 1e3 * (net.start + 0.5)
    loss = float(net.loss(w))
    assert np.isfinite(loss) and loss > 10
    assert np.all(np.isfinite(net.grad(w)))


def test_forward_cache_and_backward_read_like_the_lesson():
    net = small_net("tanh", "classification")
    out, cache = net.forward(net.start, net.X)
    n = net.n_samples
    assert out.shape == (n, 3)
    assert [z.shape for z in cache.z] == [(n, 5), (n, 4), (n, 3)]
    assert [a.shape for a in cache.a] == [(n, 2), (n, 5), (n, 4), (n, 3)]
    np.testing.assert_allclose(cache.a[1], np.tanh(cache.z[0]))  # a = activation(z)
    W1, b1 = net.unflatten(net.start)[0]
    np.testing.assert_allclose(cache.z[0], net.X @ W1.T + b1)  # z = a_prev·Wᵀ + b
    dWs, dbs = net.backward(cache, net.y)
    assert [dW.shape for dW in dWs] == [(5, 2), (4, 5), (3, 4)]
    assert [db.shape for db in dbs] == [(5,), (4,), (3,)]
    np.testing.assert_allclose(net.flatten(list(zip(dWs, dbs))), net.grad(net.start))


def test_flat_layout_is_torch_parameters_order():
    net = MLP([2, 3, 2], data=datasets.two_moons(n=10))
    assert net.d == count_weights([2, 3, 2]) == 2 * 3 + 3 + 3 * 2 + 2
    (W1, b1), (W2, b2) = net.unflatten(np.arange(net.d, dtype=float))
    np.testing.assert_array_equal(W1, np.arange(6).reshape(3, 2))  # (out, in), row-major
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(W2, np.arange(9, 15).reshape(2, 3))
    np.testing.assert_array_equal(b2, [15, 16])
    w = np.random.default_rng(0).standard_normal((4, net.d))
    np.testing.assert_array_equal(net.flatten(net.unflatten(w)), w)


# --------------------------------------------------------------------------- many weights at once

@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_many_matches_the_single_weight_loss(activation, task):
    net = small_net(activation, task)
    W = net.start + 0.5 * np.random.default_rng(2).standard_normal((11, net.d))
    one_by_one = np.array([float(net.loss(w)) for w in W])
    np.testing.assert_allclose(net.loss_many(W), one_by_one, rtol=1e-12)
    np.testing.assert_allclose(net.loss_many(W, chunk=3), one_by_one, rtol=1e-12)
    np.testing.assert_allclose(net.loss(W), one_by_one, rtol=1e-12)
    np.testing.assert_allclose(net.loss_many(W, dtype=np.float32), one_by_one, rtol=1e-5)
    idx = np.array([1, 4, 4, 9])
    np.testing.assert_allclose(net.loss_many(W, idx), [float(net.loss(w, idx)) for w in W],
                               rtol=1e-12)
    assert net.loss_many(W.reshape(1, 11, net.d)).shape == (1, 11)


def test_gradient_with_leading_axes_is_one_gradient_per_row():
    net = small_net("sigmoid", "classification")
    W = net.start + 0.5 * np.random.default_rng(3).standard_normal((4, net.d))
    np.testing.assert_allclose(net.grad(W), np.stack([net.grad(w) for w in W]), rtol=1e-12)


def test_initialisation_is_seeded_he_or_xavier():
    data = datasets.two_moons(n=10)
    a, b = MLP([2, 400, 2], "relu", data=data, seed=3), MLP([2, 400, 2], "relu", data=data, seed=3)
    np.testing.assert_array_equal(a.start, b.start)
    assert not np.array_equal(a.start, MLP([2, 400, 2], "relu", data=data, seed=4).start)
    assert a.init == "he"
    (W1, b1), (W2, b2) = a.unflatten(a.start)
    assert np.all(b1 == 0) and np.all(b2 == 0)
    assert np.var(W2) == pytest.approx(2 / 400, rel=0.1)  # He: 2 / fan_in
    tanh = MLP([2, 400, 2], "tanh", data=data, seed=3)
    assert tanh.init == "xavier"
    assert np.var(tanh.unflatten(tanh.start)[1][0]) == pytest.approx(2 / 402, rel=0.1)
    assert MLP([2, 4, 2], "tanh", data=data, init="he").init == "he"


# --------------------------------------------------------------------------- training

def test_default_config_reaches_95_percent_on_two_moons():
    config = DEFAULT_CONFIG
    for seed in (0, 1):
        net = MLP(config["layers"], config["activation"], data=datasets.load(config["dataset"], seed=seed),
                  init=config["init"], seed=seed)
        opt = optimizers.create(config["optimizer"], lr=config["lr"])
        run = collect(train(net, opt, epochs=config["epochs"], batch_size=config["batch_size"],
                            seed=seed))
        assert run.status == "finished"
        assert net.accuracy(run.params[0]) < 0.95  # it had something to learn
        assert net.accuracy(run.params[-1]) >= 0.95


def test_regression_learns_the_noisy_sine():
    net = MLP([1, 16, 16, 1], "tanh", "regression", data=datasets.noisy_sine(seed=0), seed=0)
    run = collect(train(net, optimizers.create("adam", lr=0.02), epochs=150, batch_size=16))
    assert run.loss[-1] < 0.05 < run.loss[0]  # noise variance is 0.01; sin² averages 0.5
    assert net.predict(run.params[-1], net.X).shape == (net.n_samples,)


@pytest.mark.parametrize("name", [n for n in optimizers.names() if n != "newton"])  # no Hessian
def test_every_optimizer_trains_the_flat_weight_vector(name):
    net = small_net("tanh", "classification")
    # LBFGS's fixed steps of lr = 1 throw a mini-batch run off at once; its line search does not
    hyper = dict(line_search_fn="strong_wolfe", max_iter=5) if name == "lbfgs" else {}
    run = collect(train(net, optimizers.create(name, **hyper), epochs=3, batch_size=8, seed=0,
                        clip=("norm", 1.0)))
    assert run.params.shape == (4, net.d)
    assert np.all(np.isfinite(run.loss))
    assert not np.array_equal(run.params[0], run.params[-1])


def test_a_diverging_run_stops_cleanly():
    net = MLP([1, 16, 1], "tanh", "regression", data=datasets.noisy_sine(), seed=0)
    run = collect(train(net, optimizers.create("sgd", lr=3.0), epochs=50, seed=0))
    assert run.status == "diverged" and run.diverged_epoch is not None
    assert len(run.loss) == run.diverged_epoch + 1 < 51
    assert np.all(np.isfinite(run.loss[:-1]))


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("layers, named", [
    ([], "[]"), ([2], "[2]"), ([2, 0, 2], "0"), ([2, -3, 2], "-3"), ([2, 2.5, 2], "2.5"),
    ([2, True, 2], "True"), ([2, "8", 2], "'8'"), (None, "None"), ("2-x-2", "'x'"),
    ([2, 400, 400, 2], "162,402"), ([2, 10**9, 2], "5,000,000,002"),
])
def test_bad_layer_sizes_are_rejected_with_the_value(layers, named):
    with pytest.raises(ValueError) as err:
        MLP(layers, data=datasets.two_moons(n=10))
    assert named in str(err.value)


def test_the_weight_limit_is_the_documented_one():
    ok = [2, 300, 300, 2]
    assert count_weights(ok) <= MAX_WEIGHTS < count_weights([2, 400, 400, 2])
    assert MLP(ok, data=datasets.two_moons(n=10)).d == count_weights(ok)


def test_layers_must_match_the_data():
    with pytest.raises(ValueError, match="first layer size 3.*2 input"):
        MLP([3, 8, 2], data=datasets.two_moons(n=10))
    with pytest.raises(ValueError, match="last layer size 2.*3 class"):
        MLP([2, 8, 2], data=datasets.blobs(n=12))
    with pytest.raises(ValueError, match="last layer size 2"):
        MLP([1, 8, 2], task="regression", data=datasets.noisy_sine(n=10))
    with pytest.raises(ValueError, match="needs data"):
        MLP([2, 8, 2])


@pytest.mark.parametrize("kwargs, named", [
    ({"activation": "gelu"}, "'gelu'"), ({"task": "ranking"}, "'ranking'"), ({"init": "lecun"}, "'lecun'"),
])
def test_unknown_options_are_named(kwargs, named):
    with pytest.raises(ValueError, match=named):
        MLP([2, 4, 2], data=datasets.two_moons(n=10), **kwargs)


def test_wrong_weight_shape_is_named():
    net = small_net("relu", "classification")
    with pytest.raises(ValueError, match=rf"\(\.\.\., {net.d}\).*\(5,\)"):
        net.loss(np.zeros(5))


def test_parse_layers():
    assert parse_layers("2-16-16-2") == [2, 16, 16, 2]
    assert parse_layers(" 2, 8 ,3 ") == [2, 8, 3]
    with pytest.raises(ValueError, match="e.g. 2-16-16-2"):
        parse_layers("")


# --------------------------------------------------------------------------- data sets

CLASSIFICATION = datasets.names("classification")


@pytest.mark.parametrize("name", datasets.names())
def test_data_sets_are_deterministic_by_seed(name):
    X1, y1 = datasets.load(name, seed=7)
    X2, y2 = datasets.load(name, seed=7)
    X3, _ = datasets.load(name, seed=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert not X1.flags.writeable and not y1.flags.writeable
    assert np.all(np.isfinite(X1)) and np.all(np.abs(X1) < 2.5)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_sets_have_the_right_shapes_and_classes(name):
    info = datasets.get(name)
    X, y = datasets.load(name, n=101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and np.issubdtype(y.dtype, np.integer)
    counts = np.bincount(y)
    assert len(counts) == info.classes
    if name != "xor":  # xor labels come from the quadrant of uniform points
        assert counts.max() - counts.min() <= 1
    else:
        assert counts.min() > 30
    assert np.any(y[:50] != y[0])  # shuffled, not in blocks


def test_noisy_sine_is_regression_data():
    X, y = datasets.noisy_sine(n=50, noise=0.0, seed=0)
    assert X.shape == (50, 1) and y.shape == (50,)
    np.testing.assert_allclose(y, np.sin(np.pi * X[:, 0]))
    assert datasets.get("noisy_sine").task == "regression"


def test_data_set_errors_name_the_value():
    with pytest.raises(KeyError, match="two_moons"):
        datasets.get("moons")
    with pytest.raises(ValueError, match="-5"):
        datasets.two_moons(n=-5)
    with pytest.raises(ValueError, match="noise"):
        datasets.circles(noise=-1.0)


# --------------------------------------------------------------------------- the held-out set

def test_held_out_set_is_seeded_new_samples_and_leaves_training_alone():
    for name in datasets.names():
        X, y = datasets.load(name, seed=3)
        Xt, yt = datasets.held_out(name, len(y), 0.2, seed=3)
        again = datasets.held_out(name, len(y), 0.2, seed=3)
        assert np.array_equal(Xt, again[0]) and np.array_equal(yt, again[1])  # seeded
        assert len(yt) == datasets.held_out_size(len(y), 0.2) == round(len(y) / 4)  # 20% of all
        assert not np.array_equal(Xt, datasets.held_out(name, len(y), 0.2, seed=4)[0])
        # no held-out point is a training point, and the training set is what it always was
        distance = np.abs(X[:, None, :] - Xt[None, :, :]).sum(-1).min()
        assert distance > 0
        assert np.array_equal(datasets.load(name, seed=3)[0], X)
        if datasets.get(name).classes:
            assert set(np.unique(yt)) == set(range(datasets.get(name).classes))
    assert datasets.held_out("two_moons", 200, 0.0) is None
    with pytest.raises(ValueError, match="held-out share"):
        datasets.held_out("two_moons", 200, 1.0)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_held_out_loss_and_accuracy_are_the_networks_on_those_samples(task):
    net = small_net("tanh", task)
    other = small_net("tanh", task, seed=9)  # the same shapes, other samples
    W = net.start + 0.3 * np.random.default_rng(2).standard_normal((4, net.d))
    loss, accuracy = net.held_out(W, (other.X, other.y))
    on_other = MLP(net.layers, "tanh", task, data=(other.X, other.y))
    np.testing.assert_allclose(loss, [float(on_other.loss(w)) for w in W], rtol=1e-12)
    if task == "classification":
        np.testing.assert_array_equal(accuracy, on_other.accuracy(W))
    else:
        assert accuracy is None
    with pytest.raises(ValueError, match="Held-out"):
        net.held_out(W, (other.X[:, :1], other.y))


def test_a_network_run_has_held_out_curves_epoch_by_epoch():
    from dataclasses import replace

    from lab.config import network_defaults, network_test_data
    from lab.runs import build_mlp, network_result, run_key

    config = replace(network_defaults(), epochs=12, test_share=0.3)
    result = network_result(config)
    (run,) = result.runs
    mlp = build_mlp(config)
    Xt, yt = network_test_data(config)
    assert len(yt) == datasets.held_out_size(mlp.n_samples, 0.3)
    assert run.test_loss.shape == run.test_accuracy.shape == run.accuracy_curve.shape == (13,)
    for e in (0, 7, 12):
        w = run.trajectory.params[e]
        assert run.test_loss[e] == pytest.approx(float(MLP(mlp.layers, "relu", data=(Xt, yt)).loss(w)),
                                                 rel=1e-12)
        assert run.accuracy_curve[e] == mlp.accuracy(w)
    assert run.test_loss[-1] < run.test_loss[0] and run.test_accuracy[-1] > 0.8
    assert run.accuracy_curve[-1] == run.accuracy
    none = network_result(replace(config, test_share=0.0)).runs[0]
    assert none.test_loss is None and none.test_accuracy is None
    np.testing.assert_array_equal(none.trajectory.params, run.trajectory.params)  # same training
    assert run_key(config) != run_key(replace(config, test_share=0.0))


def test_the_network_table_has_words_not_none():
    from dataclasses import replace

    from lab.config import network_defaults
    from lab.runs import NO_HELD_OUT_WORD, REGRESSION_WORD, network_result, network_summary_rows

    sine = replace(network_defaults(), dataset="noisy_sine", activation="tanh", epochs=5)
    (row,) = network_summary_rows(network_result(sine))
    assert row["training accuracy"] == row["held-out accuracy"] == REGRESSION_WORD == "— (regression)"
    assert float(row["held-out loss"]) > 0
    assert all(isinstance(v, str) and v != "None" for v in row.values())
    (row,) = network_summary_rows(network_result(replace(network_defaults(), epochs=5, test_share=0.0)))
    assert row["held-out loss"] == row["held-out accuracy"] == NO_HELD_OUT_WORD
    assert row["training accuracy"].endswith("%")


def test_network_exports_are_plain_csv_and_json_with_the_settings():
    import csv
    import io
    import json
    from dataclasses import replace

    import pandas

    from lab import export
    from lab.config import RunChoice, network_defaults
    from lab.runs import network_result

    config = replace(network_defaults(), epochs=6, runs=(RunChoice("adam"), RunChoice("sgd")))
    result = network_result(config)
    text = export.network_to_csv(config, result)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(export.NETWORK_COLUMNS) and len(rows) == 1 + 2 * 7
    assert all(len(r) == len(rows[0]) for r in rows)
    frame = pandas.read_csv(io.StringIO(text))
    adam = frame[frame.optimizer == "Adam"]
    np.testing.assert_array_equal(adam.held_out_loss, result.runs[0].test_loss)
    np.testing.assert_array_equal(adam.loss, result.runs[0].trajectory.loss)
    doc = json.loads(export.network_to_json(config, result))
    assert doc["config"]["mode"] == "network" and doc["config"]["test"] == "0.2"
    assert doc["config"]["opt"] == "adam,sgd" and doc["config"]["epochs"] == "6"
    assert doc["runs"][1]["final_weights"] == result.runs[1].trajectory.params[-1].tolist()
    assert doc["start_weights"] == result.runs[0].trajectory.params[0].tolist()
    with pytest.raises(export.LoadError, match="Neural network mode export"):
        export.from_json(export.network_to_json(config, result))


# --------------------------------------------------------------------------- the page (AppTest)

def _page(query):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _loss_view(at):
    from ui import descent_view

    (element,) = [e for e in at.get("bidi_component") if e.proto.bytes]
    return descent_view.decode(element.proto.bytes)["figures"]["loss"]["data"]


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]


def test_the_network_page_draws_the_held_out_loss_beside_the_training_loss_and_the_accuracy():
    import json

    from figures.network import HELD_OUT_SUFFIX

    at = _page({"mode": "network", "data": "two_moons", "hidden": "8", "epochs": "20",
                "opt": "adam,momentum", "lr": "0.03"})
    _ok(at)
    paths = [t for t in _loss_view(at) if (t.get("meta") or {}).get("role") == "path"]
    names = [t["name"] for t in paths]
    assert names[:2] == ["Adam", "Momentum"]
    assert names[2:] == ["Adam" + HELD_OUT_SUFFIX, "Momentum" + HELD_OUT_SUFFIX]
    assert all(t["mode"] == "markers" for t in paths[2:])  # dots beside each run's line
    assert any("Held out: 50 samples (20% of all)" in c.value for c in at.caption)
    (accuracy,) = [json.loads(p.proto.spec) for p in at.get("plotly_chart")
                   if "Accuracy per epoch" in p.proto.spec]
    assert [t["name"] for t in accuracy["data"]] == [
        "Adam · training", "Adam" + HELD_OUT_SUFFIX, "Momentum · training", "Momentum" + HELD_OUT_SUFFIX]
    table = at.dataframe[0].value
    assert list(table["held-out accuracy"].str.endswith("%")) == [True, True]
    # the share is a setting of its own, in the link
    at.select_slider(key="net_test").set_value(0.0).run()
    _ok(at)
    assert at.query_params["test"] == "0.0"
    assert not any(HELD_OUT_SUFFIX in t.get("name", "") for t in _loss_view(at))
    assert not [p for p in at.get("plotly_chart") if "Accuracy per epoch" in p.proto.spec]
    at.select_slider(key="net_test").set_value(0.5).run()
    _ok(at)
    assert any("Held out: 200 samples (50% of all)" in c.value for c in at.caption)


def test_regression_reads_words_for_accuracy_not_none():
    at = _page({"mode": "network", "data": "noisy_sine", "act": "tanh", "hidden": "8", "epochs": "10"})
    _ok(at)
    table = at.dataframe[0].value
    assert table["training accuracy"].tolist() == ["— (regression)"]
    assert table["held-out accuracy"].tolist() == ["— (regression)"]
    assert "None" not in table.to_string()
    assert not [p for p in at.get("plotly_chart") if "Accuracy per epoch" in p.proto.spec]


def test_the_network_page_shares_and_exports_like_the_surface_page():
    at = _page({"mode": "network", "data": "xor", "hidden": "4", "epochs": "5", "test": "0.3"})
    _ok(at)
    at.session_state["net_panel"] = "Share and export"
    at.run()
    _ok(at)
    link = at.code[0].value
    assert "mode=network" in link and "test=0.3" in link and "data=xor" in link
    buttons = {b.proto.label for b in at.get("download_button")}
    assert {"Trajectories (CSV)", "Trajectories and settings (JSON)", "PyTorch script (.py)"} <= buttons
    assert any(label.startswith("Figures (offline HTML") for label in buttons)
    assert "nn.Sequential(" in at.code[1].value and "nn.Linear(2, 4)" in at.code[1].value
