# Each target sets itself up from scratch in a local virtual environment (.venv).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: setup run serve test bench clean plotly-bundle

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m streamlit run serving/web.py --server.port $(PORT)

# A class on one link: REPLICAS (default: one per core) behind HAProxy on PORT; Ctrl-C stops it.
# HAProxy comes from Debian (apt-get, when it is missing and this is root), as .ci/run's Chromium.
serve: setup
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	  else echo "haproxy is missing: sudo apt-get install haproxy" >&2; exit 1; fi; }
	$(VENV)/bin/descent-lab serve --port $(PORT) $(if $(REPLICAS),--replicas $(REPLICAS))

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py

# Rebuild Plotly's subset for the descent view (assets/plotly/plotly-descent.min.js, committed)
# after a plotly upgrade or a new trace type in assets/plotly/entry.js. Needs Node.js and npm;
# neither `make run` nor `make test` does.
plotly-bundle:
	cd assets/plotly && npm ci --no-audit --no-fund && node build.js

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
