// OpenMP loops that keep exceptions inside. Every parallel region of the core
// goes through these.
//
// An exception may not leave an OpenMP region: the runtime calls
// std::terminate, which in a PostgreSQL backend is a SIGABRT that restarts
// every session. Here each iteration runs in a try block; the first exception
// is kept, the iterations not yet started are skipped, and the exception is
// rethrown on the calling thread once the loop is over. Bodies should still
// not allocate (rule 4 of the brief: scratch is sized before the loop, per
// thread where needed, indexed by omp_get_thread_num()); this is the net
// under that rule, not a licence to break it.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace vectordb {

// The first exception thrown by any thread of a loop.
class FirstFailure {
public:
    // Runs f() unless an earlier iteration failed; keeps what it throws.
    template <class F>
    void run(F&& f) noexcept {
        if (failed_.load(std::memory_order_relaxed)) return;
        try {
            f();
        } catch (...) {
            bool expected = false;
            if (failed_.compare_exchange_strong(expected, true)) first_ = std::current_exception();
        }
    }
    // Rethrows the kept exception, if any (call after the region).
    void rethrow_if_failed() {
        if (first_) std::rethrow_exception(first_);
    }

private:
    std::atomic<bool> failed_{false};
    std::exception_ptr first_;
};

// The calling thread's number within the current region (0 outside one).
inline int thread_number() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// body(i) for i in [0, n) on up to `threads` threads, in static contiguous
// chunks (a thread's iterations are consecutive).
template <class Body>
void parallel_for(std::ptrdiff_t n, int threads, Body&& body) {
    FirstFailure failure;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(static)
    for (std::ptrdiff_t i = 0; i < n; i++) failure.run([&] { body(i); });
    failure.rethrow_if_failed();
}

// The same, with iterations handed out `chunk` at a time as threads come free
// (for iterations of uneven cost).
template <class Body>
void parallel_for_dynamic(std::ptrdiff_t n, int threads, int chunk, Body&& body) {
    FirstFailure failure;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(dynamic, chunk > 0 ? chunk : 1)
    for (std::ptrdiff_t i = 0; i < n; i++) failure.run([&] { body(i); });
    failure.rethrow_if_failed();
}

}  // namespace vectordb
