# Fathom. `make test` and `make demo` set everything up on a fresh machine first.
# Each test stage is its own target; `make test` runs them all and fails if any fails.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
# brownie and pytest colour codes make the logs unreadable in CI
export PY_COLORS := 0

BROWNIE_TEST := brownie test -p no:cacheprovider
TEST_STAGES := test-ganache test-anvil test-forge test-python test-slither test-abi test-browser

.PHONY: help setup test $(TEST_STAGES) abi bench demo deploy devnet freeze clean frontend fuzz-deep

help:
	@echo "make demo    set up, then run a whole bounty round on a local chain"
	@echo "make devnet  a local chain with the contracts and funded accounts, until Ctrl-C (fathom devnet)"
	@echo "make deploy  deploy the contracts to the node at FATHOM_RPC_URL (fathom deploy)"
	@echo "make test    set up, then run every test stage: $(TEST_STAGES)"
	@echo "make setup   install what is missing (.venv, node_modules, solc wrapper, brownie networks)"
	@echo "make <stage> one stage alone, e.g. make test-forge"
	@echo "make bench   gas, scoring, artefact, IPFS and whole-round benchmarks -> benchmarks/results.json"
	@echo "make fuzz-deep  forge fuzz and invariant tests at 10,000 runs with a fresh seed (SEED=0x.. replays one; not in make test)"
	@echo "make abi     export the contracts' ABI JSON (interfaces/_abi/) and code digests (interfaces/_code/)"
	@echo "make frontend  vendor ethers and the ABIs into frontend/ (serve: python -m http.server -d frontend)"

setup:
	@bash tools/setup.sh

test: setup
	@$(VENV)/bin/python tools/run_stages.py $(TEST_STAGES)

# The brownie suite on ganache 7 (what `brownie test` runs against)...
test-ganache: setup
	$(BROWNIE_TEST) --network development

# ...and the same suite on anvil (tests marked anvil_only run only here).
test-anvil: setup
	$(BROWNIE_TEST) --network anvil

# Solidity fuzz and invariant tests (tests/forge, outside contracts/ so brownie skips them).
test-forge: setup
	forge test

# The forge suite at foundry.toml's deep profile (10,000 fuzz and invariant runs; never part
# of make test) with a fresh seed, printed first: `make fuzz-deep SEED=0x...` replays a run.
# Hours on two cores; FOUNDRY_INVARIANT_RUNS=1000 make fuzz-deep is a shorter campaign.
fuzz-deep: setup
	@seed="$${SEED:-0x$$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')}"; \
	  echo "fuzz-deep: seed $$seed (FOUNDRY_PROFILE=deep)"; \
	  FOUNDRY_PROFILE=deep forge test --fuzz-seed "$$seed"

# Unit tests of the fathom package (no chain).
test-python: setup
	python -m pytest -q -p no:pytest-brownie -p no:cacheprovider --confcutdir=tests/python tests/python

# Static analysis: 0 High/Medium findings in project code. Suppressions are per line
# (`// slither-disable-next-line <detector> (reason)`). Slither builds into its own out dir.
test-slither: setup
	FOUNDRY_OUT=.forge/slither-out FOUNDRY_CACHE_PATH=.forge/slither-cache \
	  .venv-slither/bin/slither . --foundry-out-directory .forge/slither-out \
	  --exclude-dependencies --exclude-low --exclude-informational --exclude-optimization \
	  --filter-paths "node_modules|tests/|contracts/test/" --fail-medium

# The exported ABIs and code digests must match the sources (a stale interfaces/_abi or
# interfaces/_code fails CI).
test-abi: setup
	python tools/export_abi.py --check

abi: setup
	python tools/export_abi.py

# The dApp page end to end: a demo round on anvil, the page in headless Debian Chromium
# (tools/chromium.sh installs it when missing). Screenshot: reports/dapp.png.
test-browser: setup
	bash tools/chromium.sh
	node tests/browser/run.mjs

frontend: setup
	node frontend/build.mjs

# Benchmarks (never part of make test): medians of repeated runs, a table against the
# targets, and benchmarks/results.json (gas figures from benchmarks/gas.py under "gas").
bench: setup
	python benchmarks/run.py

# A whole bounty round on a fresh local ganache: 3 oracle daemons, a requester, 6
# contributors (one harmful), reveal, claims and audit; ends with the round's table.
demo: setup
	python -m fathom demo

# A local chain of your own: anvil, the contracts, funded accounts, the FATHOM_* lines to export.
devnet: setup
	python -m fathom devnet

# Deploy the contracts to the node at FATHOM_RPC_URL (default 127.0.0.1:8545), recorded as
# deployments/$FATHOM_NETWORK.json (default development). With web3, not `brownie run`, which
# cannot import a script from a checkout under a folder with a dot in its name.
deploy: setup
	python -m fathom deploy

# Re-pin every transitive Python package after changing requirements.txt.
freeze:
	@{ echo "# Every package in .venv, pinned (pip freeze). Regenerate with \`make freeze\` after changing requirements.txt."; \
	   $(VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf build .forge reports .hypothesis frontend/vendor frontend/abi
