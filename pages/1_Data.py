"""Data: choose or upload a data set, assign column roles, read the validation report."""

from ui.sidebar import run_page
from ui.views import data as data_view

run_page("Data", ":material/table:", data_view.draw, needs_data=False)
