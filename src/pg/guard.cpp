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

// Maps the exception being handled to a SQLSTATE and message; a PgError
// hands back its PostgreSQL error data instead.
int classify_current_exception(char* message, std::size_t size, ErrorData** pg_error) {
    try {
        throw;
    } catch (const PgError& e) {
        *pg_error = e.data();
    } catch (const InvalidTextRepresentation& e) {
        copy_message(message, size, e.what());
        return ERRCODE_INVALID_TEXT_REPRESENTATION;
    } catch (const NumericOutOfRange& e) {
        copy_message(message, size, e.what());
        return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
    } catch (const InvalidArgument& e) {
        copy_message(message, size, e.what());
        return ERRCODE_INVALID_PARAMETER_VALUE;
    } catch (const DataError& e) {
        copy_message(message, size, e.what());
        return ERRCODE_DATA_EXCEPTION;
    } catch (const LimitExceeded& e) {
        copy_message(message, size, e.what());
        return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    } catch (const IoError& e) {
        copy_message(message, size, e.what());
        return ERRCODE_IO_ERROR;
    } catch (const std::bad_alloc&) {
        copy_message(message, size, "out of memory");
        return ERRCODE_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        copy_message(message, size, e.what());
    } catch (...) {
        copy_message(message, size, "unknown C++ exception");
    }
    return ERRCODE_INTERNAL_ERROR;
}

// Raises what classify_current_exception found. Call only once every C++ frame has unwound.
[[noreturn]] void raise(int sqlstate, const char* message, ErrorData* pg_error) {
    if (pg_error != nullptr) ReThrowError(pg_error);
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", message)));
    pg_unreachable();
}

}  // namespace

Datum call_guarded(FunctionBody body, FunctionCallInfo fcinfo) {
    char message[1024];
    ErrorData* pg_error = nullptr;
    int sqlstate;
    try {
        return body(fcinfo);
    } catch (...) {
        sqlstate = classify_current_exception(message, sizeof(message), &pg_error);
    }
    // The exception object is gone and every C++ frame has unwound: safe to longjmp.
    raise(sqlstate, message, pg_error);
}

void run_guarded(void (*body)(void*), void* context) {
    char message[1024];
    ErrorData* pg_error = nullptr;
    int sqlstate;
    try {
        body(context);
        return;
    } catch (...) {
        sqlstate = classify_current_exception(message, sizeof(message), &pg_error);
    }
    raise(sqlstate, message, pg_error);
}

}  // namespace pg
}  // namespace vectordb
