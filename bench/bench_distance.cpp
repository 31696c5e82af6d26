// Google Benchmark of the distance kernels: every kernel, for every ISA this
// CPU supports, at 128, 768 and 1536 dimensions; plus the dispatching free
// functions (to see the cost of the indirect call) and cosine_distance.
//
//   build/cmake/vectordb_bench_distance --benchmark_min_time=0.05
#include <benchmark/benchmark.h>

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "core/distance.h"

namespace {

using vectordb::DistanceKernels;
using vectordb::KernelIsa;

const std::size_t kDims[] = {128, 768, 1536};

// Two random vectors of `n` floats in [-2, 2].
struct Inputs {
    explicit Inputs(std::size_t n) : a(n), b(n) {
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = dist(rng);
            b[i] = dist(rng);
        }
    }
    std::vector<float> a, b;
};

// Runs `fn(a, b, n)` in the timing loop; `arrays` is how many n-float arrays it reads.
template <typename Fn>
void run(benchmark::State& state, std::size_t n, int arrays, Fn fn) {
    const Inputs in(n);
    for (auto _ : state) {
        const float* a = in.a.data();
        const float* b = in.b.data();
        benchmark::DoNotOptimize(a);  // keep the call from being hoisted out of the loop
        benchmark::DoNotOptimize(b);
        benchmark::DoNotOptimize(fn(a, b, n));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * arrays *
                            static_cast<std::int64_t>(n * sizeof(float)));
}

void register_isa(KernelIsa isa) {
    const DistanceKernels& k = vectordb::kernels_for(isa);
    const std::string prefix = std::string(vectordb::isa_name(isa)) + "/";
    for (std::size_t n : kDims) {
        const std::string dim = "/" + std::to_string(n);
        benchmark::RegisterBenchmark((prefix + "l2_squared" + dim).c_str(), [&k, n](benchmark::State& s) {
            run(s, n, 2, [&k](const float* a, const float* b, std::size_t m) { return k.l2_squared(a, b, m); });
        });
        benchmark::RegisterBenchmark((prefix + "inner_product" + dim).c_str(), [&k, n](benchmark::State& s) {
            run(s, n, 2, [&k](const float* a, const float* b, std::size_t m) { return k.inner_product(a, b, m); });
        });
        benchmark::RegisterBenchmark((prefix + "l1" + dim).c_str(), [&k, n](benchmark::State& s) {
            run(s, n, 2, [&k](const float* a, const float* b, std::size_t m) { return k.l1(a, b, m); });
        });
        benchmark::RegisterBenchmark((prefix + "squared_norm" + dim).c_str(), [&k, n](benchmark::State& s) {
            run(s, n, 1, [&k](const float* a, const float*, std::size_t m) { return k.squared_norm(a, m); });
        });
        benchmark::RegisterBenchmark((prefix + "dot_and_norms" + dim).c_str(), [&k, n](benchmark::State& s) {
            run(s, n, 2, [&k](const float* a, const float* b, std::size_t m) {
                float dot, na, nb;
                k.dot_and_norms(a, b, m, &dot, &na, &nb);
                return dot + na + nb;
            });
        });
    }
}

void register_dispatch() {
    const std::string prefix = std::string("dispatch(") + vectordb::isa_name(vectordb::active_isa()) + ")/";
    for (std::size_t n : kDims) {
        const std::string dim = "/" + std::to_string(n);
        benchmark::RegisterBenchmark((prefix + "l2_squared_distance" + dim).c_str(), [n](benchmark::State& s) {
            run(s, n, 2,
                [](const float* a, const float* b, std::size_t m) { return vectordb::l2_squared_distance(a, b, m); });
        });
        benchmark::RegisterBenchmark((prefix + "cosine_distance" + dim).c_str(), [n](benchmark::State& s) {
            run(s, n, 2,
                [](const float* a, const float* b, std::size_t m) { return vectordb::cosine_distance(a, b, m); });
        });
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    for (KernelIsa isa : {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512})
        if (vectordb::isa_supported(isa)) register_isa(isa);
    register_dispatch();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
