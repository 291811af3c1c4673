# fannctl: `make demo` (the main job) and `make test` build .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
FANNCTL = $(VENV)/bin/fannctl
DEMO   ?= out

.PHONY: all install demo test test-all lint fmt bench man install-man clean deps

all: lint test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Create, train and run a network on the shipped XOR data set.
demo: install
	mkdir -p $(DEMO)
	$(FANNCTL) create $(DEMO)/xor.h5 --layers 2,3,1 --hidden-activation sigmoid_symmetric \
		--output-activation sigmoid_symmetric --seed 1
	$(FANNCTL) train $(DEMO)/xor.h5 datasets/xor.data --algorithm rprop \
		--desired-error 0.0001 --max-epochs 5000 --report-every 10
	$(FANNCTL) run $(DEMO)/xor.h5 datasets/xor.data
	$(FANNCTL) run $(DEMO)/xor.h5 datasets/xor.data --metrics --json
	$(FANNCTL) convert $(DEMO)/xor.h5 $(DEMO)/xor.net
	$(FANNCTL) info $(DEMO)/xor.h5

# Debian packages the differential tests use (run as root; CI does).
# libfann-dev: the differential tests' reference. pocl-opencl-icd: Debian's PoCL
# 3.1 (LLVM 15), an OpenCL CPU device that compiles for current CPUs where the
# PoCL 3.0 inside the pyopencl wheel does not (fannctl prefers the newer PoCL).
# groff: the man-page test renders every page with warnings on.
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfann-dev pocl-opencl-icd groff

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m ''

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The standard suite beside libfann (Debian's libfann-dev): the README's table.
bench: install
	$(FANNCTL) bench --against-libfann

# Man pages from the CLI (one per command, sub-commands included); a test fails
# when man/ is out of date. install-man puts them where `man fannctl-train` looks.
man: install
	$(PY) -m fannctl.cli.manpages man/

PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man/man1

install-man:
	install -d $(DESTDIR)$(MANDIR)
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info .pytest_cache .ruff_cache
