"""Generalized linear mixed models (binomial, Poisson) with glmer's numbers."""
