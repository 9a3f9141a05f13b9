"""Machinery below every layer, with no S/MIME knowledge: bounded memo tables for
objects that own a batch (:mod:`engine._internal.memo`), whole-or-nothing file
writes, the TOML schema validator policies and client profiles share, and the
import paths of earlier releases (:mod:`engine._internal.compat`).
"""
