// The one place glue files get PostgreSQL's headers from.
//
// Standard headers come first: PostgreSQL's c.h pulls in C library headers,
// and these must already be included (with C++ linkage rules) before we open
// the extern "C" block. Core headers must be included before this file, since
// src/core/common.h refuses to compile once POSTGRES_H is defined.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <clocale>
#include <cmath>
#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
}

// port.h turns these into macros for pg_* replacements; C++ code that names
// std::snprintf and friends must see the real functions.
#undef snprintf
#undef vsnprintf
#undef printf
#undef fprintf
#undef sprintf
#undef vfprintf
#undef vsprintf
