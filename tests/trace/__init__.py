"""Tests of gradviz.trace: capture, record, trace files and the graph schema."""
