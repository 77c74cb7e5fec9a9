"""Tests of the gradviz command line."""
