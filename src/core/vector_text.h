// Parser for the text form of a vector, '[1,2.5,-3e-2]', shared by the
// PostgreSQL input function and the fuzz targets. The caller owns the output
// buffer so the glue can allocate it with palloc before the core runs.
#pragma once

#include "core/common.h"

namespace vectordb {

// Largest number of dimensions a vector may have (as in pgvector).
constexpr int kMaxDimensions = 16000;

// Upper bound on the number of elements in `text` (commas + 1), capped at
// kMaxDimensions + 1 so a caller never allocates more than one element past
// the limit; parse_vector_text detects the overflow itself.
std::size_t vector_text_capacity(const char* text);

// What the parsed elements will be stored as: float (vector) or half
// (halfvec, whose messages name that type and whose range ends at 65504).
enum class TextElement { Float, Half };

// Parses `text` into out[0 .. capacity) and returns the number of dimensions.
// Throws InvalidTextRepresentation on bad syntax, NumericOutOfRange for a
// value outside the element type's range, DataError for NaN, infinity or an
// empty vector, LimitExceeded for more than kMaxDimensions elements.
int parse_vector_text(const char* text, float* out, std::size_t capacity, TextElement element = TextElement::Float);

}  // namespace vectordb
