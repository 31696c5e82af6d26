// Unit tests for the vector text parser (src/core/vector_text.h).
#include "core/errors.h"
#include "core/vector_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace vectordb {
namespace {

// Parses text with a buffer sized the way the glue sizes it.
std::vector<float> parse(const std::string& text) {
    std::vector<float> out(vector_text_capacity(text.c_str()));
    const int dims = parse_vector_text(text.c_str(), out.data(), out.size());
    out.resize(static_cast<std::size_t>(dims));
    return out;
}

TEST(VectorText, ParsesPlainAndSpacedForms) {
    EXPECT_EQ(parse("[1,2,3]"), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(parse("  [ 1 ,\t2.5 ,\n-3e-2 ]  "), (std::vector<float>{1, 2.5f, -3e-2f}));
    EXPECT_EQ(parse("[+4]"), (std::vector<float>{4}));
}

TEST(VectorText, KeepsEveryFloatBit) {
    const std::vector<float> v = parse("[0.1,1e-45,3.4028235e38,-0]");
    EXPECT_EQ(v[0], 0.1f);
    EXPECT_EQ(v[1], 1e-45f);
    EXPECT_EQ(v[2], 3.4028235e38f);
    EXPECT_TRUE(std::signbit(v[3]));
}

TEST(VectorText, RejectsBadSyntax) {
    for (const char* bad :
         {"[1,,2]", "[1,2", "1,2", "", "[", "]", "[1 2]", "[,1]", "[1,]", "[a]", "[[1]]", "[1]x", "[1],", "x[1]"}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW(parse(bad), InvalidTextRepresentation);
    }
}

TEST(VectorText, RejectsEmptyVector) {
    EXPECT_THROW(parse("[]"), DataError);
    EXPECT_THROW(parse("[ \t]"), DataError);
}

TEST(VectorText, RejectsNonFiniteValues) {
    EXPECT_THROW(parse("[nan]"), DataError);
    EXPECT_THROW(parse("[1,NaN]"), DataError);
    EXPECT_THROW(parse("[inf]"), DataError);
    EXPECT_THROW(parse("[-Infinity]"), DataError);
}

TEST(VectorText, RejectsValuesOutsideFloatRange) {
    EXPECT_THROW(parse("[1e39]"), NumericOutOfRange);
    EXPECT_THROW(parse("[-1e39]"), NumericOutOfRange);
    // Underflow is not an error: the value rounds to zero or a denormal.
    EXPECT_EQ(parse("[1e-50]")[0], 0.0f);
}

TEST(VectorText, EnforcesDimensionLimit) {
    std::string max = "[";
    for (int i = 0; i < kMaxDimensions; i++) max += i ? ",1" : "1";
    EXPECT_EQ(parse(max + "]").size(), static_cast<std::size_t>(kMaxDimensions));
    EXPECT_THROW(parse(max + ",1]"), LimitExceeded);
    EXPECT_THROW(parse(max + ",1,1,1]"), LimitExceeded);
}

TEST(VectorText, CapacityBoundsTheParse) {
    EXPECT_EQ(vector_text_capacity("[1,2,3]"), 3u);
    EXPECT_EQ(vector_text_capacity("[]"), 1u);
    std::string many(40000, ',');
    EXPECT_EQ(vector_text_capacity(many.c_str()), static_cast<std::size_t>(kMaxDimensions) + 1);
    // A buffer smaller than the text needs is reported, never overrun.
    float one[1];
    EXPECT_THROW(parse_vector_text("[1,2]", one, 1), InvalidArgument);
}

}  // namespace
}  // namespace vectordb
