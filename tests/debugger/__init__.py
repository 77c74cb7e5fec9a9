"""Tests of gradviz.debugger: the session, NaN origins, why_no_grad, a real terminal."""
