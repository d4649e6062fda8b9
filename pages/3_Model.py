"""Model: fit one mixed model and read every panel of its summary."""

from ui.sidebar import require_data, start_page
from ui.views import model as model_view

selection = start_page("Model", ":material/functions:")
require_data(selection)
model_view.draw(selection)
