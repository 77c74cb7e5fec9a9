"""The tutorial scripts are data for ``test_tutorials.py`` (run with ``torch`` injected)."""

collect_ignore_glob = ["scripts/*"]
