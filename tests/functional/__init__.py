"""Tests of gradviz.nn.functional and the neural-network ops."""
