"""The app's Streamlit helpers: the only package besides the pages that imports Streamlit.

``state`` holds session keys, defaults and the URL state; ``cache`` wraps pure
``lib`` calls in ``st.cache_data``; ``sidebar`` draws the shared sidebar;
``render`` turns result tables into formatted, downloadable Streamlit
elements; ``explain`` writes the plain-language "what this means" sentences;
``home_view``, ``data_view``, ``explore_view``, ``model_view`` and
``compare_view`` draw one page each, so the files in ``pages/`` stay short.
"""
