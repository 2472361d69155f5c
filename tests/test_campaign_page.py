"""Campaign: random configurations through the whole page (AppTest). A seeded generator writes
links as in test_campaign_links (valid, edge and garbage values, per-run settings, strays),
plus typed surfaces whose box has up to 17 decimals with the start on its edges, lessons, the
network mode and presenter mode; epochs are kept small. For each link the page must run
without an exception and without a RuntimeWarning, show every notice from_query gives, and
write a link of its own that reopens with no notice.

Size: 40 links, one AppTest run each (well under a second each here, 2 cores)."""

import random
import warnings
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.link import from_query
from test_campaign_links import random_link

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LINKS = 40


def page_link(seed: int) -> dict:
    rng = random.Random(f"campaign-page-{seed}")
    query, garbage = random_link(rng)
    # AppTest passes the query through a URL; keys must be non-empty text
    query = {k: v for k, v in query.items() if k.strip()}
    if "epochs" not in garbage:
        query["epochs"] = str(rng.randint(1, 40))
    if query.get("mode") == "network":
        query["hidden"] = rng.choice(["", "4", "8-8"])
    if rng.random() < 0.35:  # a typed surface in a box with many decimals, started on its edge
        digits = rng.randint(1, 17)
        lo = round(rng.uniform(-5, 5), digits)
        hi = lo + rng.choice([1e-3, 0.01, 1.0, 7.3])
        query.update(surface="typed", f=rng.choice(["x^2 + y^2", "sin(x)*cos(y)", "\t(x-1)^2 + y^2"]),
                     fy=f"{lo!r},{hi!r}", x0=rng.choice(["0", "-3", "3"]),
                     y0=rng.choice([repr(lo), repr(hi), repr((lo + hi) / 2)]))
        query.pop("lesson", None)
    if rng.random() < 0.15:
        query["present"] = "1"
    return query


@pytest.mark.parametrize("seed", range(LINKS))
def test_a_random_link_runs_the_page_shows_its_notices_and_reopens_cleanly(seed):
    query = page_link(seed)
    _, notices = from_query(query)
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        at.run()
    assert not at.exception, (query, [e.value for e in at.exception])
    leaked = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not leaked, (query, [str(w.message) for w in leaked])
    shown = [w.value for w in at.warning]
    for notice in notices:
        assert notice in shown, (query, notice, shown)
    own = {k: at.query_params[k] for k in at.query_params}
    assert from_query(own)[1] == [], (query, own)
