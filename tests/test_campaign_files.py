"""Campaign: hostile run files. Real exports of the page (three of them, a version 1 copy too)
are mutated by a seeded generator: truncated, bytes flipped, values swapped for other types,
keys deleted or added, values nested thousands deep, numbers made huge or overflowing, NaN and
Infinity tokens, and contradictions (statuses, cut or repeated epochs, another surface, η,
epoch count or start in the configuration, a weight or loss moved, the divergence epoch). Every
mutated file must be refused with a LoadError in words, or, if accepted, hold exactly the runs
the engine produces for the configuration it holds: nothing else may come out (no other
exception, no file that lies).

Size: 4 base files x 120 mutations = 480 loads, about 3 s."""

import json
import random

import numpy as np
import pytest

from lab.config import Config, RunChoice
from lab.export import LoadError, from_json, to_json
from lab.link import from_query
from lab.runs import run_key, run_one
from test_state import RAW_PYTHON, read_markdown

MARK = "x` **INJ** [a](http://127.0.0.1:9/) `"
MUTATIONS_PER_FILE = 120


def _export(config):
    return to_json(config, [run_one(config, choice) for choice in config.runs])


def _bases() -> dict[str, str]:
    plain = Config(surface="himmelblau", runs=(RunChoice("adam"), RunChoice("momentum")),
                   learning_rate=0.01, epochs=20, start=(-1.0, 1.5))
    diverging = Config(surface="typed", expression="exp(x^2) + y^2",
                       runs=(RunChoice("sgd"), RunChoice("adam")), learning_rate=0.1, epochs=20)
    mixed = Config(surface="logistic_regression",
                   runs=(RunChoice("nesterov", (("momentum", 0.0),)), RunChoice("sgd", batch=8),
                         RunChoice("adam", schedule="step")),
                   learning_rate=0.05, epochs=15, batch_size=16, schedule="cosine", warmup=2, seed=3)
    out = {"plain": _export(plain), "diverging": _export(diverging), "mixed": _export(mixed)}
    v1 = json.loads(out["plain"])
    v1["version"] = 1
    out["version1"] = json.dumps(v1)
    return out


BASES = _bases()


def _leaves(node, path=()):
    """Every (path, value) in a parsed document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    yield path, node


def _set(doc, path, value):
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


OTHER_VALUES = [None, True, False, 0, -1, 1.5, "", MARK, "inf", "-inf", "nan", [], {}, [1.0],
                {"a": 1}, 10**30, 1e308, "running", "diverged", "finished", "converged", 2**63]
CONFIG_CHANGES = [("surface", "rosenbrock"), ("surface", "bowl"), ("lr", "0.02"), ("lr", "0.1"),
                  ("epochs", "19"), ("epochs", "200"), ("seed", "4"), ("x0", "0.5"),
                  ("schedule", "constant"), ("warmup", "0"), ("batch", "4"), ("opt", "adam"),
                  ("mode", "network"), ("clip", "norm"), ("speed", "fast"), ("present", "1"),
                  ("adam.beta1", "0.5"), ("sgd.batch", "4"), ("f", "x^2 + y^2"), ("fx", "-2,2")]


def mutate(text: str, rng: random.Random) -> tuple[str | bytes, str]:
    """One hostile variant of a saved file, and the name of what was done to it."""
    doc = json.loads(text)
    leaves = list(_leaves(doc))
    kind = rng.choice(["truncate", "flip", "swap", "delete", "add", "nest", "huge", "token",
                       "status", "cut", "repeat", "shuffle", "config", "move", "diverged",
                       "label", "reformat", "version"])
    if kind == "truncate":
        return text[:rng.randrange(len(text))], kind
    if kind == "flip":
        raw = bytearray(text.encode())
        for _ in range(rng.randint(1, 5)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), kind
    if kind in ("swap", "delete", "nest"):
        path, _ = rng.choice([leaf for leaf in leaves if leaf[0]])
        if kind == "swap":
            _set(doc, path, rng.choice(OTHER_VALUES))
        elif kind == "delete":
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
        else:
            depth = rng.choice([25, 300, 3000])
            inner = json.dumps(_get(doc, path))
            _set(doc, path, "@@NEST@@")
            return json.dumps(doc).replace('"@@NEST@@"', "[" * depth + inner + "]" * depth), kind
        return json.dumps(doc), kind
    if kind == "add":
        # harmless outside the configuration (whose every key is a setting of the link)
        path, node = rng.choice([leaf for leaf in leaves if isinstance(leaf[1], dict)
                                 and leaf[0] != ("config",)])
        node["extra_" + str(rng.randrange(100))] = rng.choice(OTHER_VALUES)
        return json.dumps(doc), kind
    if kind in ("huge", "token"):
        numbers = [leaf for leaf in leaves if isinstance(leaf[1], float) and leaf[0]]
        path, _ = rng.choice(numbers)
        token = (rng.choice(["1" + "0" * rng.choice([41, 400, 5000]), "1e400", "-2e308", "1e-400"])
                 if kind == "huge" else rng.choice(["NaN", "Infinity", "-Infinity"]))
        _set(doc, path, "@@TOKEN@@")
        return json.dumps(doc).replace('"@@TOKEN@@"', token), kind
    runs = [r for r in doc["runs"] if "epochs" in r]
    run = rng.choice(runs)
    rows = run["epochs"]
    if kind == "status":
        run["status"] = rng.choice(["running", "converged", "diverged", "finished", "not run"])
    elif kind == "cut":
        n = rng.randrange(1, len(rows))
        run["epochs"] = rows[:n]
        if rng.random() < 0.5:
            run["epochs"][-1]["status"] = run["status"]
    elif kind == "repeat":
        i = rng.randrange(len(rows))
        rows.insert(i, dict(rows[i]))
    elif kind == "shuffle":
        i, j = rng.sample(range(len(rows)), 2)
        rows[i], rows[j] = rows[j], rows[i]
    elif kind == "config":
        key, value = rng.choice(CONFIG_CHANGES)
        doc["config"][key] = value
    elif kind == "move":
        row = rng.choice(rows)
        name = rng.choice(["w1", "w2", "loss", "grad_norm", "lr"])
        if isinstance(row[name], float):
            row[name] = row[name] * rng.choice([-1.0, 0.5, 1.1, 2.0]) + rng.choice([0.0, 0.3])
        else:
            row[name] = 1.0
    elif kind == "diverged":
        run["diverged_epoch"] = rng.choice([None, 0, len(rows) - 2, len(rows) - 1, len(rows), True])
    elif kind == "label":  # harmless: the page names runs from the configuration
        run["label"] = MARK
    elif kind == "reformat":  # harmless: other whitespace and key order
        return json.dumps(doc, indent=rng.choice([None, 0, 4]), sort_keys=True), kind
    elif kind == "version":
        doc["version"] = rng.choice([0, 1, 3, "2", 2.0, True, None, -1, 10**50])
    return json.dumps(doc), kind


HARMLESS = {"label", "reformat", "add"}


def _same_runs(config, results) -> None:
    """Accepted: the runs are exactly what the engine makes for the configuration."""
    assert len(results) == len(config.runs)
    for choice in config.runs:
        got = results[run_key(config, choice)]
        want = run_one(config, choice)
        assert (got.trajectory is None) == (want.trajectory is None)
        assert got.error == want.error
        if want.trajectory is None:
            continue
        g, w = got.trajectory, want.trajectory
        assert (g.status, g.diverged_epoch) == (w.status, w.diverged_epoch)
        for a, b in zip(g[:4], w[:4]):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(BASES))
def test_hostile_files_are_refused_in_words_or_hold_what_the_engine_makes(name):
    rng = random.Random(f"campaign-files-{name}")
    base_config, _ = from_json(BASES[name])
    counts = {"refused": 0, "accepted": 0}
    for _ in range(MUTATIONS_PER_FILE):
        data, kind = mutate(BASES[name], rng)
        try:
            config, results = from_json(data)
        except LoadError as err:
            message = str(err)
            assert message and message[0].isupper(), (kind, message)
            assert not any(raw in message for raw in RAW_PYTHON), (kind, message)
            outside, _ = read_markdown(message)
            assert "INJ" not in outside and "http" not in outside, (kind, message)
            assert kind not in HARMLESS, (kind, message)
            counts["refused"] += 1
            continue
        # anything else than LoadError propagates and fails the test: a crash
        assert from_query({})[0] is not None
        _same_runs(config, results)
        if kind in HARMLESS:
            assert config == base_config
        counts["accepted"] += 1
    assert counts["refused"] >= MUTATIONS_PER_FILE // 2, counts  # the campaign does bite
