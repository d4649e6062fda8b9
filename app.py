"""Home: what the app is for, the data in use, and where to go next."""

from ui.sidebar import run_page
from ui.views import home as home_view

run_page("Home", ":material/school:", home_view.draw, needs_data=False)
