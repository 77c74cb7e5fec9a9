# Developer entry points. `make test` is what CI (.ci/run) and the README use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HYPOTHESIS_PROFILE ?= dev
export HYPOTHESIS_PROFILE

.PHONY: venv graphviz demo test lint typecheck bench docs clean

venv: $(STAMP)

# Reinstall only when the project metadata changes (or the package first appears,
# since an editable install maps the packages that existed when it ran).
$(STAMP): pyproject.toml $(wildcard gradviz/__init__.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

graphviz:
	@if command -v dot >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 \
			&& command -v tmux >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && apt-get install -y graphviz poppler-utils tmux; \
	elif command -v dot >/dev/null 2>&1; then \
		echo "note: pdftotext (poppler-utils) or tmux is missing; the tests that need them will fail." >&2; \
	else \
		echo "error: the Graphviz 'dot' program is not on PATH." >&2; \
		echo "Install Graphviz, then run make again:" >&2; \
		echo "  Debian/Ubuntu: sudo apt-get install graphviz" >&2; \
		echo "  macOS:         brew install graphviz" >&2; \
		echo "  other:         https://graphviz.org/download/" >&2; \
		exit 1; \
	fi

demo: graphviz venv
	$(BIN)/gradviz demo --out out/

test: graphviz venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy gradviz

docs: graphviz venv
	$(BIN)/python -m samples.regenerate

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) out build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
