# vectordb: PGXS build of the extension, plus the project's entry points.
#
#   make demo    set everything up and run the demonstration (see README)
#   make test    set everything up and run every test suite
#   make         build vectordb.so (needs postgresql-server-dev-15)
#   make install install it into PostgreSQL 15
#   make unit    build and run the C++ core unit tests (CMake + ctest)
#   make bench [BENCH_ARGS=...]       the index in PostgreSQL on synth-768: results in bench/results/
#   make stress  long crash, concurrency, fuzzing and differential runs (STRESS_CRASH_RUNS, STRESS_SECONDS,
#                STRESS_FUZZ_SECONDS, STRESS_DIFF_SECONDS, STRESS_DIFF_SEED)
#   make bench-core [BENCH_ARGS=...]  the search core alone on synth-768 (bench/vtree_bench.cpp)
#   make bench-scaleout  replicas behind pgpool-II and shards over postgres_fdw, measured (SCALEOUT_ROWS,
#                  SCALEOUT_DIM, SCALEOUT_BASE, SCALEOUT_QUERY, SCALEOUT_SECONDS): bench/results/scaleout.md
#   make bench-sizes  p50 and QPS at fixed probes and at the default target for 100k, 1M and 3M rows
#                  (SIZES_ROWS, SIZES_DIM, SIZES_BASE, SIZES_QUERY): bench/results/sizes.md
#   make replicas  a primary, two streaming standbys and pgpool-II on loopback (scripts/replicas.sh);
#                  make replicas-stop stops them
#   make shards    a coordinator and three shards (postgres_fdw) on loopback (scripts/shards.sh);
#                  make shards-stop stops them

MODULE_big = vectordb
MODULEDIR  = extension
DATA       = extension/vectordb.control $(wildcard extension/vectordb--*.sql)

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
GLUE_SRCS = $(sort $(wildcard src/pg/*.cpp))
OBJS      = $(CORE_SRCS:.cpp=.o) $(GLUE_SRCS:.cpp=.o)

PG_CPPFLAGS = -I$(srcdir)/src
PG_CXXFLAGS = -std=c++17 -fPIC -fopenmp -Wno-register -Wno-missing-field-initializers
SHLIB_LINK  = -fopenmp -lstdc++ -lm

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=vectordb

# PGXS would otherwise try to emit LLVM bitcode for C++ files with clang.
override with_llvm = no

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
endif

# The core is compiled at -O3 (as in CMakeLists.txt, so the benchmarks measure
# this code): GCC 12 vectorises its plain loops (k-means sums, centroid means,
# the rotation) only there, and the index build is 1.26x faster for it
# (vtree_bench, synth-768). The glue keeps PostgreSQL's -O2.
src/core/%.o: override CXXFLAGS += -O3

# SIMD kernels: one file per instruction set, chosen at run time (never -march=native).
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vpopcntdq
src/core/%_avx2.o:   override CXXFLAGS += $(AVX2_FLAGS)
src/core/%_avx512.o: override CXXFLAGS += $(AVX512_FLAGS)

# Every object depends on every header: the project is small and a stale
# object with an old struct layout is a crash, not a build error.
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)

# Knobs given as make variables (make demo DEMO_ROWS=20000) reach the scripts.
export DEMO_ROWS DEMO_DIMS DEMO_QUERIES DEMO_FVECS DEMO_MEMORY_LIMIT_MB DEMO_REUSE BENCH_ARGS BENCH_SERVER STRESS_CRASH_RUNS STRESS_SECONDS STRESS_FUZZ_SECONDS \
       STRESS_DIFF_SECONDS STRESS_DIFF_SEED DIFF_CASES DIFF_SEED \
       SCALEOUT_ROWS SCALEOUT_DIM SCALEOUT_BASE SCALEOUT_QUERY SCALEOUT_SECONDS \
       SIZES_ROWS SIZES_DIM SIZES_BASE SIZES_QUERY

.DEFAULT_GOAL := all
.PHONY: test demo demo-stop unit bench bench-core bench-scaleout bench-sizes stress replicas replicas-stop shards shards-stop

test:
	@bash scripts/run-tests.sh

demo:
	@bash scripts/demo.sh

demo-stop:
	@bash scripts/cluster.sh stop

unit:
	@bash scripts/unit-tests.sh

bench:
	@bash scripts/bench.sh

bench-scaleout:
	@bash scripts/bench-scaleout.sh

bench-sizes:
	@bash scripts/bench-sizes.sh

stress:
	@bash scripts/stress.sh

# The scale-out set-ups: scripts/replicas.sh and scripts/shards.sh.
replicas shards:
	@bash scripts/setup-deps.sh >/dev/null
	@$(MAKE) -s all install >/dev/null
	@bash scripts/$@.sh start

replicas-stop shards-stop:
	@bash scripts/$(@:-stop=).sh stop

bench-core:
	@bash scripts/setup-deps.sh >/dev/null
	@cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build/cmake -j"$$(nproc)" --target vtree_bench >/dev/null
	@build/cmake/vtree_bench $(BENCH_ARGS)

EXTRA_CLEAN = build results regression.diffs regression.out
