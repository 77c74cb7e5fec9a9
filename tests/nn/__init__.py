"""Tests of gradviz.nn and gradviz.serialization."""
