// The locale-independent float reader of the text parsers (see text_scan.h).
#include "core/text_scan.h"

#include <cstdlib>
#include <locale.h>

namespace vectordb {

float strtof_c_locale(const char* p, char** end) {
    // A "C" locale created once; strtof_l with it is thread-safe and ignores LC_NUMERIC.
    static locale_t loc = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
    return strtof_l(p, end, loc);
}

}  // namespace vectordb
