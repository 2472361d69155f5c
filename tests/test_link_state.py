"""The address bar and the link's notices (ui/link_state.py), in AppTest."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def fresh(query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def test_many_bad_link_values_fold_into_one_expander():
    at = fresh({"lr": "banana", "epochs": "-3", "seed": "1e309", "clip": "x", "warmup": "abc"})
    assert not at.exception
    (fold,) = [e for e in at.expander if "could not be used" in e.label]
    assert "5 settings" in fold.label
    # every notice is still there, inside it, and nothing but the fold sits above the views
    assert len(fold.warning) == 5 and len(at.warning) == 5


def test_one_bad_link_value_is_one_warning_without_a_fold():
    at = fresh({"lr": "banana"})
    assert not at.exception
    assert len(at.warning) == 1 and not [e for e in at.expander if "could not be used" in e.label]


def test_a_network_link_drops_the_surface_pages_keys():
    at = fresh({"surface": "beale", "x0": "1", "y0": "1", "log_scale": "on"})
    assert at.query_params["surface"] == "beale"
    at.button_group(key="mode").set_value("network").run()
    assert not at.exception
    stale = {"surface", "x0", "y0", "log_scale", "f", "fx", "fy"} & set(at.query_params)
    assert at.query_params["mode"] == "network" and not stale, dict(at.query_params)
