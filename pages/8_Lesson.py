"""Lesson: the tutorial's steps on the active data set, one step per URL (``?step=3``)."""

from ui.sidebar import require_data, start_page
from ui.views import lesson as lesson_view

selection = start_page("Lesson", ":material/school:")
require_data(selection)
lesson_view.draw(selection)
