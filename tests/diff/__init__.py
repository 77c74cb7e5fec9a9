"""Tests of the graph differ: gradviz.trace.diff, its renderer and ``gradviz diff``."""
