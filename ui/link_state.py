"""The link on the page: read once per session into the widgets, written back after every change,
and its notices shown until the user changes a setting."""

from __future__ import annotations

import streamlit as st

from lab import link
from ui import sidebar

_LOADED = "link_loaded"
_NOTICES = "link_notices"


def read_link_once() -> None:
    """Open the page's link: its config goes into the widgets, then the widgets own the state."""
    if _LOADED in st.session_state:
        return
    config, notices = link.from_query(st.query_params.to_dict())
    sidebar.load_config(config)
    # Shown until the user changes a setting (not just until the next rerun).
    # The link the notices belong to is the first one the page writes (show_link_notices):
    # the sidebar may normalise the link's config (a start snapped to its slider), and that is
    # not the user changing a setting.
    st.session_state[_NOTICES] = (notices, None)
    st.session_state[_LOADED] = True


# What only the surface page reads: a network-mode link without them (they went stale there).
SURFACE_KEYS = ("surface", "f", "fx", "fy", "x0", "y0", "log_scale")


def page_query(config) -> dict:
    """The link of the page on screen: lab.link's query, less the surface page's keys when the
    page is in network mode (they were stale there: a copied network link still named the
    surface and start point the network page does not use)."""
    query = link.to_query(config)
    if config.mode == "network":
        query = {k: v for k, v in query.items() if k not in SURFACE_KEYS}
    return query


def sync_link(config) -> dict:
    """Write the config into the address bar; returns its query."""
    query = page_query(config)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    return query


def show_link_notices(query: dict) -> None:
    """What the link asked for that could not be used, while the page still shows that link.
    A notice is Markdown in which every piece of the link is a code span (lab.link.code), so
    what the link holds is shown as it is, never read as Markdown or HTML."""
    notices, link_query = st.session_state.get(_NOTICES, ([], None))
    if notices and link_query is None:
        link_query = dict(query)
        st.session_state[_NOTICES] = (notices, link_query)
    if notices and query == link_query:
        if len(notices) == 1:
            st.warning(notices[0], icon=":material/link:")
            return
        # Several notices stacked pushed the views below the fold: one folded line instead.
        with st.expander(f"The link had {len(notices)} settings that could not be used; the page "
                         "uses its defaults for them", icon=":material/link:"):
            for notice in notices:
                st.warning(notice)
