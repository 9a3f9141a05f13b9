"""Internals of :mod:`engine.strategies` (Hypothesis strategies for S/MIME test data).

Import from :mod:`engine.strategies`; the module layout here may change.
"""
