# gridmap: two commands. `make run` sets up what is missing and serves the demo;
# `make test` does the same set-up and runs every test.
GO      ?= go
BIN     := bin/gridmap
export GOFLAGS ?= -buildvcs=false

.PHONY: run test setup build web db db-stop fuzz clean

run: setup build
	@scripts/run.sh

test: setup build
	@scripts/test.sh

# make test also installs Chromium and a CJK font for the browser tests.
test: SETUP_FLAGS = --browser
setup:
	@scripts/setup.sh $(SETUP_FLAGS)

# web bundles web/src with esbuild into web/dist, which the binary embeds, and into
# web/dist-test, the same code with the browser tests' hooks (served by go test ./web only).
web:
	@cd web && node build.mjs

build: web
	@$(GO) build -o $(BIN) ./cmd/gridmap

# db starts the private cluster (when DATABASE_URL is not set) and prints its URL.
db: setup
	@scripts/db.sh start

db-stop:
	@scripts/db.sh stop

# fuzz runs each fuzz target for a while (make test runs their seed corpora only).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzNormalizeAddress -fuzztime=$(FUZZTIME) ./geo
	$(GO) test -run='^$$' -fuzz=FuzzReadAreaFeatures -fuzztime=$(FUZZTIME) ./ingest
	$(GO) test -run='^$$' -fuzz=FuzzParseLookupParams -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzParseBatch -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzParseEdit -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzLookupJSON -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzRouter -fuzztime=$(FUZZTIME) ./api

clean:
	rm -rf bin
	find web/dist -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf web/dist-test
