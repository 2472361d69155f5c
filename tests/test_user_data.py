"""Your own data: a CSV file read strictly, refused in words, and the exact loss surface it makes."""

import numpy as np
import pytest

from engine import optimizers, train
from engine.anatomy import replay_step, sample_view
from lab import user_data as lab_data
from lab.config import Config, surface_for, surface_names
from lab.link import from_query
from surfaces import user_data as ud

pytestmark = pytest.mark.filterwarnings("error")


def csv_bytes(header, rows) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def regression_csv(n=200, seed=0, loc=3.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc, 2.0, n)
    y = -1.5 * x + 4.0 + rng.normal(0, 1.0, n)
    return csv_bytes(["x", "noise", "y"], zip(x, rng.normal(size=n), y)), x, y


def classification_csv(n=300, seed=1, words=False):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    x = 2.0 * label + rng.normal(0, 1.2, n)
    names = np.where(label == 1, "yes", "no") if words else label
    return csv_bytes(["dose", "outcome"], zip(x, names)), x, label.astype(float)


@pytest.fixture
def linear():
    content, x, y = regression_csv()
    return ud.make_surface(ud.parse_csv(content, "r.csv"), "x", "y", ud.MSE), x, y


@pytest.fixture
def logistic():
    content, x, y = classification_csv()
    return ud.make_surface(ud.parse_csv(content, "c.csv"), "dose", "outcome", ud.CROSS_ENTROPY), x, y


def central(fun, w, h=1e-6):
    return np.array([(fun(w + e) - fun(w - e)) / (2 * h) for e in np.eye(2) * h])


@pytest.mark.parametrize("which", ["linear", "logistic"])
def test_gradients_match_central_differences(which, request):
    s, _, _ = request.getfixturevalue(which)
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = s.bounds
    for _ in range(10):
        w = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        numeric = central(lambda v: float(s.loss(v)), w)
        assert np.allclose(s.grad(w), numeric, rtol=1e-6, atol=1e-6 * (1 + abs(float(s.loss(w)))))
        idx = rng.choice(s.n_samples, 17, replace=False)
        numeric = central(lambda v: float(s.loss(v, idx)), w)
        assert np.allclose(s.grad(w, idx), numeric, rtol=1e-6, atol=1e-6 * (1 + abs(float(s.loss(w, idx)))))


def test_full_batch_is_the_mean_over_the_rows(linear, logistic):
    s, x, y = linear
    w = np.array([0.7, -0.3])
    assert np.isclose(s.loss(w), np.mean((w[0] * x + w[1] - y) ** 2), rtol=1e-13)
    s, x, y = logistic
    z = w[0] * x + w[1]
    ce = np.mean(np.logaddexp(0, z) - y * z)
    assert np.isclose(s.loss(w), ce, rtol=1e-13)
    rows = [s.loss(w, np.array([i])) for i in range(s.n_samples)]
    assert np.isclose(np.mean(rows), s.loss(w), rtol=1e-12)


def test_mini_batches_use_only_the_users_rows(linear):
    s, x, y = linear
    w = np.array([1.0, 2.0])
    idx = np.array([3, 10, 11])
    r = w[0] * x[idx] + w[1] - y[idx]
    assert np.isclose(s.loss(w, idx), np.mean(r ** 2), rtol=1e-13)
    assert np.allclose(s.grad(w, idx), [np.mean(2 * r * x[idx]), np.mean(2 * r)], rtol=1e-12)
    # mini-batch gradients average to the full-batch gradient over one shuffled epoch
    order = np.random.default_rng(0).permutation(s.n_samples)
    parts = [s.grad(w, order[i:i + 20]) * len(order[i:i + 20]) for i in range(0, s.n_samples, 20)]
    assert np.allclose(np.sum(parts, axis=0) / s.n_samples, s.grad(w), rtol=1e-12)
    with pytest.raises(IndexError):
        s.loss(w, np.array([s.n_samples]))


@pytest.mark.parametrize("which", ["linear", "logistic"])
def test_the_grid_equals_the_loss_at_its_points(which, request):
    s, _, _ = request.getfixturevalue(which)
    xs, ys, Z = s.grid(37, 23)
    W, B = np.meshgrid(xs, ys, indexing="xy")
    direct = s.loss(np.stack([W, B], axis=-1))
    assert Z.shape == (23, 37)
    assert np.allclose(Z, direct, rtol=1e-12, atol=1e-12)


def test_the_grid_is_exact_far_from_the_origin():
    # x around 1e4: the centred quadratic keeps its digits where raw sums would cancel
    content, x, y = regression_csv(loc=1e4)
    s = ud.make_surface(ud.parse_csv(content, "far.csv"), "x", "y")
    xs, ys, Z = s.grid(11)
    W, B = np.meshgrid(xs, ys, indexing="xy")
    assert np.allclose(Z, s.loss(np.stack([W, B], axis=-1)), rtol=1e-9)


def test_the_minimum_is_the_least_squares_line_inside_the_box(linear):
    s, x, y = linear
    slope, intercept = np.polyfit(x, y, 1)
    assert np.allclose(s.minima, [[slope, intercept]], rtol=1e-10)
    assert np.allclose(s.grad(s.minima[0]), 0, atol=1e-10)
    assert np.isclose(s.minimum_loss, s.loss(s.minima[0]))
    (x0, x1), (y0, y1) = s.bounds
    for w in (s.minima[0], s.start):
        assert x0 < w[0] < x1 and y0 < w[1] < y1


def test_the_fitted_logistic_minimum_is_marked(logistic):
    s, _, _ = logistic
    assert s.minima.shape == (1, 2)
    assert np.linalg.norm(s.grad(s.minima[0])) < 1e-8
    assert np.all(np.linalg.eigvalsh(s.hessian(s.minima[0])) > 0)
    (x0, x1), (y0, y1) = s.bounds
    assert x0 < s.minima[0, 0] < x1 and y0 < s.minima[0, 1] < y1


def test_word_classes_and_separable_classes():
    content, x, y = classification_csv(words=True)
    s = ud.make_surface(ud.parse_csv(content, "w.csv"), "dose", "outcome", ud.CROSS_ENTROPY)
    assert np.array_equal(s.data[1], y)  # "yes" is class 1 (after "no")
    assert "'yes'" in s.about
    sep = csv_bytes(["x", "c"], [(0, 0), (1, 0), (2, 1), (3, 1)])
    s = ud.make_surface(ud.parse_csv(sep, "s.csv"), "x", "c", ud.CROSS_ENTROPY)
    assert s.minima.shape == (0, 2) and np.isnan(s.minimum_loss)
    assert "no minimum" in s.about


def test_sgd_and_adam_train_on_uploaded_data(linear):
    s, _, _ = linear
    for name, lr in (("sgd", s.default_lr), ("adam", 0.1)):
        records = list(train(s, optimizers.create(name, lr=lr), epochs=300, batch_size=32))
        assert records[-1].loss < records[0].loss
    step = replay_step(s, optimizers.create("sgd", lr=0.01), epoch=2, epochs=3, batch_size=8)
    view = sample_view(s, step)
    assert view is not None and view.index in step.batch
    xs, ys = s.data
    assert view.forward["x"] == xs[view.index] and view.forward["y"] == ys[view.index]


REFUSALS = {
    "not csv (name)": (b"x,y\n1,2\n3,4\n", "data.xlsx", "not a CSV file"),
    "binary": (b"PK\x03\x04\x00\x00junk", "data.csv", "binary"),
    "not utf-8": (b"x,y\n1,\xff\n2,3\n", "data.csv", "UTF-8"),
    "one column": (b"x\n1\n2\n", "data.csv", "only one column"),
    "empty": (b"\n\n", "data.csv", "empty"),
    "no header": (b"1,2\n3,4\n5,6\n", "data.csv", "no header"),
    "one row": (b"x,y\n1,2\n", "data.csv", "at least 2"),
    "ragged": (b"x,y\n1,2\n3\n", "data.csv", "Line 3 has 1 cells"),
    "unnamed column": (b"x,\n1,2\n3,4\n", "data.csv", "no name"),
    "duplicate column": (b"x,x\n1,2\n3,4\n", "data.csv", "twice"),
    "bad quoting": (b'x,y\n1,"2\n3,4\n', "data.csv", "not a valid CSV"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_files_are_refused_in_words(case):
    content, name, words = REFUSALS[case]
    with pytest.raises(ud.DataError, match=words):
        ud.parse_csv(content, name)


COLUMN_REFUSALS = {
    "text cell": (b"x,y\n1,2\nabc,4\n", ("x", "y", ud.MSE), "'abc' on line 3, which is not a number"),
    "empty cell": (b"x,y\n1,2\n,4\n3,5\n", ("x", "y", ud.MSE), "empty cell on line 3"),
    "nan cell": (b"x,y\n1,2\nnan,4\n", ("x", "y", ud.MSE), "not a finite number"),
    "inf cell": (b"x,y\n1,2\n2,inf\n", ("x", "y", ud.MSE), "not a finite number"),
    "overflow cell": (b"x,y\n1,2\n2,1e400\n", ("x", "y", ud.MSE), "not a finite number"),
    "constant x": (b"x,y\n1,2\n1,4\n", ("x", "y", ud.MSE), "same value"),
    "constant target": (b"x,y\n1,2\n3,2\n", ("x", "y", ud.MSE), "same value"),
    "three classes": (b"x,y\n1,0\n2,1\n3,2\n", ("x", "y", ud.CROSS_ENTROPY), "exactly two classes"),
    "one class": (b"x,y\n1,a\n2,a\n", ("x", "y", ud.CROSS_ENTROPY), "exactly two classes"),
    "same column": (b"x,y\n1,2\n3,4\n", ("x", "x", ud.MSE), "two different columns"),
    "huge values": (b"x,y\n1e200,2\n3,4\n", ("x", "y", ud.MSE), "would overflow"),
    "tiny spread": (b"x,y\n1e-200,2\n2e-200,4\n", ("x", "y", ud.MSE), "varies too little"),
    "unknown column": (b"x,y\n1,2\n3,4\n", ("z", "y", ud.MSE), "no column 'z'"),
}


@pytest.mark.parametrize("case", list(COLUMN_REFUSALS))
def test_bad_columns_are_refused_in_words(case):
    content, (x, target, loss), words = COLUMN_REFUSALS[case]
    table = ud.parse_csv(content, "d.csv")
    with pytest.raises(ud.DataError, match=words):
        ud.make_surface(table, x, target, loss)


def test_size_and_row_limits(monkeypatch):
    with pytest.raises(ud.DataError, match="limit is 10.0 MB"):
        ud.parse_csv(b"x,y\n" + b"1,2\n" * (ud.MAX_BYTES // 4 + 1), "big.csv")
    monkeypatch.setattr(ud, "MAX_ROWS", 5)
    with pytest.raises(ud.DataError, match="more than 5 rows"):
        ud.parse_csv(b"x,y\n" + b"1,2\n" * 6, "rows.csv")
    assert ud.parse_csv(b"x,y\n" + b"1,2\n" * 5, "rows.csv").n_rows == 5


def test_parsing_never_evaluates_text():
    table = ud.parse_csv(b'x,y\n"__import__(\'os\').system(\'false\')",1\n2,3\n', "e.csv")
    with pytest.raises(ud.DataError, match="not a number"):
        ud.make_surface(table, "x", "y")


def test_semicolons_quotes_blank_lines_and_a_bom():
    content = "\ufeffa;b\n\n1,5;2\n3;4\n\n".encode()
    table = ud.parse_csv(content, "eu.csv")
    assert table.columns == ("a", "b") and table.n_rows == 2
    table = ud.parse_csv(b'"x","y"\n"1","2"\n3,4\n', "q.csv")
    assert np.array_equal(ud.numbers(table, "x"), [1.0, 3.0])


def test_default_choice_picks_columns_and_loss():
    content, _, _ = regression_csv()
    assert ud.default_choice(ud.parse_csv(content, "r.csv")) == ("x", "y", ud.MSE)
    content, _, _ = classification_csv()
    assert ud.default_choice(ud.parse_csv(content, "c.csv")) == ("dose", "outcome", ud.CROSS_ENTROPY)


def test_the_page_finds_an_upload_by_name_and_a_link_cannot_carry_it():
    content, _, _ = regression_csv()
    upload = lab_data.build(lab_data.read(content, "r.csv"), "x", "y", ud.MSE)
    assert lab_data.is_uploaded(upload.name)
    assert surface_for(upload.name) is upload.surface
    config = Config(surface=upload.name)
    assert config.surface_key()[0] == upload.name and config.surface_obj() is upload.surface
    assert upload.name not in surface_names()
    # the same file and columns give the same name; other columns another
    again = lab_data.build(lab_data.read(content, "r.csv"), "x", "y", ud.MSE)
    other = lab_data.build(lab_data.read(content, "r.csv"), "noise", "y", ud.MSE)
    assert again.name == upload.name != other.name
    # a link naming an upload falls back to the default surface, with a notice
    linked, notices = from_query({"surface": upload.name})
    assert linked.surface == Config().surface and notices
    with pytest.raises(KeyError, match="cannot carry"):
        surface_for("upload:0000000000000000")


# --- the page (AppTest drives st.file_uploader since Streamlit 1.67) ---------------------------

def _app(query=None):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=90)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]


def test_app_upload_a_csv_then_choose_columns_then_refuse_a_bad_file():
    content, _, _ = regression_csv()
    at = _app()
    at.file_uploader(key="user_csv").set_value(("mine.csv", content, "text/csv")).run()
    _ok(at)
    name = at.session_state["surface"]
    assert lab_data.is_uploaded(name) and at.query_params["surface"] == name
    assert not at.error
    assert len(surface_for(name).minima) == 1 and surface_for(name).n_samples == 200
    assert at.get("bidi_component")  # the views are drawn
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "cannot carry your data" in captions and "gradient descent is stable for η <" in captions
    # three columns: x and the target are chosen with selectboxes
    at.selectbox(key="user_x").set_value("noise").run()
    _ok(at)
    assert at.session_state["surface"] not in (name, Config().surface)
    chosen = at.session_state["surface"]
    # a refused file leaves the surface as it was, and says why
    at.file_uploader(key="user_csv").set_value(("bad.csv", b"1,2\n3,4\n", "text/csv")).run()
    _ok(at)
    assert at.session_state["surface"] == chosen
    assert any("no header" in e.value and "previous surface stays" in e.value for e in at.error)
    # a constant column chosen as x: refused, surface kept
    at.file_uploader(key="user_csv").set_value(("mine.csv", content, "text/csv")).run()
    at.selectbox(key="user_x").set_value("y").run()
    _ok(at)
    assert any("two different columns" in e.value for e in at.error)


def test_app_a_link_naming_an_upload_shows_the_default_surface_and_says_why():
    at = _app({"surface": "upload:0123456789abcdef"})
    _ok(at)
    assert at.session_state["surface"] == Config().surface
    assert any("cannot carry the data" in w.value for w in at.warning)


def test_a_large_logistic_grid_is_within_1e6_of_the_loss():
    content, _, _ = classification_csv(n=3000, seed=5)
    s = ud.make_surface(ud.parse_csv(content, "big.csv"), "dose", "outcome", ud.CROSS_ENTROPY)
    xs, ys, Z = s.grid(40)  # 40·40·3000 values: the float32 path
    assert 40 * 40 * 3000 > ud.FLOAT32_ABOVE
    W, B = np.meshgrid(xs, ys, indexing="xy")
    direct = s.loss(np.stack([W, B], axis=-1))
    assert np.max(np.abs(Z - direct) / direct) < 1e-6


def test_the_five_steps_show_the_users_own_sample():
    from lab.anatomy import anatomy_sections

    content, x, y = regression_csv()
    s = ud.make_surface(ud.parse_csv(content, "r.csv"), "x", "y")
    step = replay_step(s, optimizers.create("sgd", lr=0.01), epoch=2, epochs=3, batch_size=8)
    view = sample_view(s, step)
    sections = anatomy_sections(s, step, "sgd", view, weight_names=("w", "b"))
    assert sections[0].title == "1 · Forward pass"
    assert f"Sample #{view.index} of this mini-batch (8 of 200 samples)" in sections[0].notes[0]
    assert r"z = w\,x + b" in sections[0].latex


def test_stability_words_give_two_over_the_curvature():
    content, x, _ = regression_csv()
    upload = lab_data.build(lab_data.read(content, "r.csv"), "x", "y", ud.MSE)
    lam = np.linalg.eigvalsh(2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])).max()
    assert f"{2 / lam:.3g}" in lab_data.stability_words(upload)


def test_a_saved_record_brings_the_same_surface_back_and_admits_its_name_only_while_read():
    content, _, _ = regression_csv()
    upload = lab_data.build(lab_data.read(content, "r.csv"), "x", "y", ud.MSE)
    record = lab_data.to_record(upload.name)
    assert record["csv"].splitlines()[0] == "x,y" and len(record["csv"].splitlines()) == 201
    lab_data._HELD.clear()  # a fresh process: nothing held
    with lab_data.admitted(record) as back:
        assert back.name == upload.name
        assert np.array_equal(back.surface.data[0], upload.surface.data[0])
        assert np.array_equal(back.surface.minima, upload.surface.minima)
        assert upload.name in surface_names()
        config, notices = from_query({"surface": upload.name})
        assert config.surface == upload.name and not notices
    assert upload.name not in surface_names()
    for bad in (None, {"file": "r.csv"}, dict(record, loss="hinge"), dict(record, csv="1,2\n3,4\n")):
        with pytest.raises(ud.DataError):
            with lab_data.admitted(bad):
                pass


def test_numbers_are_plain_ascii_numbers():
    table = ud.parse_csv("a,b,c,d\n1_000,١٢,0x10,1\n2,3,4,5\n".encode(), "n.csv")
    for column in ("a", "b", "c"):
        with pytest.raises(ud.DataError, match="not a number"):
            ud.numbers(table, column)
    assert np.array_equal(ud.numbers(table, "d"), [1.0, 5.0])
    table = ud.parse_csv(b"x,y\n-1.5e3,+.5\n2.,7\n", "n.csv")
    assert np.array_equal(ud.numbers(table, "x"), [-1500.0, 2.0])


def test_one_long_cell_does_not_widen_a_column():
    long = "z" * 100_000
    table = ud.parse_csv(f"x,y,note\n1,2,{long}\n2,3,a\n".encode(), "l.csv")
    assert table.column("note").dtype == object
    assert ud.make_surface(table, "x", "y").n_samples == 2


def test_the_binned_softplus_sum_is_within_its_bound():
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, 5000)
    weights = np.full(x.size, 1 / x.size)
    ws, bs = np.linspace(-2, 3, 13), np.linspace(-9, 6, 11)
    binned = ud._softplus_binned(ws, bs, x, weights)
    exact = np.logaddexp(0.0, ws[None, :, None] * x[None, None, :] + bs[:, None, None]).mean(-1)
    assert binned is not None
    assert np.max(np.abs(binned - exact)) <= ud.BIN_WIDTH ** 4 / 3072


def test_app_the_column_choice_survives_presenter_mode():
    content, _, _ = regression_csv()
    at = _app()
    at.file_uploader(key="user_csv").set_value(("mine.csv", content, "text/csv")).run()
    at.selectbox(key="user_x").set_value("noise").run()
    chosen = at.session_state["surface"]
    at.toggle(key="presenter").set_value(True).run()
    _ok(at)
    at.toggle(key="presenter").set_value(False).run()
    _ok(at)
    assert at.session_state["surface"] == chosen
    assert at.selectbox(key="user_x").value == "noise"


def test_logistic_full_batch_over_repeated_x_equals_the_mean_over_rows():
    rng = np.random.default_rng(3)
    age = rng.integers(18, 80, 2000)
    bought = (age + rng.normal(0, 15, age.size) > 50).astype(int)
    s = ud.make_surface(ud.parse_csv(csv_bytes(["age", "bought"], zip(age, bought)), "a.csv"),
                        "age", "bought", ud.CROSS_ENTROPY)
    x, y = s.data
    assert np.unique(x).size == 62  # 62 distinct ages for 2000 rows
    for w in ([0.1, -5.0], [-0.2, 3.0], [1.0, -60.0]):
        w = np.array(w)
        z = w[0] * x + w[1]
        assert np.isclose(s.loss(w), np.mean(np.logaddexp(0, z) - y * z), rtol=1e-12)
        p = 1 / (1 + np.exp(-z))
        assert np.allclose(s.grad(w), [np.mean((p - y) * x), np.mean(p - y)], rtol=1e-10, atol=1e-14)
        numeric = central(lambda v: float(s.loss(v)), w)
        assert np.allclose(s.grad(w), numeric, rtol=1e-6, atol=1e-8)
    W = np.stack(np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-9, 9, 4)), -1)
    assert s.loss(W).shape == (4, 5) and s.grad(W).shape == (4, 5, 2)


def test_the_json_export_carries_uploaded_data_and_loading_brings_the_surface_back():
    from lab import export
    from lab.runs import run_key, run_one

    content, _, _ = regression_csv()
    upload = lab_data.build(lab_data.read(content, "r.csv"), "x", "y", ud.MSE)
    config = Config(surface=upload.name, epochs=40, batch_size=16)
    results = [run_one(config, choice) for choice in config.runs]
    text = export.to_json(config, results)
    assert '"data"' in text and upload.name in text
    lab_data._HELD.clear()  # a fresh process: nothing held, no session upload
    loaded, runs = export.from_json(text)
    assert loaded.surface == upload.name and loaded.batch_size == 16
    assert np.array_equal(loaded.surface_obj().data[0], upload.surface.data[0])
    (key,) = runs
    assert key == run_key(config, config.runs[0])
    assert np.array_equal(runs[key].trajectory.params, results[0].trajectory.params)
    assert upload.name not in surface_names()  # admitted only while the file was read
    import json
    doc = json.loads(text)
    doc["data"]["csv"] = "1,2\n3,4\n"
    with pytest.raises(export.LoadError, match="uploaded data cannot be used.*no header"):
        export.from_json(json.dumps(doc))
    del doc["data"]
    with pytest.raises(export.LoadError, match="not valid here"):
        export.from_json(json.dumps(doc))  # without its data the file names an unknown surface


def test_app_a_saved_json_brings_an_uploaded_surface_back_in_a_new_session():
    from lab import export
    from lab.runs import run_one

    content, _, _ = regression_csv()
    at = _app()
    at.file_uploader(key="user_csv").set_value(("mine.csv", content, "text/csv")).run()
    _ok(at)
    name = at.session_state["surface"]
    config = Config(surface=name, epochs=30)
    text = export.to_json(config, [run_one(config, c) for c in config.runs])
    lab_data._HELD.clear()  # another server process: nothing held
    at = _app()
    at.session_state["panel"] = "Share and export"
    at.run()
    at.file_uploader(key="upload_runs").set_value(("runs.json", text.encode(), "application/json")).run()
    _ok(at)
    assert at.session_state["surface"] == name
    assert not at.error
    assert any("Loaded" in s.value and "runs.json" in s.value for s in at.success)


# --- issue 16.7: the bad-file words, the loss radio, the axes, the starting η, the data picture --

def _view_figures(at) -> dict:
    from ui import descent_view

    (element,) = [e for e in at.get("bidi_component") if e.proto.bytes]
    return descent_view.decode(element.proto.bytes)["figures"]


def test_app_a_two_column_file_that_fails_does_not_point_at_column_pickers():
    at = _app()
    # two columns, the target words of three kinds: no two classes, no numbers
    content = csv_bytes(["x", "colour"], [(1, "red"), (2, "green"), (3, "blue"), (4, "red")])
    at.file_uploader(key="user_csv").set_value(("two.csv", content, "text/csv")).run()
    _ok(at)
    (message,) = [e.value for e in at.error]
    assert "columns below" not in message and "loss below" in message
    assert not [s for s in at.selectbox if s.key in ("user_x", "user_target")]


def test_app_the_loss_radio_stays_with_the_surface_when_a_loss_is_refused():
    content, _, _ = classification_csv(words=True)  # a target of words: only cross-entropy fits
    at = _app()
    at.file_uploader(key="user_csv").set_value(("c.csv", content, "text/csv")).run()
    _ok(at)
    logistic = at.session_state["surface"]
    assert at.radio(key="user_loss").value == ud.CROSS_ENTROPY
    at.radio(key="user_loss").set_value(ud.MSE).run()
    _ok(at)
    assert at.error and at.session_state["surface"] == logistic
    assert at.radio(key="user_loss").value == ud.CROSS_ENTROPY  # it did not flip to Linear


def test_app_an_upload_starts_at_its_own_eta_and_its_axes_say_w_and_b():
    rng = np.random.default_rng(3)
    x = rng.normal(500.0, 80.0, 100)  # unscaled: λ_max is about 2·mean(x²) = 5e5
    content = csv_bytes(["price", "sales"], zip(x, 3 * x + rng.normal(0, 5, 100)))
    at = _app({"opt": "sgd"})  # SGD's η comes from the curvature (Adam's: the next test)
    at.file_uploader(key="user_csv").set_value(("big.csv", content, "text/csv")).run()
    _ok(at)
    s = surface_for(at.session_state["surface"])
    lam = float(np.linalg.eigvalsh(s.hessian(s.minima[0])).max())
    lr = at.session_state[__import__("ui.sidebar", fromlist=["x"]).learning_rate_key()]
    assert lr < 2 / lam or lr == 1e-4
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "starts at η" in captions or "Even the smallest η" in captions
    # a normal-sized upload: no divergence at its starting η, and the caption names that η
    content, _, _ = regression_csv()
    at.file_uploader(key="user_csv").set_value(("mine.csv", content, "text/csv")).run()
    _ok(at)
    s = surface_for(at.session_state["surface"])
    lam = float(np.linalg.eigvalsh(s.hessian(s.minima[0])).max())
    lr = at.session_state[__import__("ui.sidebar", fromlist=["x"]).learning_rate_key()]
    assert lr < 2 / lam and f"starts at η = {lr:g}" in " ".join(c.value for c in at.sidebar.caption)
    assert not [e.value for e in at.error if "diverged" in e.value]
    figs = _view_figures(at)
    assert figs["contour"]["layout"]["xaxis"]["title"]["text"] == "w"
    assert figs["contour"]["layout"]["yaxis"]["title"]["text"] == "b"
    assert figs["surface3d"]["layout"]["scene"]["yaxis"]["title"]["text"] == "b"


def _line_csv():
    """The reviewer's kind of file: two columns x, y, 50 rows, y ≈ 3x + 10 + noise, x in 0..10."""
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0, 10, 50))
    return csv_bytes(["x", "y"], ((f"{a:.3f}", f"{b:.3f}") for a, b in
                                  zip(x, 3 * x + 10 + rng.normal(0, 2, 50))))


def test_an_upload_starts_adam_at_an_eta_that_reaches_the_minimum_and_sgd_at_a_stable_one():
    """1/λ_max (0.015 here) is SGD's η; Adam steps about η per weight, and at 0.015 it was still
    short of the tolerance after 500 epochs. Each gets an η that serves it."""
    from lab.config import Config, RunChoice
    from lab.runs import run_one

    upload = lab_data.build(lab_data.read(_line_csv(), "line.csv"))
    s = upload.surface
    lam = float(np.linalg.eigvalsh(s.hessian(s.minima[0])).max())
    for presets, rule in ((["adam"], "distance"), (["sgd", "adam"], "curvature")):
        lr, chosen = lab_data.starting_lr(upload, presets)
        assert chosen == rule
        config = Config(surface=upload.name, runs=tuple(RunChoice(p) for p in presets),
                        learning_rate=lr, epochs=500)
        results = [run_one(config, choice) for choice in config.runs]
        assert all(r.trajectory.status != "diverged" for r in results)
        if rule == "distance":
            assert results[0].summary.epochs_to_tolerance is not None  # Adam gets there
            words = lab_data.stability_words(upload, lr, rule)
            assert f"starts at η = {lr:g}" in words and "adaptive" in words
        else:
            assert lr < 2 / lam


def test_app_an_upload_on_the_default_adam_page_starts_at_adams_eta_and_fills_the_map():
    at = _app()
    at.file_uploader(key="user_csv").set_value(("line.csv", _line_csv(), "text/csv")).run()
    _ok(at)
    upload = lab_data.held(at.session_state["surface"])
    lr = at.session_state[__import__("ui.sidebar", fromlist=["x"]).learning_rate_key()]
    assert (lr, "distance") == lab_data.starting_lr(upload, ["adam"])
    assert f"starts at η = {lr:g}" in " ".join(c.value for c in at.sidebar.caption)
    # the reviewer's six rows: a box w −2..6, b −15..15, drawn to scale a strip a quarter of
    # the panel wide; now w is drawn ×4 and the map says so
    two = csv_bytes(["x", "y"], [(1, 2.1), (2, 3.9), (3, 6.2), (4, 8.1), (5, 9.8), (6, 12.2)])
    at.file_uploader(key="user_csv").set_value(("two.csv", two, "text/csv")).run()
    _ok(at)
    layout = _view_figures(at)["contour"]["layout"]
    (x0, x1), (y0, y1) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    drawn = abs(x1 - x0) / abs(y1 - y0) / layout["yaxis"]["scaleratio"]
    assert 2 / 3 <= drawn <= 1.5
    assert [a["text"] for a in layout["annotations"]] == ["w drawn ×4"]


def _data_picture(at):
    import json

    charts = at.get("plotly_chart")
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        if any((t.get("meta") or {}).get("role") == "model" for t in spec["data"]):
            return spec
    return None


@pytest.mark.parametrize("query", [{"surface": "linear_regression"},
                                   {"surface": "logistic_regression", "opt": "sgd,adam"}])
def test_app_the_data_picture_shows_the_rows_and_each_runs_model_at_the_inspected_epoch(query):
    from lab.runs import run_one

    at = _app({**query, "epochs": "40"})
    _ok(at)
    spec = _data_picture(at)
    assert spec is not None, "no picture of the data under the views"
    config, _ = from_query(dict(at.query_params))
    runs = [run_one(config, c).trajectory for c in config.runs]
    models = [t for t in spec["data"] if (t.get("meta") or {}).get("role") == "model"]
    assert len(models) == len(runs) and all(m["name"].endswith("at epoch 40") for m in models)
    # pausing the views at epoch 7 (the view reports it) shows each run's model of epoch 7
    from ui import panels

    at.session_state[panels.INSPECT_EPOCH] = 7
    at.run()
    _ok(at)
    spec = _data_picture(at)
    models = [t for t in spec["data"] if (t.get("meta") or {}).get("role") == "model"]
    assert all(m["name"].endswith("at epoch 7") for m in models)
    s = config.surface_obj()
    x = np.asarray(models[0]["x"]["bdata"] if isinstance(models[0]["x"], dict) else models[0]["x"])
    if isinstance(models[0]["x"], dict):  # plotly's typed-array encoding
        import base64

        x = np.frombuffer(base64.b64decode(models[0]["x"]["bdata"]), dtype=models[0]["x"]["dtype"])
        y = np.frombuffer(base64.b64decode(models[0]["y"]["bdata"]), dtype=models[0]["y"]["dtype"])
    else:
        y = np.asarray(models[0]["y"])
    w = runs[0].params[7]
    expected = s.model.forward(w[None, :], np.asarray(x, dtype=float)[None, :])
    expected = expected["p"] if "p" in expected else expected["yhat"]
    assert np.allclose(np.asarray(y, dtype=float), np.asarray(expected).ravel(), atol=1e-4)
