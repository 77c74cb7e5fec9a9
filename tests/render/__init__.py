"""Tests of gradviz.renderers: the Graphviz renderer and make_dot."""
