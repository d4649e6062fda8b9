"""One module per page or panel: each draws lib results with Streamlit."""
