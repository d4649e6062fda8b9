"""The app's Streamlit helpers: the only package besides the pages that imports Streamlit.

``state`` holds session keys, defaults and the URL state; ``cache`` wraps pure
``lib`` calls in ``st.cache_data`` (``big`` for uploads read through DuckDB,
``row_limit`` the app's row cap for pandas); ``sidebar`` draws the shared sidebar;
``render`` turns result tables into formatted, downloadable Streamlit elements;
``presentation`` is the projector layout. The plain-language "what this means"
sentences are written by ``lib.present.explain``; ``ui.views`` draws one page or panel
per module, so the files in ``pages/`` stay short.
"""
