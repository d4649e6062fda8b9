"""The tutorial's OLS contrasts: simple, dummy-variable and per-group regressions."""
