// Unit tests for sparse vectors (sparse_vector.h): the text parser's accepted
// forms and errors, index checks, and the distances and order against the
// same vectors written out densely.
#include "core/errors.h"
#include "core/random.h"
#include "core/sparse_vector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace vectordb {
namespace {

struct Parsed {
    std::vector<SparseElement> elements;
    int32_t dim = 0;
};

Parsed parse(const std::string& text) {
    Parsed p;
    p.elements.resize(sparse_text_capacity(text.c_str()));
    const int n = parse_sparse_text(text.c_str(), p.elements.data(), p.elements.size(), &p.dim);
    p.elements.resize(static_cast<std::size_t>(n));
    sparse_sort_elements(p.elements.data(), p.elements.size(), p.dim);
    return p;
}

template <class E>
std::string error_of(const std::string& text, std::string* detail = nullptr) {
    try {
        parse(text);
    } catch (const E& e) {
        if (detail) *detail = e.detail();
        return e.what();
    }
    return "(no error)";
}

TEST(SparseText, ParsesIndicesFromOneAndDropsZeros) {
    const Parsed p = parse(" { 3 : 2.5 , 1:1.5,2:0 } / 5 ");
    EXPECT_EQ(p.dim, 5);
    ASSERT_EQ(p.elements.size(), 2u);
    EXPECT_EQ(p.elements[0].index, 0);
    EXPECT_FLOAT_EQ(p.elements[0].value, 1.5f);
    EXPECT_EQ(p.elements[1].index, 2);
    EXPECT_FLOAT_EQ(p.elements[1].value, 2.5f);
    EXPECT_TRUE(parse("{}/3").elements.empty());
    // A zero is dropped before its index is looked at, as pgvector does.
    EXPECT_TRUE(parse("{9:0}/3").elements.empty());
}

TEST(SparseText, SyntaxErrorsCarryPgvectorsDetails) {
    std::string detail;
    EXPECT_EQ(error_of<InvalidTextRepresentation>("[1:2]/3", &detail),
              "invalid input syntax for type sparsevec: \"[1:2]/3\"");
    EXPECT_EQ(detail, "Vector contents must start with \"{\".");
    error_of<InvalidTextRepresentation>("{1:2}", &detail);
    EXPECT_EQ(detail, "Unexpected end of input.");
    error_of<InvalidTextRepresentation>("{1:2}/3 x", &detail);
    EXPECT_EQ(detail, "Junk after closing.");
    for (const char* bad : {"{1:2", "{1}/3", "{:2}/3", "{1:}/3", "{1:2,}/3", "{1:2;2:3}/3", "{1:2}/", "{1:2}/x"}) {
        detail = "unset";
        EXPECT_EQ(error_of<InvalidTextRepresentation>(bad, &detail),
                  std::string("invalid input syntax for type sparsevec: \"") + bad + "\"")
            << bad;
        EXPECT_TRUE(detail.empty() || detail == "Unexpected end of input.") << bad << ": " << detail;
    }
}

TEST(SparseText, ValueAndDimensionErrors) {
    EXPECT_EQ(error_of<NumericOutOfRange>("{1:4e38}/2"), "\"4e38\" is out of range for type sparsevec");
    EXPECT_EQ(error_of<NumericOutOfRange>("{1:1e-50}/2"), "\"1e-50\" is out of range for type sparsevec");
    EXPECT_EQ(error_of<DataError>("{1:NaN}/2"), "NaN not allowed in sparsevec");
    EXPECT_EQ(error_of<DataError>("{1:-inf}/2"), "infinite value not allowed in sparsevec");
    EXPECT_EQ(error_of<DataError>("{}/0"), "sparsevec must have at least 1 dimension");
    EXPECT_EQ(error_of<DataError>("{}/-99999999999"), "sparsevec must have at least 1 dimension");
    EXPECT_EQ(error_of<LimitExceeded>("{}/1000000001"), "sparsevec cannot have more than 1000000000 dimensions");
    EXPECT_EQ(error_of<DataError>("{0:1}/3"), "sparsevec index out of bounds");
    EXPECT_EQ(error_of<DataError>("{4:1}/3"), "sparsevec index out of bounds");
    EXPECT_EQ(error_of<DataError>("{99999999999:1}/3"), "sparsevec index out of bounds");
    EXPECT_EQ(error_of<DataError>("{2:1,2:3}/3"), "sparsevec indices must not contain duplicates");
    std::string many = "{";
    for (int i = 1; i <= kSparseMaxNonZero + 1; i++) many += (i > 1 ? "," : "") + std::to_string(i) + ":0";
    many += "}/20000";
    EXPECT_EQ(error_of<LimitExceeded>(many), "sparsevec cannot have more than 16000 non-zero elements");
}

TEST(SparseText, StoredIndicesAreChecked) {
    const int32_t ascending[] = {0, 2, 4};
    EXPECT_NO_THROW(sparse_check_indices(ascending, 3, 5));
    EXPECT_THROW(sparse_check_indices(ascending, 3, 4), DataError);
    const int32_t descending[] = {2, 1};
    EXPECT_THROW(sparse_check_indices(descending, 2, 5), DataError);
    const int32_t repeated[] = {1, 1};
    EXPECT_THROW(sparse_check_indices(repeated, 2, 5), DataError);
}

// A random sparse vector with its dense form.
struct Both {
    std::vector<int32_t> indices;
    std::vector<float> values;
    std::vector<float> dense;
    SparseView view() const {
        return {static_cast<int32_t>(dense.size()), static_cast<int32_t>(indices.size()), indices.data(),
                values.data()};
    }
};

Both random_sparse(SplitMix64& rng, int32_t dim, double density) {
    Both b;
    b.dense.assign(static_cast<std::size_t>(dim), 0.0f);
    for (int32_t i = 0; i < dim; i++)
        if (rng.uniform() < density) {
            const float v = static_cast<float>(std::round((rng.uniform() * 4.0 - 2.0) * 8.0) / 8.0);
            if (v == 0.0f) continue;
            b.indices.push_back(i);
            b.values.push_back(v);
            b.dense[static_cast<std::size_t>(i)] = v;
        }
    return b;
}

TEST(SparseDistance, MatchesTheDenseFormulas) {
    SplitMix64 rng(21);
    for (int trial = 0; trial < 300; trial++) {
        const int32_t dim = 1 + static_cast<int32_t>(rng.next() % 200);
        const Both a = random_sparse(rng, dim, rng.uniform());
        const Both b = random_sparse(rng, dim, rng.uniform());
        double l2 = 0, ip = 0, l1 = 0, na = 0, nb = 0;
        for (int32_t i = 0; i < dim; i++) {
            const double x = a.dense[static_cast<std::size_t>(i)], y = b.dense[static_cast<std::size_t>(i)];
            l2 += (x - y) * (x - y);
            ip += x * y;
            l1 += std::fabs(x - y);
            na += x * x;
            nb += y * y;
        }
        // Values are multiples of 1/8 below 2: every sum here is exact in float.
        EXPECT_EQ(sparse_l2_squared(a.view(), b.view()), static_cast<float>(l2));
        EXPECT_EQ(sparse_inner_product(a.view(), b.view()), static_cast<float>(ip));
        EXPECT_EQ(sparse_l1(a.view(), b.view()), static_cast<float>(l1));
        EXPECT_EQ(sparse_squared_norm(a.view()), static_cast<float>(na));
        const double cosine = sparse_cosine_distance(a.view(), b.view());
        if (na == 0 || nb == 0)
            EXPECT_TRUE(std::isnan(cosine));
        else
            EXPECT_NEAR(cosine, 1.0 - ip / std::sqrt(na * nb), 1e-12);
    }
}

int dense_compare(const std::vector<float>& a, const std::vector<float>& b) {
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); i++) {
        if (a[i] < b[i]) return -1;
        if (a[i] > b[i]) return 1;
    }
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return 0;
}

TEST(SparseCompare, OrdersAsTheDenseVectorsDo) {
    SplitMix64 rng(22);
    for (int trial = 0; trial < 3000; trial++) {
        // Few dimensions and values so that equal prefixes and equal vectors occur.
        const Both a = random_sparse(rng, 1 + static_cast<int32_t>(rng.next() % 5), 0.4);
        const Both b = random_sparse(rng, 1 + static_cast<int32_t>(rng.next() % 5), 0.4);
        EXPECT_EQ(sparse_compare(a.view(), b.view()), dense_compare(a.dense, b.dense)) << "trial " << trial;
        EXPECT_EQ(sparse_compare(a.view(), a.view()), 0);
    }
}

}  // namespace
}  // namespace vectordb
