"""gradviz's test suite; a package so that test modules may share basenames."""
