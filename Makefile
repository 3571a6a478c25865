# Thin wrapper over CMake. `make` builds into build/ (programs in build/bin/),
# `make test` builds an ASan+UBSan tree in build-asan/ and runs ctest,
# `make run` starts mkeyd on 127.0.0.1:8080 with sandbox providers,
# `make bench` runs every benchmark on the release build.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
# cmake's own make runs need no jobserver or directory chatter from this one.
BUILD_ENV = env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS

.PHONY: all build deps test run bench fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(BUILD_ENV) $(CMAKE) --build build -j $(JOBS)

test: deps
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMKEY_SANITIZE=ON >/dev/null
	@$(BUILD_ENV) $(CMAKE) --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS)

run: build
	@scripts/run.sh

bench: build
	@build/bin/mkey-bench all

fuzz:
	@scripts/deps.sh fuzz
	@CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMKEY_SANITIZE=ON -DMKEY_FUZZ=ON >/dev/null
	@$(BUILD_ENV) $(CMAKE) --build build-fuzz -j $(JOBS)
	@echo "fuzz targets are in build-fuzz/fuzz/; e.g. build-fuzz/fuzz/fuzz_json tests/fuzz/corpus/json"

clean:
	rm -rf build build-asan build-fuzz
