"""Sandbox: simulate grouped data and compare OLS with the mixed model."""

from ui.sidebar import run_page
from ui.views import sandbox as sandbox_view

run_page("Sandbox", ":material/casino:", sandbox_view.draw, needs_data=False)
