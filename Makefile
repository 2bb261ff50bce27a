# Rightful — the commands a developer and CI use. `make check` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# PostgreSQL and MariaDB for the store, connector and end-to-end tests: each test creates and
# drops its own database.
RIGHTFUL_TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
RIGHTFUL_TEST_MYSQL_URL ?= mysql://root@127.0.0.1:3306/test
export RIGHTFUL_TEST_PG_URL RIGHTFUL_TEST_MYSQL_URL

# The core must stay free of I/O crates (STYLE §2 rule 2).
FORBIDDEN_IN_CORE := diesel|actix-web|actix-rt|tokio|reqwest|tracing|hyper|sqlx
# Issue 13 item 1: no C MySQL client library anywhere (the MySQL/MariaDB connector is pure Rust).
FORBIDDEN_ANYWHERE := mysqlclient-sys|mysqlclient-src|mysql-sys|mariadb-sys|libmariadb-sys


.PHONY: readme-check help run demo-seed bench test check fmt fmt-check clippy doc deps-check jsonld-check api-check build release

help:
	@echo "make run        start the server with the embedded SQLite state on 127.0.0.1:8080"
	@echo "make demo-seed  seed the demo site on PostgreSQL/MariaDB/SQLite (SCALE=N subjects)"
	@echo "make test       run every test (SQLite always, PostgreSQL via RIGHTFUL_TEST_PG_URL)"
	@echo "make check      what CI runs: fmt-check, clippy, doc, deps-check, test, api-check"
	@echo "make api-check  schemathesis against a live server's /openapi.json (every check, anonymous and DPO)"
	@echo "make bench      carry out access and erasure requests on the demo site (after make demo-seed) and report timings"

# `make run`: the demo site in SQLite files (the shipped configuration's store addresses), seeded
# once, and the server. One build serves `make run` and `make test` (the same targets and features,
# so neither rebuilds after the other). The demo is not swept at night: its records are past their
# periods on purpose (`rightful retention run --dry-run` shows what a sweep would do).
run:
	@echo "make run: building (the first build takes a few minutes; later ones reuse it)"
	cargo build --quiet --workspace --all-targets
	./target/debug/rightful demo seed --scale 1000 --if-missing
	./target/debug/rightful stores check
	RIGHTFUL_SCHEDULE__RETENTION= ./target/debug/rightful serve

# The demo site on the real servers (shop on PostgreSQL, CMS on MariaDB, logs on SQLite), for
# `make bench`.
DEMO_SERVERS := RIGHTFUL_STORE_SHOP_URL=postgres://postgres@127.0.0.1:5432/rightful_demo_shop \
	RIGHTFUL_STORE_CMS_URL=mysql://root@127.0.0.1:3306/rightful_demo_cms \
	RIGHTFUL_STORE_LOGS_URL=sqlite://data/demo/logs.sqlite3

demo-seed:
	$(DEMO_SERVERS) cargo run --quiet --release -p rightful -- demo seed --scale $(or $(SCALE),100000) --reset

build:
	cargo build --workspace --all-targets

release:
	cargo build --release -p rightful

test:
	@if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --no-fail-fast; \
	else \
		cargo test --workspace --no-fail-fast; \
	fi

fmt:
	cargo fmt --all

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

deps-check:
	@found=$$(cargo tree -p rightful_core -e normal --prefix none --quiet | sed 's/ .*//' | sort -u | grep -Ex '$(FORBIDDEN_IN_CORE)' || true); \
	if [ -n "$$found" ]; then echo "rightful_core must not depend on: $$found"; exit 1; fi; \
	echo "deps-check: rightful_core has no I/O dependency"
	@set -o pipefail; tree=$$(cargo tree --workspace --target all --prefix none --quiet) || exit 1; \
	found=$$(echo "$$tree" | sed 's/ .*//' | sort -u | grep -Ex '$(FORBIDDEN_ANYWHERE)' || true); \
	if [ -n "$$found" ]; then echo "the workspace must not depend on a C MySQL client (issue 13 item 1): $$found"; exit 1; fi; \
	echo "deps-check: no libmysqlclient in the dependency tree (any target, normal, build and dev)"

# Checklist G: the JSON-LD register expands with a real JSON-LD 1.1 processor (pyld, from PyPI).
jsonld-check:
	@python3 -c "import pyld" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check pyld
	cargo build --quiet --workspace --all-targets
	./target/debug/rightful register export --format jsonld | python3 tests/jsonld/check.py

# Issue 12 item 12: the OpenAPI document tells the truth. A real server on a free loopback port
# with throwaway state and the demo site in SQLite files; schemathesis (from PyPI, installed on
# demand) runs every one of its checks against /openapi.json, once without credentials and once
# with a DPO's token, each bounded by API_CHECK_MAX_TIME (90 s). Any failure fails the target.
# No check is excluded on the command line; the few per-operation exceptions are in
# tests/api/schemathesis.toml, each with its reason: missing_required_header on the DRP routes
# (the protocol answers 403, not 401, to a missing token) and positive_data_acceptance where the
# configuration (policy evidence rules, store identity kinds, marketing purposes) or the request's
# state refuses schema-valid bodies with a documented 400.
api-check:
	tests/api/schemathesis.sh

check: fmt-check clippy doc deps-check test jsonld-check api-check readme-check

# Carrying requests out on the demo site of `make demo-seed` (erasures change its data: reseed to
# start again). Engine state in a throwaway directory. BENCH_COUNT requests of each type.
bench:
	cargo build --quiet --release -p rightful
	rm -rf target/bench-data
	$(DEMO_SERVERS) ./target/release/rightful requests bench --type access --count $(or $(BENCH_COUNT),200) --first 3 --step 7 --data-dir target/bench-data
	$(DEMO_SERVERS) ./target/release/rightful requests bench --type erasure --count $(or $(BENCH_COUNT),200) --first 5 --step 7 --data-dir target/bench-data
	./target/release/rightful retention bench --rows $(or $(BENCH_ROWS),10000000)

# Issue 13 item 3: every README command, run as printed after `make run` (needs port 8080 free).
readme-check:
	bash tests/readme/run.sh
