// What the text parsers of the vector types share: PostgreSQL's white space
// and a float reader that ignores the process locale.
#pragma once

namespace vectordb {

// The characters scanner_isspace() (and so pgvector) skips.
inline bool is_text_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

inline const char* skip_text_space(const char* p) {
    while (is_text_space(*p)) ++p;
    return p;
}

// strtof in the "C" locale whatever LC_NUMERIC is (thread-safe; sets errno as strtof does).
float strtof_c_locale(const char* p, char** end);

}  // namespace vectordb
