# Campaign Auto-Start — the two set-up commands are `make dev` and `make test`.
.PHONY: dev test bench lint stop

dev:   ## install what is missing, start moto + the local stack + the wizard, print the URLs
	@bash scripts/dev.sh

test:  ## install what is missing, run every test (unit, property, template, integration, browser)
	@bash scripts/test.sh

bench: ## benchmarks against the local stack (127.0.0.1 only); prints the numbers
	@bash scripts/bench.sh

lint:  ## rustfmt + clippy, as CI runs them
	@cargo fmt --all -- --check
	@cargo clippy --workspace --all-targets -- -D warnings

stop:  ## stop whatever dev/test started
	@bash scripts/stack.sh stop
	@bash -c 'source scripts/lib.sh; stop_bg web'
