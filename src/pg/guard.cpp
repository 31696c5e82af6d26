// Inbound guard: C++ exceptions to PostgreSQL errors (see guard.h).
#include "core/errors.h"

#include <exception>
#include <new>

#include "pg/guard.h"
#include "pg/pg_call.h"

namespace vectordb {
namespace pg {
namespace {

// Copies an exception message into a fixed buffer that outlives the catch.
void copy_message(char* dest, std::size_t size, const char* src) {
    std::strncpy(dest, src, size - 1);
    dest[size - 1] = '\0';
}

// The SQLSTATE of a core error, by its type.
int sqlstate_of(const Error& e) {
    if (dynamic_cast<const InvalidTextRepresentation*>(&e)) return ERRCODE_INVALID_TEXT_REPRESENTATION;
    if (dynamic_cast<const NumericOutOfRange*>(&e)) return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
    if (dynamic_cast<const InvalidArgument*>(&e)) return ERRCODE_INVALID_PARAMETER_VALUE;
    if (dynamic_cast<const DataError*>(&e)) return ERRCODE_DATA_EXCEPTION;
    if (dynamic_cast<const LimitExceeded*>(&e)) return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    if (dynamic_cast<const IoError*>(&e)) return ERRCODE_IO_ERROR;
    return ERRCODE_INTERNAL_ERROR;
}

// What the exception being handled becomes: a SQLSTATE, message and detail
// (empty: none); a PgError hands back its PostgreSQL error data instead.
struct Raised {
    int sqlstate = ERRCODE_INTERNAL_ERROR;
    char message[1024];
    char detail[512];
    ErrorData* pg_error = nullptr;
};

void classify_current_exception(Raised* r) {
    r->message[0] = r->detail[0] = '\0';
    try {
        throw;
    } catch (const PgError& e) {
        r->pg_error = e.data();
    } catch (const Error& e) {
        r->sqlstate = sqlstate_of(e);
        copy_message(r->message, sizeof r->message, e.what());
        copy_message(r->detail, sizeof r->detail, e.detail().c_str());
    } catch (const std::bad_alloc&) {
        r->sqlstate = ERRCODE_OUT_OF_MEMORY;
        copy_message(r->message, sizeof r->message, "out of memory");
    } catch (const std::exception& e) {
        copy_message(r->message, sizeof r->message, e.what());
    } catch (...) {
        copy_message(r->message, sizeof r->message, "unknown C++ exception");
    }
}

// Raises what classify_current_exception found. Call only once every C++ frame has unwound.
[[noreturn]] void raise(const Raised& r) {
    if (r.pg_error != nullptr) ReThrowError(r.pg_error);
    if (r.detail[0] != '\0') ereport(ERROR, (errcode(r.sqlstate), errmsg("%s", r.message), errdetail("%s", r.detail)));
    ereport(ERROR, (errcode(r.sqlstate), errmsg("%s", r.message)));
    pg_unreachable();
}

}  // namespace

Datum call_guarded(FunctionBody body, FunctionCallInfo fcinfo) {
    Raised raised;
    try {
        return body(fcinfo);
    } catch (...) {
        classify_current_exception(&raised);
    }
    // The exception object is gone and every C++ frame has unwound: safe to longjmp.
    raise(raised);
}

void run_guarded(void (*body)(void*), void* context) {
    Raised raised;
    try {
        body(context);
        return;
    } catch (...) {
        classify_current_exception(&raised);
    }
    raise(raised);
}

}  // namespace pg
}  // namespace vectordb
