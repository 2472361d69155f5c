"""The only room that touches st.* and st.session_state: sidebar, pages, panels, the descent-view
component wrapper and the one session cache."""
