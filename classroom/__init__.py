"""Class mode's shared state: the store (SQLite or Redis), the class logic and its JSON route.
Plain Python: no streamlit, no plotly."""
