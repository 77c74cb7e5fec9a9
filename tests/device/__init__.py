"""Tests that run gradviz on the strict stand-in device and, when present, a GPU."""
