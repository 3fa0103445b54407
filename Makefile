# `make run` and `make test` each create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "nvrsim needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# An editable install compiles nothing, and where PYTHONDONTWRITEBYTECODE is set (as on
	@# CI machines) every `nvrsim run` would compile each module again (0.3 s): compiled once
	@# here, as pip does for a regular install.
	$(BIN)/python -m compileall -q simulator protocols firmware_menu nvrsim >/dev/null
	@touch $(STAMP)

# The dashboard's terminal emulator: xterm.js from the npm registry, its built files copied
# into the package's static files (no bundler). Without npm the dashboard still runs; its
# menu panel says how to get the terminal, and the tests that need it skip.
XTERM := simulator/control/dashboard/vendor
$(XTERM)/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --silent \
		&& mkdir -p $(XTERM) \
		&& cp node_modules/@xterm/xterm/lib/xterm.js node_modules/@xterm/xterm/css/xterm.css \
			node_modules/@xterm/addon-fit/lib/addon-fit.js $(XTERM)/ \
		&& touch $@; \
	else \
		echo "warning: npm not found: the dashboard's recorder menu needs xterm.js" \
			"(apt-get install npm, then make again)"; \
	fi

run: $(STAMP) $(XTERM)/.installed
	$(BIN)/nvrsim run $(ARGS)

test: $(STAMP) $(XTERM)/.installed
	$(BIN)/python -m pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# Style, the layers' import contracts (pyproject.toml) and the pure layers' types.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis node_modules $(XTERM)
