# The few commands people type. Everything builds with CMake under build/.
JOBS   ?= $(shell nproc)
PREFIX ?= /usr/local
CMAKE  ?= cmake
CTEST  ?= ctest

REL   := build/release
DBG   := build/debug
ASAN  := build/asan
TSAN  := build/tsan

.PHONY: all deps demo test test-debug test-asan test-tsan bench install clean fuzz

all: deps
	$(CMAKE) -S . -B $(REL) -DCMAKE_BUILD_TYPE=Release -DCMOJO_TESTS=OFF >/dev/null
	$(CMAKE) --build $(REL) -j $(JOBS)

deps:
	@./scripts/install-deps.sh

demo: all
	./$(REL)/examples/cmojo_demo

# The whole suite: gcc debug build, then clang with ASan+UBSan, then the
# threaded tests under TSan.
test: deps test-debug test-asan test-tsan
	@echo "make test: all suites passed"

test-debug:
	$(CMAKE) -S . -B $(DBG) -DCMAKE_BUILD_TYPE=Debug -DCMOJO_BENCH=OFF >/dev/null
	$(CMAKE) --build $(DBG) -j $(JOBS)
	cd $(DBG) && $(CTEST) --output-on-failure -j $(JOBS)

test-asan:
	CC=clang $(CMAKE) -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMOJO_BENCH=OFF \
	  -DCMOJO_ASAN=ON -DCMOJO_UBSAN=ON >/dev/null
	$(CMAKE) --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -LE nosan

test-tsan:
	CC=clang $(CMAKE) -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DCMOJO_BENCH=OFF \
	  -DCMOJO_TSAN=ON >/dev/null
	$(CMAKE) --build $(TSAN) -j $(JOBS)
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -L threaded

bench: all
	$(CMAKE) -S . -B $(REL) -DCMOJO_BENCH=ON >/dev/null
	$(CMAKE) --build $(REL) -j $(JOBS)
	@for b in $(REL)/bench/bench_*; do [ -x "$$b" ] && "$$b" || exit 1; done

install: all
	$(CMAKE) --install $(REL) --prefix $(PREFIX)

fuzz: deps
	CC=clang $(CMAKE) -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMOJO_FUZZ=ON \
	  -DCMOJO_ASAN=ON -DCMOJO_UBSAN=ON -DCMOJO_TESTS=OFF -DCMOJO_BENCH=OFF >/dev/null
	$(CMAKE) --build build/fuzz -j $(JOBS)

clean:
	rm -rf build
