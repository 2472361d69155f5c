"""Campaign: garbage links. A seeded generator writes links from every key the page knows
(the field table, the special keys, per-run keys such as adam.beta1, sgd-2.batch) and keys it
does not, with values that are valid, at an edge, or garbage (Markdown and HTML injection,
newlines, 5,000 digits, 1e400, nan, lists). For each link: from_query never raises; the page it
gives has a link of its own that reopens it with no notice; every notice is in words (no raw
Python message) and shows the link's text only inside code spans; every garbage value and every
unknown key is named by a notice.

Size: 2 x 300 links through from_query, about 3 s."""

import random

import pytest

from lab.config import PRESETS, preset_hyper
from lab.link import FIELDS, from_query, to_query, visible
from test_state import RAW_PYTHON, read_markdown

MARK = "x` **INJ** [a](http://127.0.0.1:9/) <b>B</b> `"
GARBAGE = [MARK, "nan", "1e400", "9" * 5000, "\n\n**INJ**", "-1,2,3", "[1, 2]", "`INJ`"]
VALID = {
    "lr": ["0.1", "0.003", "10", "1e-4", "0.105"], "epochs": ["1", "20", "2000"],
    "seed": ["0", "7", "2147483647"], "clip": ["off", "norm", "value"],
    "clip_limit": ["1e-6", "2.5", "1e6"], "schedule": ["constant", "step", "cosine"],
    "warmup": ["0", "3"], "speed": ["instant", "fast"], "log_scale": ["auto", "on"],
    "present": ["0", "1"], "mode": ["surface", "network"], "data": ["two_moons", "spirals"],
    "hidden": ["", "8", "16-16"], "act": ["relu", "tanh"], "test": ["0", "0.2", "0.5"],
    "surface": ["rosenbrock", "himmelblau", "typed", "logistic_regression", "bowl"],
    "f": ["x^2 + y^2", " sin(x)*cos(y) ", "(1-x)^2 + 100*(y-x^2)^2"],
    "fx": ["-3,3", "-3.636,-3.6350000000000002", "0,1e-3"], "fy": ["-2,2", "1,9999"],
    "opt": ["adam", "sgd,momentum", "nesterov,adam,rmsprop", "sgd,sgd-2", "adam,adam"],
    "batch": ["full", "1", "8", "32"], "x0": ["0", "-1.5", "3"], "y0": ["0", "2", "-3"],
    "lesson": ["lr-too-large", "momentum-valley"],
}
RUN_KEYS = ["adam", "sgd", "sgd-2", "nesterov", "momentum", "rmsprop", "adagrad"]
STRAY_KEYS = ["zzz", "foo.bar", "adam.zzz", "sgd.beta1", MARK, "adam." + MARK, "", "lr ", "LR"]


def _run_values(name: str, start) -> list[str]:
    if isinstance(start, bool):
        return ["0", "1", "true"]
    return [repr(float(start)), "0", "0.5", "0.9999", "1", "1000"]


def random_link(rng: random.Random) -> tuple[dict, set]:
    """A link and the keys whose values are garbage (each must get a notice)."""
    q, garbage = {}, set()
    for key in rng.sample(list(VALID), rng.randint(1, 8)):
        if rng.random() < 0.25:
            q[key] = rng.choice(GARBAGE)
            garbage.add(key)
        else:
            q[key] = rng.choice(VALID[key])
    for _ in range(rng.randint(0, 3)):
        run = rng.choice(RUN_KEYS)
        preset = run.split("-")[0]
        names = list(preset_hyper(preset)) + ["lr", "batch", "clip", "schedule"]
        name = rng.choice(names)
        if rng.random() < 0.3:
            q[f"{run}.{name}"] = rng.choice(GARBAGE)
        elif name in preset_hyper(preset):
            q[f"{run}.{name}"] = rng.choice(_run_values(name, preset_hyper(preset)[name]))
        else:
            q[f"{run}.{name}"] = rng.choice({"lr": ["0.01", "0.1"], "batch": ["full", "4", "3"],
                                              "clip": ["off", "norm:1", "value:0.5", "norm:0"],
                                              "schedule": ["step", "cosine", "lunar"]}[name])
    if rng.random() < 0.4:
        q[rng.choice(STRAY_KEYS)] = rng.choice(VALID["lr"] + GARBAGE)
    return q, garbage


def named(key: str, quoted: set[str]) -> bool:
    """Whether a notice quotes the key (as shown: control characters as escapes, a long one cut
    at 40 characters with …)."""
    shown = visible(key)
    return any(q == shown or (q.endswith("…") and shown.startswith(q[:-1])) for q in quoted)


def _quoted_keys(notices) -> set[str]:
    """The keys that notices quote (`key=value` in a code span)."""
    keys = set()
    for notice in notices:
        for span in read_markdown(notice)[1]:
            keys.add(span.split("=", 1)[0])
    return keys


@pytest.mark.parametrize("seed", [0, 1])
def test_garbage_links_never_raise_and_every_bad_value_is_named_in_words(seed):
    rng = random.Random(f"campaign-links-{seed}")
    known = {f.key for f in FIELDS} | set(VALID)
    for _ in range(300):
        query, garbage = random_link(rng)
        config, notices = from_query(query)
        # the page the link gives has a link of its own that reopens it, with no notice
        own = to_query(config)
        assert from_query(own) == (config, []), (query, own)
        for notice in notices:
            assert not any(raw in notice for raw in RAW_PYTHON), notice
            outside, _ = read_markdown(notice)
            for sign in ("INJ", "**", "](", "<b>", "http"):
                assert sign not in outside, (sign, notice)
        quoted = _quoted_keys(notices)
        capped = any("more parameters that this page does not know" in n for n in notices)
        for key in garbage:  # a garbage value is always named
            assert named(key, quoted), (key, query, notices)
        for key in query:  # and so is a key the page does not know (beyond five, counted)
            preset = key.partition(".")[0].split("-")[0]
            unknown = key not in known if "." not in key else preset not in PRESETS
            if unknown:
                assert named(key, quoted) or capped, (key, notices)


def test_a_run_batch_of_thousands_of_digits_is_a_notice_not_a_crash():
    config, notices = from_query({"opt": "sgd", "sgd.batch": "9" * 5000})
    assert config.runs[0].batch is None and len(notices) == 1 and "sgd.batch" in notices[0]
