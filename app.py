"""Home: what the app is for, the data in use, and where to go next."""

from ui.sidebar import start_page
from ui.views import home as home_view

selection = start_page("Home", ":material/school:")
home_view.draw(selection)
