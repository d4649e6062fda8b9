"""Within and between: the pooled, within-group and between-group slopes of one predictor."""

from ui.sidebar import require_data, start_page
from ui.views import within_between as within_between_view

selection = start_page("Within and between", ":material/stacked_line_chart:")
require_data(selection)
within_between_view.draw(selection)
