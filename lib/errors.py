"""The project's one exception family.

Every message says what was wrong, the value seen, and what to do, so the UI
can show it verbatim instead of a traceback.
"""


class ExplorerError(ValueError):
    """Base class of every error the library raises on bad input."""


class DataError(ExplorerError):
    """The data cannot be used as given (missing column, wrong type, too few rows...)."""


class SpecError(ExplorerError):
    """The model specification is inconsistent with itself or with the data."""


class FitError(ExplorerError):
    """The model could not be fitted (for example a rank-deficient design)."""
