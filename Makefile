# The two commands a person needs: `make demo` and `make test`.
# Both create the virtual environment on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers for `make test`; each starts its own embedded server
# (PYTEST_WORKERS=0 runs the suite in one process).
PYTEST_WORKERS ?= 2

.PHONY: install demo test lint clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tailor demo

test: $(STAMP)
	$(BIN)/ruff check include dags plugins tests benchmarks
	$(BIN)/python -m pytest -q --timeout=900 --durations=25 -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check include dags plugins tests benchmarks

clean:
	-$(BIN)/tailor db down
	rm -rf .tailor $(VENV)
