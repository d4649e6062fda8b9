"""Data: choose or upload a data set, assign column roles, read the validation report."""

from ui.sidebar import start_page
from ui.views import data as data_view

selection = start_page("Data", ":material/table:")
data_view.draw(selection)
