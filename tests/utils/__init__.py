"""Tests of gradviz.utils."""
