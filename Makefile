# Thin wrapper around CMake. `make demo` and `make test` install what is missing first.
BUILD      ?= build/release
TESTBUILD  ?= build/asan
FUZZBUILD  ?= build/fuzz
MAKEFLAGS += --no-print-directory
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# The e2e tests mostly wait on sockets, timers and argon2id in other
# processes (about half a core each), so twice as many run as there are cores.
TESTJOBS   ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) * 2 )))
FUZZ_SECONDS ?= 30

PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps build install deb test demo fuzz fuzz-build bench clean

all: build

deps:
	@./scripts/deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTETHER_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# make install PREFIX=/usr DESTDIR=/tmp/root: binaries, units, sysusers and
# tmpfiles entries, man pages, bash completion, the example agent config,
# from the release build (made first). The prefix is given at install time:
# the units' ExecStart= is written then (cmake/install.cmake).
# BUILT=DIR installs a tree already built, as it is: nothing is configured
# or built (tests/e2e/t770 installs the tree under test).
BUILT      ?=
install: $(if $(BUILT),,build)
	@DESTDIR=$(DESTDIR) cmake --install $(or $(BUILT),$(BUILD)) --prefix $(PREFIX)

# make deb: tether-agent, tether-server, tether-relay and tether (CLI) .debs
# in build/deb, from the release build installed under /usr (scripts/mkdeb).
deb: build
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@./scripts/mkdeb $(BUILD) build/deb

test: deps
	@cmake -S . -B $(TESTBUILD) -DTETHER_SANITIZE=ON >/dev/null
	@cmake --build $(TESTBUILD) -j $(JOBS)
	@cd $(TESTBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(TESTJOBS)
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

demo: build
	@TETHER_BIN=$(CURDIR)/$(BUILD)/bin ./scripts/demo

fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZBUILD) -DTETHER_FUZZ=ON -DTETHER_TESTS=OFF >/dev/null
	@cmake --build $(FUZZBUILD) -j $(JOBS)

fuzz: fuzz-build
	@./scripts/fuzz $(FUZZBUILD)/bin $(FUZZ_SECONDS)

bench: build
	@./scripts/deps bench
	@./bench/run $(BUILD)/bin

clean:
	rm -rf build
