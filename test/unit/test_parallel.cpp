// Unit tests for the OpenMP loops that keep exceptions inside (parallel.h).
#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <new>
#include <stdexcept>
#include <vector>

using namespace vectordb;

TEST(Parallel, EveryIterationRunsOnceOnEveryThreadCount) {
    for (int threads : {1, 2, 4}) {
        std::vector<int> seen(1000, 0);
        parallel_for(1000, threads, [&](std::ptrdiff_t i) { seen[static_cast<std::size_t>(i)]++; });
        for (int s : seen) ASSERT_EQ(s, 1) << threads << " threads";
        std::vector<int> dynamic_seen(1000, 0);
        parallel_for_dynamic(1000, threads, 7, [&](std::ptrdiff_t i) { dynamic_seen[static_cast<std::size_t>(i)]++; });
        for (int s : dynamic_seen) ASSERT_EQ(s, 1) << threads << " threads, dynamic";
    }
    parallel_for(0, 2, [](std::ptrdiff_t) { FAIL() << "no iteration for an empty range"; });
}

TEST(Parallel, ThreadNumbersStayBelowTheThreadCount) {
    std::atomic<int> out_of_range{0};
    parallel_for(256, 3, [&](std::ptrdiff_t) {
        const int t = thread_number();
        if (t < 0 || t >= 3) out_of_range++;
    });
    EXPECT_EQ(out_of_range.load(), 0);
    EXPECT_EQ(thread_number(), 0) << "outside a region";
}

// What an iteration throws reaches the caller after the loop, instead of
// std::terminate (which would take the whole server down); later iterations
// are skipped once one has failed.
TEST(Parallel, TheFirstExceptionIsRethrownAfterTheLoop) {
    for (int threads : {1, 2, 4}) {
        std::atomic<int> ran{0};
        EXPECT_THROW(parallel_for(100000, threads,
                                  [&](std::ptrdiff_t i) {
                                      ran++;
                                      if (i == 10) throw std::bad_alloc();
                                  }),
                     std::bad_alloc);
        if (threads == 1) {
            EXPECT_EQ(ran.load(), 11) << "nothing runs after the failure on one thread";
        }
        EXPECT_LT(ran.load(), 100000) << threads << " threads";
        EXPECT_THROW(parallel_for_dynamic(1000, threads, 3,
                                          [&](std::ptrdiff_t i) {
                                              if (i % 100 == 99) throw std::runtime_error("iteration failed");
                                          }),
                     std::runtime_error);
    }
}
