"""Plotly's subset bundle for the descent view (assets/plotly/, serving/bundle.py): it is served
when it was built from the plotly package's own plotly.js version, the full bundle otherwise, and
a figure with a trace type the served bundle lacks is refused in words."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs_version

from serving import bundle
from ui import descent_view as dv

ENTRY = bundle.SUBSET.parent / "entry.js"


def test_the_subset_matches_the_plotly_package_and_is_the_one_served():
    version, traces = bundle.subset_info()
    assert version == get_plotlyjs_version()
    assert bundle.source_path() == bundle.SUBSET
    assert bundle.traces() == traces
    # The first line names what entry.js registers (scatter is in plotly.js's core).
    registered = set(re.findall(r"plotly\.js/lib/([a-z0-9]+)'", ENTRY.read_text())) - {"core"}
    assert traces == registered | {"scatter"}
    assert bundle.SUBSET.stat().st_size < bundle.full_path().stat().st_size / 2


def test_a_subset_of_another_plotly_version_falls_back_to_the_full_bundle(tmp_path, monkeypatch):
    other = tmp_path / "plotly-descent.min.js"
    other.write_bytes(b"/*! plotly.js v0.0.1 (MIT license): Descent Lab's subset, traces: scatter */\nvar Plotly={};")
    assert bundle.subset_info(other) == ("0.0.1", frozenset({"scatter"}))
    assert bundle.subset_info(tmp_path / "missing.js") is None
    (tmp_path / "bad.js").write_bytes(b"var Plotly = {};")
    assert bundle.subset_info(tmp_path / "bad.js") is None
    monkeypatch.setattr(bundle, "SUBSET", other)
    bundle.choice.cache_clear()
    try:
        assert bundle.choice() == (bundle.full_path(), None)
    finally:
        monkeypatch.undo()
        bundle.choice.cache_clear()
    assert bundle.source_path() == bundle.SUBSET


@pytest.mark.parametrize("trace", [go.Scatter(x=[1], y=[2]), go.Scatter3d(x=[1], y=[2], z=[3]),
                                   go.Surface(z=[[1, 2], [3, 4]]), go.Contour(z=[[1, 2], [3, 4]]),
                                   go.Heatmap(z=[[1, 2], [3, 4]]), {"x": [1], "y": [2]}])
def test_the_view_takes_every_trace_type_of_the_subset(trace):
    dv.check_trace_types({"contour": go.Figure(trace).to_plotly_json() if not isinstance(trace, dict)
                          else {"data": [trace]}})


def test_a_trace_type_the_bundle_lacks_is_refused_with_what_to_do():
    spec = go.Figure(go.Bar(x=[1], y=[2])).to_plotly_json()
    with pytest.raises(ValueError, match=r"'bar' trace.*assets/plotly/entry\.js.*make plotly-bundle"):
        dv.check_trace_types({"loss": spec})
