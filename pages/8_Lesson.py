"""Lesson: the tutorial's steps on the active data set, one step per URL (``?step=3``)."""

from ui.sidebar import run_page
from ui.views import lesson as lesson_view

run_page("Lesson", ":material/school:", lesson_view.draw)
