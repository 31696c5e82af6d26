// The boundary between C++ and PostgreSQL error handling.
//
// Every SQL-callable function is declared with VECTORDB_FUNCTION: PostgreSQL
// calls an extern "C" shim, the shim runs the C++ body inside try/catch, and a
// caught exception becomes ereport(ERROR) only after the C++ scope has been
// left, so destructors have run. Bodies may call PostgreSQL APIs (which can
// longjmp out on ERROR) only where no C++ object with a destructor is alive.
#pragma once

#include "pg/pg.h"

namespace vectordb {
namespace pg {

using FunctionBody = Datum (*)(FunctionCallInfo);

// Runs `body`; turns any C++ exception into an ERROR with a fitting SQLSTATE.
Datum call_guarded(FunctionBody body, FunctionCallInfo fcinfo);

}  // namespace pg
}  // namespace vectordb

#define VECTORDB_FUNCTION(name)                                                                         \
    extern "C" {                                                                                        \
    PG_FUNCTION_INFO_V1(name);                                                                          \
    }                                                                                                   \
    static Datum name##_body(FunctionCallInfo fcinfo);                                                  \
    extern "C" Datum name(PG_FUNCTION_ARGS) { return vectordb::pg::call_guarded(name##_body, fcinfo); } \
    static Datum name##_body(FunctionCallInfo fcinfo)
