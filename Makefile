# centralino — every entry point a developer or CI uses.
# `make run` plays a morning at the CUP through the real stack and keeps it
# up; `make test` runs every test, the real-Asterisk end-to-end tests
# included; `make serve` runs the stack for a real site.

GO        ?= go
export GOFLAGS ?= -buildvcs=false
BIN       := bin
PKGS      := ./...

# The test suite talks to real services; these are the development defaults
# (see config/centralino.yaml) and may be overridden from the environment.
export CENTRALINO_DATABASE_URL ?= postgres://centralino:centralino@127.0.0.1:5432/centralino?sslmode=disable
export CENTRALINO_TEST_DATABASE_URL ?= postgres://centralino:centralino@127.0.0.1:5432/centralino_test?sslmode=disable
export CENTRALINO_REDIS_URL ?= redis://127.0.0.1:6379/0
export CENTRALINO_ARI_URL ?= http://127.0.0.1:8088/ari
export CENTRALINO_ARI_USER ?= centralino
export CENTRALINO_ARI_PASSWORD ?= centralino

.PHONY: all build setup run demo serve test test-unit vet asterisk-up asterisk-down \
        prompts migrate seed bench-booking bench-ari bench-ivr bench-queue bench-sms bench-recall clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Installs (apt-get) and starts PostgreSQL and Redis when absent and creates
# the databases. Idempotent.
setup:
	bash scripts/setup.sh

# A morning at the CUP through the real stack (DEMO_SIZE citizens), its
# report, then the stack kept running for the pages until Ctrl-C; the
# Asterisk sandbox is stopped after it when this run started it.
DEMO_SIZE ?= 200
export DEMO_SIZE

run: setup build
	@bash scripts/demo.sh -keep

# The same morning and report; its last line is one JSON object.
demo: setup build
	@bash scripts/demo.sh

# The stack for real use: no scenario, no simulated agents, the shipped
# configuration (config/centralino.yaml, or CENTRALINO_CONFIG) with the
# secrets and the credentials file from the environment (README, Serving
# a real site). The daemon refuses development secrets off loopback.
CENTRALINO_CONFIG ?= config/centralino.yaml
serve: setup build asterisk-up
	$(BIN)/centralinoctl -config $(CENTRALINO_CONFIG) migrate
	$(BIN)/centralino -config $(CENTRALINO_CONFIG)

# Every test. Asterisk tests are required here: they fail instead of skipping
# when the sandbox is not reachable.
test: setup asterisk-up vet
	CENTRALINO_REQUIRE_ASTERISK=1 $(GO) test -count=1 -timeout 40m -p 2 -parallel 8 $(PKGS)

# Unit tests only (no real service needed beyond what each test skips).
test-unit:
	$(GO) test -count=1 -short $(PKGS)

vet:
	$(GO) vet $(PKGS)

# The Italian prompts rendered from prompts/it.yaml (and the service and
# site names of the configured database) for the sandbox to load.
prompts: setup build
	$(BIN)/centralinoctl prompts

asterisk-up: prompts
	bash scripts/asterisk-sandbox.sh up

asterisk-down:
	bash scripts/asterisk-sandbox.sh down

migrate: build
	$(BIN)/centralinoctl migrate

seed: build
	$(BIN)/centralinoctl migrate
	$(BIN)/centralinoctl seed

# Booking core benchmark on a Liguria-scale agenda (about 5 M slots).
bench-booking: setup build
	$(BIN)/centralinoctl bench booking

# ARI benchmark: concurrent simulated calls on the real Asterisk sandbox.
bench-ari: setup build asterisk-up
	$(BIN)/callsim bench-ari

# IVR figure: an expert citizen and a first-time caller each book through
# the real Asterisk with the shipped prompts (last line: JSON).
bench-ivr: setup build
	$(BIN)/centralinoctl bench ivr -prepare
	bash scripts/asterisk-sandbox.sh up
	$(BIN)/centralinoctl bench ivr

# Queue figure: the same call load through centralino's queue and through
# Asterisk's app_queue (from the controller, and from the dialplan for
# reference), handed over → agent ringing on Asterisk's clock (last line: JSON).
bench-queue: setup build asterisk-up
	$(BIN)/centralinoctl bench queue

# SMS figure: 100,000 reminders due at once, 3 sender instances, the Twilio
# stand-in without rate limit: messages/s, duplicates, lost (last line: JSON).
bench-sms: setup build
	$(BIN)/centralinoctl bench sms

# Recall figures: the scheduler on 100,000 due recalls (3 instances, one
# stopped midway; the queue a counting sink), then an opening on the
# sandbox: 200 out-of-hours recalls, 10 simulated agents, live callers
# meanwhile (last line: JSON, both merged).
bench-recall: setup build asterisk-up
	$(BIN)/centralinoctl bench recall

clean:
	rm -rf $(BIN)
