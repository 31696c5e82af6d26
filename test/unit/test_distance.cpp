// Unit tests of the distance kernels (src/core/distance.h): every ISA this CPU
// supports, every length 1..4096, against double-precision references.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/errors.h"

namespace vectordb {
// Prints a KernelIsa by name in test output (found by argument-dependent lookup).
static void PrintTo(KernelIsa isa, std::ostream* os) { *os << isa_name(isa); }
}  // namespace vectordb

namespace {

using vectordb::DistanceKernels;
using vectordb::KernelIsa;

constexpr std::size_t kMaxN = 4096;
// Extra elements after kMaxN: data past the end of every tested vector is
// nonzero, so a kernel that reads too far gets a wrong answer.
constexpr std::size_t kSlack = 80;
constexpr double kRelTol = 1e-5;

const KernelIsa kAllIsas[] = {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512};

std::vector<KernelIsa> supported_isas() {
    std::vector<KernelIsa> out;
    for (KernelIsa isa : kAllIsas)
        if (vectordb::isa_supported(isa)) out.push_back(isa);
    return out;
}

// 64-byte aligned float array (so that data() + 1 is certainly misaligned).
class AlignedFloats {
public:
    explicit AlignedFloats(std::size_t n)
        : data_(static_cast<float*>(std::aligned_alloc(64, round_up(n * sizeof(float))))) {
        if (data_ == nullptr) throw std::bad_alloc();
        std::memset(data_.get(), 0, round_up(n * sizeof(float)));
    }
    float* data() { return data_.get(); }

private:
    static std::size_t round_up(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
    struct Free {
        void operator()(float* p) const { std::free(p); }
    };
    std::unique_ptr<float, Free> data_;
};

// Values uniform in [-2, 2].
void fill_uniform(float* p, std::size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    for (std::size_t i = 0; i < n; ++i) p[i] = dist(rng);
}

// Values uniform in [-2, 2] scaled by 10^k, k uniform in -3..3: seven orders of
// magnitude in one vector, so small terms are added to large partial sums.
void fill_mixed(float* p, std::size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    std::uniform_int_distribution<int> exponent(-3, 3);
    for (std::size_t i = 0; i < n; ++i) p[i] = dist(rng) * static_cast<float>(std::pow(10.0, exponent(rng)));
}

// Double-precision running sums of one pair of vectors.
struct Reference {
    double l2 = 0, l1 = 0, dot = 0, abs_dot = 0, norm_a = 0, norm_b = 0;

    void add(float x, float y) {
        const double dx = x, dy = y, d = dx - dy;
        l2 += d * d;
        l1 += std::fabs(d);
        dot += dx * dy;
        abs_dot += std::fabs(dx * dy);
        norm_a += dx * dx;
        norm_b += dy * dy;
    }
    double cosine() const { return 1.0 - dot / std::sqrt(norm_a * norm_b); }
};

// Compares every kernel of `k` with `ref` for the vectors a[0..n), b[0..n).
void expect_matches(const DistanceKernels& k, const float* a, const float* b, std::size_t n, const Reference& ref) {
    SCOPED_TRACE("n=" + std::to_string(n));
    EXPECT_LE(std::fabs(k.l2_squared(a, b, n) - ref.l2), kRelTol * ref.l2);
    EXPECT_LE(std::fabs(k.l1(a, b, n) - ref.l1), kRelTol * ref.l1);
    EXPECT_LE(std::fabs(k.squared_norm(a, n) - ref.norm_a), kRelTol * ref.norm_a);
    EXPECT_LE(std::fabs(k.squared_norm(b, n) - ref.norm_b), kRelTol * ref.norm_b);
    // The dot product can cancel to ~0, so its error is bounded relative to sum |a*b|.
    EXPECT_LE(std::fabs(k.inner_product(a, b, n) - ref.dot), kRelTol * ref.abs_dot);

    float dot = NAN, norm_a = NAN, norm_b = NAN;
    k.dot_and_norms(a, b, n, &dot, &norm_a, &norm_b);
    EXPECT_LE(std::fabs(dot - ref.dot), kRelTol * ref.abs_dot);
    EXPECT_LE(std::fabs(norm_a - ref.norm_a), kRelTol * ref.norm_a);
    EXPECT_LE(std::fabs(norm_b - ref.norm_b), kRelTol * ref.norm_b);
}

// Checks every prefix length 1..kMaxN of a and b (arrays of kMaxN + kSlack).
void check_all_lengths(const DistanceKernels& k, const float* a, const float* b) {
    Reference ref;
    for (std::size_t n = 1; n <= kMaxN; ++n) {
        ref.add(a[n - 1], b[n - 1]);
        expect_matches(k, a, b, n, ref);
        if (::testing::Test::HasFailure()) return;  // one failing length is enough output
    }
}

// ---- per-ISA tests ------------------------------------------------------------

class DistanceIsaTest : public ::testing::TestWithParam<KernelIsa> {
protected:
    const DistanceKernels& kernels() const { return vectordb::kernels_for(GetParam()); }
};

TEST_P(DistanceIsaTest, AllLengthsUniform) {
    std::mt19937 rng(12345);
    AlignedFloats a(kMaxN + kSlack), b(kMaxN + kSlack);
    fill_uniform(a.data(), kMaxN + kSlack, rng);
    fill_uniform(b.data(), kMaxN + kSlack, rng);
    check_all_lengths(kernels(), a.data(), b.data());
}

TEST_P(DistanceIsaTest, AllLengthsMixedMagnitudes) {
    std::mt19937 rng(777);
    AlignedFloats a(kMaxN + kSlack), b(kMaxN + kSlack);
    fill_mixed(a.data(), kMaxN + kSlack, rng);
    fill_mixed(b.data(), kMaxN + kSlack, rng);
    check_all_lengths(kernels(), a.data(), b.data());
}

TEST_P(DistanceIsaTest, AllLengthsNearlyEqualVectors) {
    // b = a + small noise: l2 and l1 are tiny compared with the inputs.
    std::mt19937 rng(99);
    AlignedFloats a(kMaxN + kSlack), b(kMaxN + kSlack);
    fill_uniform(a.data(), kMaxN + kSlack, rng);
    std::uniform_real_distribution<float> noise(-1e-3f, 1e-3f);
    for (std::size_t i = 0; i < kMaxN + kSlack; ++i) b.data()[i] = a.data()[i] + noise(rng);
    check_all_lengths(kernels(), a.data(), b.data());
}

TEST_P(DistanceIsaTest, MisalignedPointersGiveSameResults) {
    const DistanceKernels& k = kernels();
    std::mt19937 rng(4242);
    AlignedFloats a(kMaxN + kSlack), b(kMaxN + kSlack);
    AlignedFloats a_off(kMaxN + kSlack + 1), b_off(kMaxN + kSlack + 1);
    fill_uniform(a.data(), kMaxN + kSlack, rng);
    fill_uniform(b.data(), kMaxN + kSlack, rng);
    std::memcpy(a_off.data() + 1, a.data(), (kMaxN + kSlack) * sizeof(float));
    std::memcpy(b_off.data() + 1, b.data(), (kMaxN + kSlack) * sizeof(float));
    const float* a1 = a_off.data() + 1;
    const float* b1 = b_off.data() + 1;
    for (std::size_t n = 1; n <= kMaxN; ++n) {
        SCOPED_TRACE("n=" + std::to_string(n));
        // Same data, same summation order: results must be bit-identical.
        EXPECT_EQ(k.l2_squared(a.data(), b.data(), n), k.l2_squared(a1, b1, n));
        EXPECT_EQ(k.inner_product(a.data(), b.data(), n), k.inner_product(a1, b1, n));
        EXPECT_EQ(k.l1(a.data(), b.data(), n), k.l1(a1, b1, n));
        EXPECT_EQ(k.squared_norm(a.data(), n), k.squared_norm(a1, n));
        float d0, na0, nb0, d1, na1, nb1;
        k.dot_and_norms(a.data(), b.data(), n, &d0, &na0, &nb0);
        k.dot_and_norms(a1, b1, n, &d1, &na1, &nb1);
        EXPECT_EQ(d0, d1);
        EXPECT_EQ(na0, na1);
        EXPECT_EQ(nb0, nb1);
        if (HasFailure()) return;
    }
}

// Each vector ends right before an inaccessible page, so reading even one
// element past the end crashes the test. Vectors are the last n elements,
// which also starts them at every alignment.
TEST_P(DistanceIsaTest, NeverReadsPastTheEnd) {
    const DistanceKernels& k = kernels();
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t data_bytes = (kMaxN * sizeof(float) + page - 1) / page * page;
    const std::size_t region = data_bytes + page;  // data, then a guard page
    void* mem = mmap(nullptr, 2 * region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    char* base = static_cast<char*>(mem);
    ASSERT_EQ(mprotect(base + data_bytes, page, PROT_NONE), 0);
    ASSERT_EQ(mprotect(base + region + data_bytes, page, PROT_NONE), 0);
    float* a_end = reinterpret_cast<float*>(base + data_bytes);
    float* b_end = reinterpret_cast<float*>(base + region + data_bytes);

    std::mt19937 rng(2024);
    fill_uniform(a_end - kMaxN, kMaxN, rng);
    fill_uniform(b_end - kMaxN, kMaxN, rng);
    Reference ref;
    for (std::size_t n = 1; n <= kMaxN; ++n) {
        ref.add(a_end[-static_cast<std::ptrdiff_t>(n)], b_end[-static_cast<std::ptrdiff_t>(n)]);
        expect_matches(k, a_end - n, b_end - n, n, ref);
        if (HasFailure()) break;
    }
    munmap(mem, 2 * region);
}

TEST_P(DistanceIsaTest, ZeroLengthIsZero) {
    const DistanceKernels& k = kernels();
    const float x[1] = {1.0f}, y[1] = {-3.0f};
    EXPECT_EQ(k.l2_squared(x, y, 0), 0.0f);
    EXPECT_EQ(k.inner_product(x, y, 0), 0.0f);
    EXPECT_EQ(k.l1(x, y, 0), 0.0f);
    EXPECT_EQ(k.squared_norm(x, 0), 0.0f);
    float dot = 1, na = 1, nb = 1;
    k.dot_and_norms(x, y, 0, &dot, &na, &nb);
    EXPECT_EQ(dot, 0.0f);
    EXPECT_EQ(na, 0.0f);
    EXPECT_EQ(nb, 0.0f);
}

TEST_P(DistanceIsaTest, SmallExactValues) {
    // Integers: every sum is exact in float, whatever the summation order.
    const DistanceKernels& k = kernels();
    for (std::size_t n = 1; n <= 100; ++n) {
        SCOPED_TRACE("n=" + std::to_string(n));
        std::vector<float> a(n), b(n);
        double l2 = 0, l1 = 0, dot = 0, na = 0;
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = static_cast<float>(static_cast<int>(i % 7) - 3);
            b[i] = static_cast<float>(static_cast<int>(i % 5) - 1);
            l2 += (a[i] - b[i]) * (a[i] - b[i]);
            l1 += std::fabs(a[i] - b[i]);
            dot += a[i] * b[i];
            na += a[i] * a[i];
        }
        EXPECT_EQ(k.l2_squared(a.data(), b.data(), n), l2);
        EXPECT_EQ(k.l1(a.data(), b.data(), n), l1);
        EXPECT_EQ(k.inner_product(a.data(), b.data(), n), dot);
        EXPECT_EQ(k.squared_norm(a.data(), n), na);
        EXPECT_EQ(k.l2_squared(a.data(), a.data(), n), 0.0f);
        EXPECT_EQ(k.l1(a.data(), a.data(), n), 0.0f);
    }
}

// All-pairs inner products: shapes with full tiles and leftover rows and
// columns, lengths with and without a tail, each pair against a double sum.
TEST_P(DistanceIsaTest, InnerProductsMatchReferenceForEveryShape) {
    const DistanceKernels& k = kernels();
    std::mt19937 rng(2024);
    for (std::size_t n : {1u, 7u, 16u, 33u, 768u, 1000u}) {
        for (std::size_t row_count : {1u, 3u, 4u, 9u}) {
            for (std::size_t column_count : {1u, 4u, 6u, 13u}) {
                SCOPED_TRACE("n=" + std::to_string(n) + " rows=" + std::to_string(row_count) +
                             " columns=" + std::to_string(column_count));
                AlignedFloats rows(row_count * n), columns(column_count * n);
                fill_mixed(rows.data(), row_count * n, rng);
                fill_mixed(columns.data(), column_count * n, rng);
                std::vector<const float*> pointers(row_count);
                for (std::size_t i = 0; i < row_count; ++i) pointers[i] = rows.data() + i * n;
                std::vector<float> out(row_count * column_count, NAN);
                k.inner_products(pointers.data(), row_count, columns.data(), column_count, n, out.data());
                for (std::size_t i = 0; i < row_count; ++i)
                    for (std::size_t j = 0; j < column_count; ++j) {
                        Reference ref;
                        for (std::size_t t = 0; t < n; ++t) ref.add(rows.data()[i * n + t], columns.data()[j * n + t]);
                        EXPECT_LE(std::fabs(out[i * column_count + j] - ref.dot), kRelTol * ref.abs_dot)
                            << "pair " << i << "," << j;
                    }
            }
        }
    }
}

TEST_P(DistanceIsaTest, InnerProductsDoNotDependOnHowRowsAreGrouped) {
    // k-means assigns rows in blocks; a row must get the same values (bit for
    // bit) alone, in a full tile, or among the leftovers.
    const DistanceKernels& k = kernels();
    std::mt19937 rng(31337);
    const std::size_t n = 100, row_count = 11, column_count = 9;
    AlignedFloats rows(row_count * n), columns(column_count * n);
    fill_uniform(rows.data(), row_count * n, rng);
    fill_uniform(columns.data(), column_count * n, rng);
    std::vector<const float*> pointers(row_count);
    for (std::size_t i = 0; i < row_count; ++i) pointers[i] = rows.data() + i * n;
    std::vector<float> together(row_count * column_count);
    k.inner_products(pointers.data(), row_count, columns.data(), column_count, n, together.data());
    for (std::size_t i = 0; i < row_count; ++i) {
        std::vector<float> alone(column_count);
        k.inner_products(&pointers[i], 1, columns.data(), column_count, n, alone.data());
        for (std::size_t j = 0; j < column_count; ++j) {
            float single = NAN;
            k.inner_products(&pointers[i], 1, columns.data() + j * n, 1, n, &single);
            EXPECT_EQ(std::memcmp(&alone[j], &together[i * column_count + j], sizeof(float)), 0) << i << "," << j;
            EXPECT_EQ(std::memcmp(&single, &alone[j], sizeof(float)), 0) << i << "," << j;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(SupportedIsas, DistanceIsaTest, ::testing::ValuesIn(supported_isas()),
                         [](const ::testing::TestParamInfo<KernelIsa>& info) {
                             return std::string(vectordb::isa_name(info.param));
                         });

// ---- dispatch and ISA selection -----------------------------------------------

TEST(DistanceDispatch, FreeFunctionsEqualActiveTable) {
    const DistanceKernels& k = vectordb::kernels_for(vectordb::active_isa());
    std::mt19937 rng(5);
    AlignedFloats a(kMaxN), b(kMaxN);
    fill_uniform(a.data(), kMaxN, rng);
    fill_uniform(b.data(), kMaxN, rng);
    for (std::size_t n : {0u, 1u, 3u, 8u, 15u, 16u, 17u, 31u, 64u, 100u, 128u, 767u, 768u, 1536u, 4096u}) {
        SCOPED_TRACE("n=" + std::to_string(n));
        EXPECT_EQ(vectordb::l2_squared_distance(a.data(), b.data(), n), k.l2_squared(a.data(), b.data(), n));
        EXPECT_EQ(vectordb::inner_product(a.data(), b.data(), n), k.inner_product(a.data(), b.data(), n));
        EXPECT_EQ(vectordb::l1_distance(a.data(), b.data(), n), k.l1(a.data(), b.data(), n));
        EXPECT_EQ(vectordb::squared_norm(a.data(), n), k.squared_norm(a.data(), n));
        float d0, na0, nb0, d1, na1, nb1;
        vectordb::dot_and_norms(a.data(), b.data(), n, &d0, &na0, &nb0);
        k.dot_and_norms(a.data(), b.data(), n, &d1, &na1, &nb1);
        EXPECT_EQ(d0, d1);
        EXPECT_EQ(na0, na1);
        EXPECT_EQ(nb0, nb1);
    }
}

// The ISA VECTORDB_FORCE_ISA should select: the named one if it is lower than
// the best supported, else the best (unknown names are ignored).
KernelIsa expected_active_isa() {
    const KernelIsa best = supported_isas().back();
    const char* forced = std::getenv("VECTORDB_FORCE_ISA");
    if (forced == nullptr) return best;
    std::string name(forced);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    KernelIsa wanted = best;
    if (name == "scalar") wanted = KernelIsa::Scalar;
    if (name == "avx2") wanted = KernelIsa::Avx2;
    if (name == "avx512") wanted = KernelIsa::Avx512;
    return static_cast<int>(wanted) < static_cast<int>(best) ? wanted : best;
}

// Run by ctest three times: without the variable and with it set to scalar
// and avx2 (see CMakeLists.txt), since it is read once per process.
TEST(DistanceDispatch, ActiveIsaIsBestSupportedUnlessForced) {
    const KernelIsa active = vectordb::active_isa();
    EXPECT_TRUE(vectordb::isa_supported(active));
    EXPECT_EQ(vectordb::active_isa(), active);  // stable
    EXPECT_EQ(active, expected_active_isa());
}

TEST(DistanceDispatch, IsaNames) {
    EXPECT_STREQ(vectordb::isa_name(KernelIsa::Scalar), "scalar");
    EXPECT_STREQ(vectordb::isa_name(KernelIsa::Avx2), "avx2");
    EXPECT_STREQ(vectordb::isa_name(KernelIsa::Avx512), "avx512");
    EXPECT_STREQ(vectordb::isa_name(static_cast<KernelIsa>(42)), "unknown");
}

TEST(DistanceDispatch, IsaSupportedMatchesCpuFeatures) {
    __builtin_cpu_init();
    EXPECT_TRUE(vectordb::isa_supported(KernelIsa::Scalar));
    EXPECT_EQ(vectordb::isa_supported(KernelIsa::Avx2),
              __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    EXPECT_EQ(vectordb::isa_supported(KernelIsa::Avx512),
              __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"));
    EXPECT_FALSE(vectordb::isa_supported(static_cast<KernelIsa>(42)));
}

TEST(DistanceDispatch, EachIsaHasItsOwnKernels) {
    // Guards against a table silently pointing at another ISA's functions.
    const std::vector<KernelIsa> isas = supported_isas();
    for (std::size_t i = 0; i < isas.size(); ++i) {
        for (std::size_t j = i + 1; j < isas.size(); ++j) {
            const DistanceKernels& x = vectordb::kernels_for(isas[i]);
            const DistanceKernels& y = vectordb::kernels_for(isas[j]);
            SCOPED_TRACE(std::string(vectordb::isa_name(isas[i])) + " vs " + vectordb::isa_name(isas[j]));
            EXPECT_NE(x.l2_squared, y.l2_squared);
            EXPECT_NE(x.inner_product, y.inner_product);
            EXPECT_NE(x.l1, y.l1);
            EXPECT_NE(x.squared_norm, y.squared_norm);
            EXPECT_NE(x.dot_and_norms, y.dot_and_norms);
            EXPECT_NE(x.inner_products, y.inner_products);
        }
    }
}

TEST(DistanceDispatch, KernelsForThrowsForUnsupportedIsa) {
    bool any_unsupported = false;
    for (KernelIsa isa : kAllIsas) {
        if (vectordb::isa_supported(isa)) {
            EXPECT_NO_THROW(vectordb::kernels_for(isa)) << vectordb::isa_name(isa);
        } else {
            any_unsupported = true;
            EXPECT_THROW(vectordb::kernels_for(isa), vectordb::InvalidArgument) << vectordb::isa_name(isa);
        }
    }
    if (!any_unsupported) GTEST_SKIP() << "this CPU supports every kernel ISA";
}

TEST(DistanceDispatch, KernelsForThrowsForUnknownIsa) {
    EXPECT_THROW(vectordb::kernels_for(static_cast<KernelIsa>(42)), vectordb::InvalidArgument);
}

// ---- cosine distance ----------------------------------------------------------

TEST(CosineDistance, AllLengthsMatchReference) {
    for (int dataset = 0; dataset < 2; ++dataset) {
        SCOPED_TRACE(dataset == 0 ? "uniform" : "mixed magnitudes");
        std::mt19937 rng(31337 + dataset);
        AlignedFloats a(kMaxN + kSlack), b(kMaxN + kSlack);
        if (dataset == 0) {
            fill_uniform(a.data(), kMaxN + kSlack, rng);
            fill_uniform(b.data(), kMaxN + kSlack, rng);
        } else {
            fill_mixed(a.data(), kMaxN + kSlack, rng);
            fill_mixed(b.data(), kMaxN + kSlack, rng);
        }
        Reference ref;
        for (std::size_t n = 1; n <= kMaxN; ++n) {
            ref.add(a.data()[n - 1], b.data()[n - 1]);
            const double got = vectordb::cosine_distance(a.data(), b.data(), n);
            ASSERT_LE(std::fabs(got - ref.cosine()), 1e-5) << "n=" << n << " got " << got;
            ASSERT_GE(got, 0.0) << "n=" << n;
            ASSERT_LE(got, 2.0) << "n=" << n;
        }
    }
}

TEST(CosineDistance, ZeroVectorGivesNaN) {
    std::mt19937 rng(8);
    for (std::size_t n : {1u, 7u, 16u, 33u, 768u}) {
        SCOPED_TRACE("n=" + std::to_string(n));
        std::vector<float> zero(n, 0.0f), x(n);
        fill_uniform(x.data(), n, rng);
        EXPECT_TRUE(std::isnan(vectordb::cosine_distance(zero.data(), x.data(), n)));
        EXPECT_TRUE(std::isnan(vectordb::cosine_distance(x.data(), zero.data(), n)));
        EXPECT_TRUE(std::isnan(vectordb::cosine_distance(zero.data(), zero.data(), n)));
        EXPECT_FALSE(std::isnan(vectordb::cosine_distance(x.data(), x.data(), n)));
    }
    const float one = 1.0f;
    EXPECT_TRUE(std::isnan(vectordb::cosine_distance(&one, &one, 0)));  // empty: norm 0
}

TEST(CosineDistance, IdenticalParallelAndOppositeVectors) {
    std::mt19937 rng(77);
    AlignedFloats a(kMaxN), copy(kMaxN), scaled(kMaxN), opposite(kMaxN);
    fill_uniform(a.data(), kMaxN, rng);
    for (std::size_t i = 0; i < kMaxN; ++i) {
        copy.data()[i] = a.data()[i];
        scaled.data()[i] = 3.0f * a.data()[i];
        opposite.data()[i] = -a.data()[i];
    }
    for (std::size_t n = 1; n <= kMaxN; ++n) {
        SCOPED_TRACE("n=" + std::to_string(n));
        const double same = vectordb::cosine_distance(a.data(), a.data(), n);
        const double same_copy = vectordb::cosine_distance(a.data(), copy.data(), n);
        const double parallel = vectordb::cosine_distance(a.data(), scaled.data(), n);
        const double opp = vectordb::cosine_distance(a.data(), opposite.data(), n);
        EXPECT_NEAR(same, 0.0, 1e-6);
        EXPECT_NEAR(same_copy, 0.0, 1e-6);
        EXPECT_NEAR(parallel, 0.0, 1e-6);
        EXPECT_NEAR(opp, 2.0, 1e-6);
        // The similarity is clamped, so rounding never leaves [0, 2].
        EXPECT_GE(parallel, 0.0);
        EXPECT_GE(same, 0.0);
        EXPECT_LE(opp, 2.0);
        if (HasFailure()) return;
    }
}

TEST(CosineDistance, OrthogonalVectors) {
    const float a[4] = {1, 0, 0, 0}, b[4] = {0, 2, 0, 0};
    EXPECT_DOUBLE_EQ(vectordb::cosine_distance(a, b, 4), 1.0);
    const float c[3] = {1, 2, 3}, d[3] = {-1, -2, -3};
    EXPECT_DOUBLE_EQ(vectordb::cosine_distance(c, d, 3), 2.0);
    const float e[2] = {1, 0}, f[2] = {1, 1};  // 45 degrees
    EXPECT_NEAR(vectordb::cosine_distance(e, f, 2), 1.0 - std::sqrt(0.5), 1e-7);
}

}  // namespace
