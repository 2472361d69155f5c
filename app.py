"""Descent Lab: watch gradient descent happen on a loss surface.

The router: page config → the link → the sidebar → the surface page or the network page. No math
and no figures here: engine/ trains, lab/ knows the page, figures/ draws, ui/ shows.
"""

from __future__ import annotations

import streamlit as st

from ui import class_mode, network_page, sidebar, surface_page
from ui.link_state import read_link_once, sync_link

st.set_page_config(page_title="Descent Lab", page_icon="📉", layout="wide",
                   initial_sidebar_state="expanded")
# Less empty space above the views, so the whole picture fits a 1280×720 projector.
st.html("<style>.block-container{padding:1.2rem 2.2rem 1rem 2.2rem}</style>")

class_mode.read_class_link()  # ?class=…: out of the address bar before the link is read
read_link_once()
class_mode.follow_teacher()  # a student's widgets take the teacher's page
config = sidebar.sidebar()
query = sync_link(config)
if class_mode.render(config, query):
    pass  # the teacher's open question or a student's wait: the class panel shows the map
elif config.mode == "network":
    network_page.render(config, query)
else:
    surface_page.render(config, query, started_at=class_mode.reveal_time(),
                        hidden=class_mode.hidden_run())
