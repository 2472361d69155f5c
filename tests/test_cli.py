"""The `descent-lab export LINK --format json|csv|torch [--run K]` command (lab/cli.py): exit codes,
the page's messages for a bad link, and output that parses as the export. No torch needed."""

from __future__ import annotations

import ast
import csv
import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lab import export
from lab.cli import FORMATS, main, query_of
from lab.link import from_query
from surfaces import datasets

ROOT = Path(__file__).resolve().parent.parent
LINK = "surface=booth&opt=adam,sgd&lr=0.05&epochs=4"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_link_may_be_a_query_with_or_without_question_mark_or_a_url():
    want = {"surface": "booth", "opt": "adam,sgd", "lr": "0.05", "epochs": "4"}
    assert query_of(LINK) == want
    assert query_of("?" + LINK) == want
    assert query_of(f"http://localhost:8501/?{LINK}#top") == want
    assert query_of(f"localhost:8501/?{LINK}") == want
    assert query_of("  ?" + LINK + "\n") == want
    assert query_of("a=1&a=2") == {"a": "2"}  # the last value, as st.query_params gives
    assert query_of("") == {}


def test_json_export_parses_and_loads_back():
    code, out, err = run("export", LINK, "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["format"] == export.FORMAT
    assert [r["optimizer"] for r in doc["runs"]] == ["adam", "sgd"]
    assert all(len(r["epochs"]) == 5 for r in doc["runs"])
    config, results = export.from_json(out)
    assert config == from_query(query_of(LINK))[0]
    assert len(results) == 2


def test_json_is_the_default_and_a_full_url_works():
    code, out, _ = run("export", f"http://localhost:8501/?{LINK}")
    assert code == 0
    assert json.loads(out)["format"] == export.FORMAT


def test_csv_export_is_a_plain_rectangular_table_with_a_header():
    code, out, err = run("export", "?" + LINK, "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    header, body = rows[0], rows[1:]
    assert header == ["optimizer", "epoch", "w1", "w2", "loss", "grad_norm", "lr", "status"]
    assert len(body) == 2 * 5  # one row per run and epoch, nothing else (no comment line)
    assert all(len(row) == len(header) for row in body)
    assert [row[0] for row in body] == ["Adam"] * 5 + ["SGD"] * 5
    assert all(float(row[4]) >= 0 for row in body)  # every loss cell is a number
    import pandas  # what a practitioner opens it with (a dependency of streamlit)

    frame = pandas.read_csv(io.StringIO(out))
    assert list(frame.columns) == header and frame.shape == (10, 8)
    assert frame["loss"].dtype == float and frame["epoch"].tolist() == [0, 1, 2, 3, 4] * 2


def test_the_settings_are_in_the_json_export():
    code, out, _ = run("export", LINK + "&seed=7&batch=8&surface=linear_regression", "--format", "json")
    assert code == 0
    config = json.loads(out)["config"]
    assert config["surface"] == "linear_regression" and config["opt"] == "adam,sgd"
    assert config["lr"] == "0.05" and config["epochs"] == "4"
    assert config["seed"] == "7" and config["batch"] == "8"


def test_run_narrows_json_and_csv_to_that_run():
    code, out, _ = run("export", LINK, "--format", "json", "--run", "2")
    assert code == 0
    doc = json.loads(out)
    assert [r["optimizer"] for r in doc["runs"]] == ["sgd"]
    assert doc["config"]["opt"] == "sgd"
    export.from_json(out)  # still a file the page loads


def test_torch_export_is_a_python_script_of_the_chosen_run():
    code, out, err = run("export", LINK, "--format", "torch", "--run", "2")
    assert code == 0 and err == ""
    ast.parse(out)
    assert "torch.optim.SGD(params, lr=0.05" in out
    code, first, _ = run("export", LINK, "--format", "torch")
    assert code == 0 and "torch.optim.Adam(params, lr=0.05" in first


def test_torch_export_of_a_network_link():
    code, out, _ = run("export", "mode=network&epochs=2", "--format", "torch")
    assert code == 0
    assert "nn.Sequential(" in out and "nn.Linear(2, 16)" in out


@pytest.mark.parametrize("k", ["0", "3", "-1"])
def test_a_run_number_the_link_does_not_have_exits_2(k):
    code, out, err = run("export", LINK, "--format", "torch", "--run", k)
    assert code == 2 and out == ""
    assert f"--run {k} is out of range: this link has 2 runs (1 Adam, 2 SGD); choose 1 to 2." in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bad_link_exits_1_with_the_pages_notices_and_nothing_on_stdout(fmt):
    link = "surface=nowhere&lr=abc&epochs=3"
    code, out, err = run("export", link, "--format", fmt)
    _, notices = from_query(query_of(link))
    assert code == 1
    assert out == ""  # not the defaults' export: a pipe must not take it for this link's
    assert len(notices) == 2
    for notice in notices:  # the same words the page shows
        assert f"descent-lab: {notice}" in err
    assert "nothing written" in err


def test_garbage_is_a_bad_link():
    code, out, err = run("export", "hello", "--format", "csv")
    _, notices = from_query(query_of("hello"))
    assert code == 1 and out == ""
    assert notices and all(notice in err for notice in notices) and "hello" in err


def test_a_network_link_exports_the_network_pages_csv_and_json():
    link = "mode=network&data=noisy_sine&opt=adam,sgd&epochs=3&test=0.3"
    code, out, err = run("export", link, "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(export.NETWORK_COLUMNS)
    assert len(rows) == 1 + 2 * 4 and all(len(r) == len(rows[0]) for r in rows)
    header = rows[0]
    assert all(r[header.index("accuracy")] == "" for r in rows[1:])  # regression: no accuracy
    assert all(float(r[header.index("held_out_loss")]) > 0 for r in rows[1:])
    code, out, _ = run("export", link, "--format", "json", "--run", "2")
    doc = json.loads(out)
    assert code == 0 and doc["format"] == export.NETWORK_FORMAT
    assert doc["config"]["test"] == "0.3" and doc["config"]["opt"] == "sgd"
    assert [r["optimizer"] for r in doc["runs"]] == ["sgd"] and doc["held_out_samples"] == datasets.held_out_size(100, 0.3)


def test_an_unknown_format_or_command_is_a_usage_error(capsys):
    assert run("export", LINK, "--format", "yaml")[0] == 2
    assert run("import", LINK)[0] == 2
    assert run()[0] == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_command_is_installed_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["descent-lab"] == "lab.cli:main"
    # torch is an extra, pinned exactly, never a runtime dependency
    assert project["project"]["optional-dependencies"]["torch"] == ["torch==2.13.0"]
    assert not any(d.startswith("torch") for d in project["project"]["dependencies"])


def test_the_module_runs_as_a_command():
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "export", LINK, "--format", "csv",
                           "--run", "9"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "out of range" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "export", LINK, "--format", "csv"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("optimizer,epoch,")
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "export", "lr=abc", "--format", "torch"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and proc.stdout == "" and "lr=abc" in proc.stderr


def test_the_installed_command():
    exe = Path(sys.executable).with_name("descent-lab")
    if not exe.exists():
        pytest.skip("the package is not installed with its scripts in this environment "
                    "(pip install -e . installs the descent-lab command)")
    proc = subprocess.run([str(exe), "export", "?" + LINK, "--format", "json", "--run", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [r["optimizer"] for r in json.loads(proc.stdout)["runs"]] == ["adam"]


def test_a_network_that_cannot_be_built_exits_1_with_the_pages_words():
    from lab.runs import network_result

    link = "mode=network&hidden=0&epochs=2"
    code, out, err = run("export", link, "--format", "torch")
    assert code == 1 and out == ""
    page = network_result(from_query(query_of(link))[0]).error
    assert page and f"descent-lab: {page}" in err
