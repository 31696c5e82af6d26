// Text parser for vectors. Accepts what pgvector accepts: optional white space
// around the brackets and around each element, elements written as C floats
// (strtof syntax, read in the "C" locale whatever the process locale is).
#include "core/vector_text.h"

#include "core/errors.h"
#include "core/text_scan.h"

#include <cerrno>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <string>

namespace vectordb {
namespace {

[[noreturn]] void syntax_error(const char* type, const char* text, const char* detail = "") {
    throw InvalidTextRepresentation(std::string("invalid input syntax for type ") + type + ": \"" + text + "\"",
                                    detail);
}

}  // namespace

std::size_t vector_text_capacity(const char* text) {
    std::size_t commas = 0;
    for (const char* p = text; *p != '\0'; ++p) {
        if (*p == ',') ++commas;
    }
    const std::size_t limit = static_cast<std::size_t>(kMaxDimensions) + 1;
    return commas + 1 < limit ? commas + 1 : limit;
}

int parse_vector_text(const char* text, float* out, std::size_t capacity, TextElement element) {
    const char* type = element == TextElement::Half ? "halfvec" : "vector";
    // Finite floats from 65520 on round to an infinite half.
    const float limit = element == TextElement::Half ? 65520.0f : std::numeric_limits<float>::infinity();
    const char* p = skip_text_space(text);
    if (*p != '[') syntax_error(type, text, "Vector contents must start with \"[\".");
    p = skip_text_space(p + 1);

    std::size_t dims = 0;
    if (*p == ']') {
        throw DataError(std::string(type) + " must have at least 1 dimension");
    }
    for (;;) {
        p = skip_text_space(p);
        // strtof would skip leading white space itself but also accept an empty
        // element between commas as a parse failure; make that explicit.
        if (*p == ',' || *p == ']' || *p == '\0') syntax_error(type, text);

        char* end = nullptr;
        errno = 0;
        const float value = strtof_c_locale(p, &end);
        if (end == p) syntax_error(type, text);
        if ((errno == ERANGE && std::isinf(value)) || (std::isfinite(value) && std::fabs(value) >= limit)) {
            std::string token(p, static_cast<std::size_t>(end - p));
            throw NumericOutOfRange("\"" + token + "\" is out of range for type " + type);
        }
        if (std::isnan(value)) throw DataError(std::string("NaN not allowed in ") + type);
        if (std::isinf(value)) throw DataError(std::string("infinite value not allowed in ") + type);

        if (dims >= static_cast<std::size_t>(kMaxDimensions)) {
            throw LimitExceeded(std::string(type) + " cannot have more than " + std::to_string(kMaxDimensions) +
                                " dimensions");
        }
        if (dims >= capacity) throw InvalidArgument("vector parse buffer too small");
        out[dims++] = value;

        p = skip_text_space(end);
        if (*p == ',') {
            ++p;
            continue;
        }
        if (*p == ']') break;
        syntax_error(type, text);
    }
    p = skip_text_space(p + 1);
    if (*p != '\0') syntax_error(type, text, "Junk after closing right brace.");
    return static_cast<int>(dims);
}

}  // namespace vectordb
