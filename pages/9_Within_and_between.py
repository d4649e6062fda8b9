"""Within and between: the pooled, within-group and between-group slopes of one predictor."""

from ui.sidebar import run_page
from ui.views import within_between as within_between_view

run_page("Within and between", ":material/stacked_line_chart:", within_between_view.draw)
