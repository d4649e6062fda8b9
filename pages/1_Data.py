"""Data: choose or upload a data set, assign column roles, read the validation report."""

from ui import data_view
from ui.sidebar import start_page

selection = start_page("Data", ":material/table:")
data_view.draw(selection)
