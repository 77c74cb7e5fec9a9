"""Tests of the guided tour: samples/, docs/img/ and docs/tour.md."""
