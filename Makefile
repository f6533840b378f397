# cashlessd — see README.md. `make run` starts the simulator, `make test` runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
RUN_DIR  ?= .run
LISTEN   ?= 127.0.0.1:8443
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.0

.PHONY: build run run-cloud test vet lint bench bench-micro reliability release clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cashlessd ./cmd/cashlessd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cashless ./cmd/cashless
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cashless-cloud ./cmd/cashless-cloud

run: build
	@echo "cashlessd simulator on https://$(LISTEN)  (CA bundle: $(RUN_DIR)/certs/ca.pem, key: ck_test_simulator)"
	@echo "try:  curl --cacert $(RUN_DIR)/certs/ca.pem -H 'X-VINR-Cashless-Key: ck_test_simulator' \\"
	@echo "        -d '{\"amount\":2500,\"currency\":\"USD\",\"reference\":\"POS-ORDER-0821\"}' https://localhost:8443/cashless/v1/sale"
	bin/cashlessd serve --simulator --listen $(LISTEN) --data-dir $(RUN_DIR)

# The cloud relay (embedded NATS, simulator account fiuuPos1) and one
# simulator terminal bound to it: scripts/run-cloud.sh prints curl lines.
CLOUD_LISTEN ?= 127.0.0.1:9443
NATS_LISTEN  ?= 127.0.0.1:4222
run-cloud: build
	scripts/run-cloud.sh $(RUN_DIR) $(CLOUD_LISTEN) $(NATS_LISTEN) $(LISTEN)

# The race detector needs cgo and a C compiler; without them make test
# runs without -race and says so (make test RACE= skips it anyway).
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

# Most end-to-end tests wait on ptys, sockets and child processes rather
# than the CPU: more of them run at once than there are cores (-parallel
# within a package, -p packages side by side).
test:
	@[ -n "$(RACE)" ] || echo "make test: no cgo or C compiler ($$($(GO) env CC)) here: running without -race; install gcc for the race detector"
	$(GO) test $(RACE) -count=1 -p 4 -parallel 4 ./...

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

lint: vet
	$(GO) run $(STATICCHECK) ./...

# Every performance figure with its floor and ratio (BENCH_QUICK=1: a fast
# look; BENCH_FLAGS="-markdown FILE" also writes the table as Markdown).
bench: build
	$(GO) run ./tools/cashless-bench -daemon bin/cashlessd -cloud bin/cashless-cloud $(BENCH_FLAGS)

# The full fault suite (500 kill points, devices, storage, load, hostile
# input, secrets); writes its tables into docs/reliability.md. The short
# version runs in make test (go test ./cmd/cashlessd -run TestFault).
reliability: build
	$(GO) run ./tools/cashless-faults -daemon bin/cashlessd -markdown docs/reliability.md

# The Go micro-benchmarks of each package.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Static, stripped, reproducible binaries for the terminals' CPUs: the
# daemon and the ECR-side CLI, with SHA256SUMS, and lists each binary with
# its size. The arm64 and armv7 daemons must each stay within RELEASE_MAX_ARM
# bytes (15 MiB): terminals have little flash. RELEASE_ARCHS="arm64 amd64"
# builds a subset.
RELEASE_MAX_ARM   ?= 15728640
RELEASE_ARCHS     ?= arm64 armv7 amd64
RELEASE_CMDS      := cashlessd cashless
release:
	rm -rf dist && mkdir -p dist
	@set -e; for c in $(RELEASE_CMDS); do for a in $(RELEASE_ARCHS); do \
	  case $$a in armv7) arch="GOARCH=arm GOARM=7";; *) arch="GOARCH=$$a";; esac; \
	  echo "building dist/$$c-linux-$$a"; \
	  env CGO_ENABLED=0 GOOS=linux $$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/$$c-linux-$$a ./cmd/$$c; \
	done; done
	cd dist && sha256sum cashless* > SHA256SUMS
	@for f in dist/cashless*-linux-*; do printf '%-32s %10s bytes\n' "$$f" "$$(stat -c %s $$f)"; done
	@set -e; for a in arm64 armv7; do f=dist/cashlessd-linux-$$a; [ -f $$f ] || continue; \
	  size=$$(stat -c %s $$f); echo "$$f: $$size bytes (budget $(RELEASE_MAX_ARM))"; \
	  if [ $$size -gt $(RELEASE_MAX_ARM) ]; then echo "release: the $$a daemon is over its size budget" >&2; exit 1; fi; done

clean:
	rm -rf bin dist $(RUN_DIR)
