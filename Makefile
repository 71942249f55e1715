# Campaign Auto-Start — the two set-up commands are `make dev` and `make test`.
.PHONY: dev test bench lint stop openapi resources

dev:   ## install what is missing, start moto + the local stack + the wizard, print the URLs
	@bash scripts/dev.sh

test:  ## install what is missing, run every test (unit, property, template, integration, browser)
	@bash scripts/test.sh

bench: ## benchmarks against the local stack (127.0.0.1 only); prints the numbers
	@bash scripts/bench.sh

lint:  ## rustfmt + clippy, as CI runs them
	@cargo fmt --all -- --check
	@cargo clippy --workspace --all-targets -- -D warnings

openapi: ## regenerate docs/openapi.json from the Rust types, and web/src/api/schema.ts from it
	@UPDATE_OPENAPI=1 cargo test --quiet -p campaign-shared --test openapi
	@[ -d web/node_modules ] || npm --prefix web ci --no-audit --no-fund --loglevel=error
	@npm --prefix web run --silent gen:api

resources: ## regenerate infra/resources.json (what the local stack creates) from infra/template.yaml
	@bash scripts/venv.sh
	@.venv/bin/python scripts/gen_resources.py

stop:  ## stop whatever dev/test started
	@bash scripts/stack.sh stop
	@bash -c 'source scripts/lib.sh; stop_bg web'
