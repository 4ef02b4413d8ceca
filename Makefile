# faceemd — GNU make, no configure step. Switches first:
#   make            bin/faceemd + lib/libfaceemd.a (portable C11 + run-time chosen SIMD kernels)
#   make OMP=1      same with OpenMP (objects live in build/omp, never mixed with build/rel)
#   make test       build and run the test suite (ends with "N passed, N failed")
#   make check      the suite and every fuzz corpus under ASan + UBSan
#   make bench      benchmarks (OpenMP build; never timed tests)
#   make static     fully static bin/faceemd-static, and proof it has no dynamic section
#   make fuzz       libFuzzer targets with clang (build/fuzz/); see tests/fuzz/README.md
#   make tools      tools/*.c programs (build/<cfg>/tools/, e.g. the faceapi2feb converter)
#   make clean
CC      ?= cc
OMP     ?= 0
SAN     ?=
DEBUG   ?= 0
V       ?= 0

ARCH := $(shell uname -m)

ifeq ($(FUZZ),1)
  CFG := libfuzzer
else ifneq ($(SAN),)
  CFG := asan
else ifeq ($(OMP),1)
  CFG := omp
else
  CFG := rel
endif
ifeq ($(DEBUG),1)
  CFG := $(CFG)-dbg
endif
BUILD := build/$(CFG)

WARN := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wvla -Wno-unknown-pragmas -Werror=implicit-function-declaration
# Never -ffast-math/-Ofast: they break NaN checks and the 0.99999 cosine target.
# -fno-math-errno only lets sqrtf inline; it changes no result.
OPT  := -O2 -fno-math-errno
ifeq ($(DEBUG),1)
  OPT := -O0 -g3
endif
CFLAGS_ALL := -std=c11 $(OPT) $(WARN) -Iinclude -Isrc -MMD -MP
LDLIBS := -lm
ifeq ($(OMP),1)
  CFLAGS_ALL += -fopenmp -DFE_OMP
  LDFLAGS_ALL += -fopenmp
endif
ifeq ($(FUZZ),1)
  CFLAGS_ALL += -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif
ifneq ($(SAN),)
  CFLAGS_ALL += -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS_ALL += -fsanitize=address,undefined
endif
CFLAGS_ALL += $(CFLAGS)
LDFLAGS_ALL += $(LDFLAGS)

# SIMD kernels live in their own files and are chosen at run time; the portable C path is
# always built. On other architectures these files compile to nothing.
ifeq ($(ARCH),x86_64)
  AVX2_FLAGS   := -mavx2 -mfma
  AVX512_FLAGS := -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma
endif

ifeq ($(V),0)
  Q = @
  say = @printf '  %-6s %s\n' $(1) $(2);
else
  Q =
  say =
endif

LIB_SRC   := $(sort $(wildcard src/*.c))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
TOOL_SRC  := $(sort $(wildcard tools/*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/main.o
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/bench/main.o

LIBA   := $(BUILD)/libfaceemd.a
EXE    := $(BUILD)/faceemd
TESTS  := $(BUILD)/faceemd_tests
BENCH  := $(BUILD)/faceemd_bench
TOOLS  := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)

.PHONY: all test check bench static fuzz clean help run-tests run-fuzz-replay tools .FORCE
all: bin/faceemd lib/libfaceemd.a
	@echo "  built  bin/faceemd lib/libfaceemd.a ($(CFG): openmp $(if $(filter 1,$(OMP)),on,off))"

help:
	@sed -n '1,/^CC /p' Makefile | sed '$$d'

# bin/ and lib/ hold the last configuration built; the copy is refreshed whenever it differs.
bin/faceemd: $(EXE) .FORCE
	@mkdir -p bin
	@cmp -s $< $@ || cp $< $@
lib/libfaceemd.a: $(LIBA) .FORCE
	@mkdir -p lib
	@cmp -s $< $@ || cp $< $@
.FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS_ALL) $(XFLAGS) -c $< -o $@

$(BUILD)/%_avx2.o:   XFLAGS = $(AVX2_FLAGS)
$(BUILD)/%_avx512.o: XFLAGS = $(AVX512_FLAGS)

$(LIBA): $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Verb and test tables are generated from FE_VERB(...) / FE_TEST(...) lines, so adding a
# command or a test is one new function in one file.
$(BUILD)/gen/verb_table.h: $(CLI_SRC)
	@mkdir -p $(dir $@)
	$(Q)sed -n 's/^FE_VERB(\([a-z0-9_]*\), *\(".*"\)) *{.*/FE_VERB_ENTRY(\1, \2)/p' $(CLI_SRC) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/test_table.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	$(Q)sed -n 's/^FE_TEST(\([A-Za-z0-9_]*\)) *{.*/FE_TEST_ENTRY(\1)/p' $(TEST_SRC) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/bench_table.h: $(BENCH_SRC)
	@mkdir -p $(dir $@)
	$(Q)sed -n 's/^FE_BENCH(\([A-Za-z0-9_]*\)) *{.*/FE_BENCH_ENTRY(\1)/p' $(BENCH_SRC) > $@.tmp && mv $@.tmp $@
$(BUILD)/src/cli/main.o: $(BUILD)/gen/verb_table.h
$(BUILD)/src/cli/main.o: XFLAGS = -I$(BUILD)/gen
$(BUILD)/tests/main.o: $(BUILD)/gen/test_table.h
$(BUILD)/tests/main.o: XFLAGS = -I$(BUILD)/gen
$(BUILD)/tests/bench/main.o: $(BUILD)/gen/bench_table.h
$(BUILD)/tests/bench/main.o: XFLAGS = -I$(BUILD)/gen

$(EXE): $(CLI_OBJ) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) $(CLI_OBJ) $(LIBA) $(LDLIBS) -o $@
$(TESTS): $(TEST_OBJ) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) $(TEST_OBJ) $(LIBA) $(LDLIBS) -o $@
$(BENCH): $(BENCH_OBJ) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) $(BENCH_OBJ) $(LIBA) $(LDLIBS) -o $@

# Tools link against the library (static pattern: only these targets, never the .o files).
tools: $(TOOLS)
$(TOOLS): $(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS) -o $@

# Fuzz targets replayed over their corpus and regression inputs (no libFuzzer needed).
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS) -o $@

# The suite runs from the repository root; tests that spawn the CLI use $FE_CLI, tools $FE_TOOLS.
run-tests: $(TESTS) $(EXE) $(TOOLS)
	$(Q)FE_CLI=$(EXE) FE_TOOLS=$(BUILD)/tools $(TESTS) $(T)
test: all
	$(Q)$(MAKE) --no-print-directory run-tests

run-fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
	$(Q)set -e; for f in $(FUZZ_NAMES); do \
	  $(BUILD)/fuzz/$$f tests/fuzz/corpus/$${f#fuzz_} tests/fuzz/regress/$${f#fuzz_}; done

check:
	$(Q)$(MAKE) --no-print-directory SAN=1 run-fuzz-replay
	$(Q)ASAN_OPTIONS=detect_leaks=1 FE_TEST_JOBS=$${FE_TEST_JOBS:-2} $(MAKE) --no-print-directory SAN=1 run-tests

bench:
	$(Q)$(MAKE) --no-print-directory OMP=1 build/omp/faceemd_bench
	$(Q)build/omp/faceemd_bench $(B)

static:
	$(Q)$(MAKE) --no-print-directory BUILD=build/static build/static/faceemd
	@mkdir -p bin
	$(Q)$(CC) -static build/static/src/cli/*.o build/static/libfaceemd.a -lm -o bin/faceemd-static
	@echo "  static bin/faceemd-static: $$(file -b bin/faceemd-static 2>/dev/null | cut -d, -f1-2)"
	@if LC_ALL=C readelf -d bin/faceemd-static | grep -q 'no dynamic section'; then \
	  echo "  ok     readelf -d bin/faceemd-static: There is no dynamic section in this file."; \
	else LC_ALL=C readelf -d bin/faceemd-static; echo "  FAIL   it has a dynamic section"; exit 1; fi

# libFuzzer builds (clang): the library with -fsanitize=fuzzer-no-link, each target linked
# with -fsanitize=fuzzer. Run e.g. build/libfuzzer/fuzz/fuzz_jpeg tests/fuzz/corpus/jpeg.
fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang FUZZ=1 build/libfuzzer/libfaceemd.a
	$(Q)set -e; mkdir -p build/libfuzzer/fuzz; for f in $(FUZZ_NAMES); do \
	  clang -std=c11 -g -O1 -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
	    tests/fuzz/$$f.c build/libfuzzer/libfaceemd.a -lm -o build/libfuzzer/fuzz/$$f; \
	  echo "  built  build/libfuzzer/fuzz/$$f"; done

clean:
	rm -rf build bin lib

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
