"""Multilevel Explorer's pure modelling library (no Streamlit).

Data flows one way: data -> spec -> design -> fit -> result -> view.
``lib.data`` loads and validates tables, ``lib.spec`` describes a model,
``lib.design`` turns a spec into arrays, ``lib.lmm`` fits linear mixed models
exactly as lme4 does, ``lib.ols`` fits the tutorial's OLS contrasts, and
``lib.summary`` / ``lib.charts`` turn results into tables and chart specs.
"""
