"""Home: what the app is for, the data in use, and where to go next."""

from ui import home_view
from ui.sidebar import start_page

selection = start_page("Home", ":material/school:")
home_view.draw(selection)
