"""The page's elements keep their places whether or not a run was trained in this script run: a
progress bar that came and went moved the views one place down, and Streamlit hides a moved
element for the rest of the run (display: none), so the browser redrew all three views."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app_pages import open_app


def _places(at: AppTest) -> list[str]:
    return [getattr(node, "type", type(node).__name__) for node in at.main.children.values()]


def test_the_surface_pages_places_are_the_same_trained_or_cached():
    # 450 epochs at an η no other test uses: trained by the first open (the old page showed a
    # progress bar for 400 epochs or more), taken from the server's cache by the second.
    query = {"surface": "bowl", "opt": "sgd", "lr": "0.007", "epochs": "451", "speed": "instant"}
    trained = open_app(query)
    cached = open_app(query)
    assert _places(trained) == _places(cached)


def test_the_network_pages_places_are_the_same_trained_or_cached():
    query = {"mode": "network", "seed": "4242", "epochs": "7", "speed": "instant"}
    trained = open_app(query)
    cached = open_app(query)
    assert _places(trained) == _places(cached)
