# bundle-renewal-operator: developer and CI entry points.
# `make demo` runs the whole thing on a fresh machine; `make test` runs every check CI runs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# The locks (issue 22): every package pinned with its sha256 hashes, for Python 3.11 on Linux
# x86_64. DEV_LOCK: the dependencies and the dev and docs extras (make install, so CI); LOCK: the
# dependencies only, at the same versions (the Dockerfile). `make lock` writes both.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
# pip for the hash-checked installs, without --find-links: a pip.conf or PIP_FIND_LINKS may name a
# local wheel directory (the build machines' do), whose own build of a locked version would fail
# the hash check. A blank value clears it; an empty one would leave pip.conf's.
LOCKED_PIP := PIP_FIND_LINKS=' ' $(PIP)

.PHONY: install lock lint fmt docs docs-serve test test-unit test-sim test-monitoring test-integration chaos fuzz bench bench-sim bench-metrics bench-fleet bench-fleet-short bench-accounts prism prometheus envtest image-tools image cluster-up cluster-down kind-up demo clean

install: $(STAMP)

# Debian splits `python3 -m venv` (ensurepip) into python3-venv: installed first when missing.
# Then every package from the dev lock, each checked against its hashes (pip refuses anything
# unpinned or unhashed) and from wheels (nothing built here with unchecked build dependencies),
# and the project itself, editable, without dependencies.
$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(PY) || python3 -c 'import ensurepip, venv' 2>/dev/null || \
	  bash scripts/apt-install.sh "python3 -m venv is unavailable" python3-venv
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -U pip
	$(LOCKED_PIP) install -q --require-hashes --only-binary :all: -r $(DEV_LOCK)
	$(PIP) install -q --no-deps -e .
	touch $(STAMP)

# Recompiles both locks from pyproject.toml (needs the network) with uv, pinned here and installed
# under .tools/: each version already locked stays unless pyproject.toml excludes it now or
# LOCK_ARGS says otherwise (LOCK_ARGS="--upgrade-package kopf", LOCK_ARGS=--upgrade). Python
# 3.11.2 is Debian bookworm's (the image's, and a fresh CI machine's python3). The runtime lock
# takes the dev lock's versions (-c). Last, each lock's first line records the pyproject sections
# it came from (tests/devtools/test_dependency_lock.py fails when they changed without `make lock`).
UV_VERSION := 0.13.10
UV := .tools/uv-$(UV_VERSION)/bin/uv
UV_COMPILE := $(UV) pip compile --no-config --quiet pyproject.toml --generate-hashes \
  --python-version 3.11.2 --python-platform x86_64-unknown-linux-gnu \
  --custom-compile-command 'make lock'

lock: install $(UV)
	$(UV_COMPILE) --extra dev --extra docs $(LOCK_ARGS) -o $(DEV_LOCK)
	$(UV_COMPILE) -c $(DEV_LOCK) -o $(LOCK)
	$(PY) -m devtools.dependency_lock

$(UV): | $(STAMP)
	$(PIP) install -q --target .tools/uv-$(UV_VERSION) uv==$(UV_VERSION)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The documentation site (docs/, mkdocs.yml) into site/. --strict fails on a broken link, a missing
# anchor or a page left out of the nav; not -q, which silences the warnings --strict counts.
# NO_MKDOCS_2_WARNING silences mkdocs-material's banner about MkDocs 2.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

# The site on http://127.0.0.1:8000/, rebuilt on every change.
docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

# The README's test command: lint, the documentation site, then every test tier. pytest's exit 5
# (no tests) fails the run.
test: lint docs prism prometheus image-tools
	$(PY) -m pytest

# The fast tiers with no server: unit (one folder per layer), the shared fakes' own tests, the
# dev tools, and the manifests and examples.
test-unit: install
	$(PY) -m pytest tests/unit tests/fakes tests/devtools tests/manifests

test-sim: install prism
	$(PY) -m pytest tests/sim

# The alert rules with promtool (check and unit tests) and the exposition's lint.
test-monitoring: install prometheus
	$(PY) -m pytest tests/monitoring

# The operator against a real API server: each session starts its own local control plane on
# free loopback ports (tests/integration/conftest.py; envtest builds kube-apiserver first), or
# uses the cluster that BRO_TEST_KUBECONFIG (or pytest --kubeconfig) names. The image's test
# builds and runs it with podman (image-tools).
test-integration: install envtest image-tools
	$(PY) -m pytest tests/integration

# The chaos run at full size (docs/operations/reliability.md): renewals over several accounts and
# namespaces under Twilio faults, operator SIGKILLs and control-plane restarts, then checks that
# nothing was lost, and asserts Twilio requests per renewal within BRO_CHAOS_MAX_RATIO of a
# fault-free baseline. Every knob is a BRO_CHAOS_* variable (tests/chaos/settings.py), here or
# in the environment; `make test` runs the short default (12 renewals), which only reports it.
BRO_CHAOS_RENEWALS ?= 400
BRO_CHAOS_ACCOUNTS ?= 8
BRO_CHAOS_NAMESPACES ?= 5
BRO_CHAOS_REJECTIONS ?= 10
BRO_CHAOS_KILLS ?= 4
BRO_CHAOS_APISERVER_RESTARTS ?= 1
BRO_CHAOS_BASELINE ?= 20
BRO_CHAOS_TIMEOUT_SECONDS ?= 1200
BRO_CHAOS_ASSERT_RATIO ?= 1
CHAOS_KNOBS := RENEWALS ACCOUNTS NAMESPACES REJECTIONS KILLS APISERVER_RESTARTS BASELINE \
  TIMEOUT_SECONDS ASSERT_RATIO

chaos: install envtest
	$(foreach k,$(CHAOS_KNOBS),BRO_CHAOS_$(k)=$(BRO_CHAOS_$(k))) \
	  $(PY) -m pytest -p no:cacheprovider tests/chaos/test_chaos.py

# The renewal's simulation test (issue 21, docs/development/simulation-testing.md) for
# FUZZ_MINUTES with fresh random histories; prints histories, steps, faults and invariant checks
# (per hour too).
# `make test` runs a fixed, derandomised budget of the same machine.
FUZZ_MINUTES ?= 60
fuzz: install
	$(PY) -m tests.unit.engine.fuzz_renewals --minutes $(FUZZ_MINUTES)

# Stoplight Prism (validating proxy for the contract tests), installed once under .tools/;
# Debian's nodejs and npm first when npm is missing.
PRISM := .tools/prism/node_modules/.bin/prism
prism: $(PRISM)

$(PRISM):
	@command -v npm >/dev/null || \
	  bash scripts/apt-install.sh "npm is missing (Prism comes from npm)" nodejs npm
	npm install --prefix .tools/prism --no-audit --no-fund @stoplight/prism-cli@5

# Debian's prometheus package: promtool (rule checks and unit tests, metrics lint) and the
# Prometheus server the alerting integration test scrapes the operator with.
prometheus:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
	  bash scripts/apt-install.sh "promtool or prometheus is missing (alert rule tests)" prometheus

# Every benchmark (speed goals are measured here, not by timed tests).
bench: bench-sim bench-metrics bench-fleet bench-accounts

# Simulator throughput on loopback (a separate client process; prints requests/s).
bench-sim: install
	$(PY) bench/sim_throughput.py

# Size of /metrics with 1,000 BundleRenewals' statuses fed into OperatorMetrics (prints bytes).
bench-metrics: install
	$(PY) -m devtools.metrics_size 1000

# Fleet benchmark (issue 10, docs/development/fleet-benchmark.md): on one local control plane,
# the operator (webhook on, and polling only) and the guide script at 50/200/1,000 renewals, deletion, and
# 10,000 idle resources; every figure side by side. About an hour on 2 cores. Knobs go in
# FLEET_ARGS, e.g. FLEET_ARGS="--sizes 50 --idle 0 --json fleet.json" (--help lists them).
bench-fleet: install envtest
	$(PY) -m bench.fleet $(FLEET_ARGS)

# ComplianceAccount scans (issue 20, docs/accounts/compliance-account.md): one account of 10,000
# bundles, 500 with a deadline, 250 covered; Twilio requests, seconds and operator memory of the
# first scan, of registering every bundle's StatusCallback, and of a whole rescan. Knobs in
# ACCOUNTS_ARGS, e.g. ACCOUNTS_ARGS="--bundles 1000 --dated 60 --covered 40".
bench-accounts: install envtest
	$(PY) -m bench.accounts $(ACCOUNTS_ARGS)

# The same at CI size (10 renewals, 100 idle resources): every figure, in about 2 minutes.
bench-fleet-short: install envtest
	$(PY) -m bench.fleet --short $(FLEET_ARGS)

# Local control plane (etcd + kube-apiserver 1.20 on loopback); docs/development/control-plane.md.
# envtest installs the Debian packages and builds kube-apiserver once (cached under ~/.cache).
CONTROLPLANE := python3 -m devtools.controlplane

envtest:
	@bash scripts/controlplane/provision.sh

# Starts a detached control plane; the last line of output is the admin kubeconfig's path.
cluster-up: envtest
	@$(CONTROLPLANE) up

cluster-down:
	@$(CONTROLPLANE) down

# The operator image, built with podman from ./Dockerfile on a Debian bookworm base made with
# debootstrap (cached under ~/.cache); docs/getting-started/container-image.md. IMAGE=... names
# the tag (default localhost/bundle-renewal-operator:dev). image-tools installs Debian's podman, runc
# and debootstrap when missing (tests/integration/test_image.py needs them too).
image-tools:
	@bash scripts/image/build.sh --packages

image: image-tools
	@bash scripts/image/build.sh $(IMAGE)

# A kind cluster with the operator image loaded (needs Docker, so not on the build machines).
kind-up:
	@bash scripts/controlplane/kind-up.sh

# The README's first command: control plane, simulator, operator and examples/, on one machine
# (devtools/demo/). Interactive until Ctrl-C; with CI=true (or no terminal) it exits 0 only when
# every example reached its intended state. CLUSTER=kind: a kind cluster instead (needs Docker).
demo: install $(if $(filter kind,$(CLUSTER)),,envtest)
	@$(PY) -m devtools.demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
