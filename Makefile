# The two commands a fresh machine needs: `make run` and `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
# The first administrator: `make run` prints a one-time link for them until they set a password.
ADMIN_EMAIL ?= admin@example.org

.PHONY: install run test bench ceremony-bench fuzz lint format screenshot clean translations messages

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED) translations

## Compile the translation catalogues (judging/translations/*/LC_MESSAGES/messages.po).
translations: $(INSTALLED)
	$(BIN)/pybabel -q compile -d judging/translations

## Extract the text of the code and templates into messages.pot and update every catalogue;
## then translate what is new (docs/translating.md).
messages: $(INSTALLED)
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-by-file -k _l -k lazy_gettext \
		-o judging/translations/messages.pot --project judging --copyright-holder "judging" \
		--msgid-bugs-address "" --omit-header .
	$(BIN)/pybabel -q update -i judging/translations/messages.pot -d judging/translations \
		--no-wrap --ignore-obsolete

## Set everything up and serve the app on the embedded SQLite database; a thread of the server
## delivers the outbox (into instance/outbox/ unless MAIL_SERVER is set).
run: export JUDGING_ENV ?= development
run: export BASE_URL ?= http://$(HOST):$(PORT)
run: $(INSTALLED) translations
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed
	@$(BIN)/flask --app wsgi users first-admin --email $(ADMIN_EMAIL)
	@echo ""
	@echo "  judging is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo ""
	MAIL_SENDER_THREAD=1 $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## Lint, format check, type check (the pure scoring core strictly) and the whole test suite
## (PostgreSQL too when TEST_DATABASE_URL is set), in two processes (one per core), each test
## module whole in one.
test: $(INSTALLED) translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict judging/scoring
	$(BIN)/pytest -n 2 --dist loadfile

## Benchmarks (minutes, not seconds): figures go to bench/out/.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
bench: $(INSTALLED)
	mkdir -p bench/out
	command -v wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python bench/ranking_bench.py | tee bench/out/ranking-sqlite.json
	$(BIN)/python bench/ranking_bench.py --database-url $(BENCH_DATABASE_URL) | tee bench/out/ranking-postgresql.json
	$(BIN)/python bench/large_bench.py --database-url $(BENCH_DATABASE_URL) --json bench/out/large.json
	$(BIN)/python bench/http_bench.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python bench/cpu_bench.py --database-url $(BENCH_DATABASE_URL) --json bench/out/cpu.json
	$(BIN)/python bench/ceremony_bench.py --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python bench/forgot_password_bench.py --database-url $(BENCH_DATABASE_URL) --json bench/out/forgot-password.json

## A ceremony's peak alone (about 3 minutes; PostgreSQL and Redis on loopback): 1,000 card
## ballots at 20 a second, 1,000 through the API, the online vote with its mail.
ceremony-bench: $(INSTALLED)
	mkdir -p bench/out
	$(BIN)/python bench/ceremony_bench.py --database-url $(BENCH_DATABASE_URL)

## Longer fuzzing (minutes): the API (FUZZ_EXAMPLES per operation and person) and the award
## lifecycle state machine (LIFECYCLE_EXAMPLES lives of LIFECYCLE_STEPS steps).
FUZZ_EXAMPLES ?= 400
LIFECYCLE_EXAMPLES ?= 200
LIFECYCLE_STEPS ?= 60
fuzz: $(INSTALLED)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) LIFECYCLE_EXAMPLES=$(LIFECYCLE_EXAMPLES) \
	LIFECYCLE_STEPS=$(LIFECYCLE_STEPS) \
	$(BIN)/pytest -p no:xdist -s tests/test_api_fuzz.py tests/test_lifecycle_state.py

lint: $(INSTALLED)
	$(BIN)/ruff check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Retake the README's screenshot of the award page.
screenshot: $(INSTALLED)
	$(BIN)/python scripts/screenshot.py docs/award-page.png

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
