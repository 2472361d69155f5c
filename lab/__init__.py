"""What the page knows, in plain Python (no streamlit, no plotly): the config and its link, the
lessons, runs of the engine for a config, the five steps as data, export and load."""
