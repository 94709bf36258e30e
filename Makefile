# gxl — see README.md. `make demo` and `make test` install what they need:
# Debian packages (PostgreSQL, Redis) through scripts/install-deps.sh and the
# Kubernetes test binaries, built from the Go module proxy and cached under
# ${XDG_CACHE_HOME:-~/.cache}/gxl/k8s/<versions> (about 8 minutes cold).
GO      ?= go
BIN     := bin/gxl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export GOTOOLCHAIN := local

.PHONY: build install test deps demo bench drill bench-go fuzz lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gxl

# gxl into $(BINDIR) (GOBIN when set, else $(PREFIX)/bin, PREFIX ~/.local)
# with the links gflow, gsys and gmod (gxl install-aliases).
PREFIX  ?= $(HOME)/.local
GOBIN   ?= $(shell $(GO) env GOBIN)
BINDIR  ?= $(if $(GOBIN),$(GOBIN),$(PREFIX)/bin)
install:
	mkdir -p $(BINDIR)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BINDIR)/gxl ./cmd/gxl
	$(BINDIR)/gxl install-aliases --force $(BINDIR)

# What the integration tests and the demo need on a fresh machine.
deps:
	./scripts/install-deps.sh
	./scripts/build-k8s-tools.sh >/dev/null
	./scripts/install-npm-tools.sh >/dev/null

# Every test, real servers included, with the race detector.
test: lint deps
	$(GO) test -race -count=1 -timeout 25m ./...

demo: build deps
	./scripts/demo.sh

# gxl against its peers (go-task, a bare Go spawn loop): one table of
# ratios, medians of several whole-process runs (bench/run.sh, one to two
# minutes; installs go-task into the user cache once). Not part of `test`.
# BENCHFLAGS passes options to the harness, e.g. BENCHFLAGS="-runs 9 -only 2,3".
bench:
	GO=$(GO) ./bench/run.sh $(BENCHFLAGS)

# gxl operate --ha drills against a real kube-apiserver (replicas as local
# processes): kill -9 and SIGSTOP of the leader, an API server restart, and
# the leader kill -9ed at GXL_HA_DRILLS points of a PostgreSQL failover.
GXL_HA_DRILLS ?= 20
drill-ha:
	GXL_HA_DRILLS=$(GXL_HA_DRILLS) $(GO) test -count=1 -timeout 20m -run 'TestOperateHA|TestHAFailoverDrill|TestFenceAtEveryEffect' ./cmd/gxl ./runtime

# The failover drills (docs/operate.md, "Drills"; rows 10 of the bench
# table): GXL_DRILLS (default 10) drills under gxl operate alternating
# PostgreSQL and Redis, and Redis Sentinel alone beside them. Minutes.
GXL_DRILLS ?= 10
drill:
	GXL_DRILLS=$(GXL_DRILLS) GO=$(GO) ./bench/run.sh -only 10 $(BENCHFLAGS)

# The in-process Go benchmarks (parser/checker, interpreter per step).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./lang/... ./runtime/...

# Ten minutes of each fuzzer (the issue's robustness figure).
fuzz:
	$(GO) test ./lang/syntax -run '^$$' -fuzz FuzzParse -fuzztime 10m
	$(GO) test ./lang/check -run '^$$' -fuzz FuzzCheck -fuzztime 10m

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
