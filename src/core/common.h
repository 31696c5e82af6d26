// Shared by every file in src/core: the core is pure C++17 and must never
// see a PostgreSQL header (their macros and longjmp-based errors would leak in).
// Glue files therefore include core headers before postgres.h.
#pragma once

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers; include core headers before postgres.h"
#endif

#include <cstddef>
#include <cstdint>
