"""Tests of gradviz.optim."""
