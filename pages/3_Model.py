"""Model: fit one mixed model and read every panel of its summary."""

from ui.sidebar import run_page
from ui.views import model as model_view

run_page("Model", ":material/functions:", model_view.draw)
