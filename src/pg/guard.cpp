// Inbound guard: C++ exceptions to PostgreSQL errors (see guard.h).
#include "core/errors.h"

#include <exception>
#include <new>

#include "pg/guard.h"

namespace vectordb {
namespace pg {
namespace {

// Copies an exception message into a fixed buffer that outlives the catch.
void copy_message(char* dest, std::size_t size, const char* src) {
    std::strncpy(dest, src, size - 1);
    dest[size - 1] = '\0';
}

}  // namespace

Datum call_guarded(FunctionBody body, FunctionCallInfo fcinfo) {
    char message[1024];
    int sqlstate = ERRCODE_INTERNAL_ERROR;
    try {
        return body(fcinfo);
    } catch (const InvalidTextRepresentation& e) {
        sqlstate = ERRCODE_INVALID_TEXT_REPRESENTATION;
        copy_message(message, sizeof(message), e.what());
    } catch (const NumericOutOfRange& e) {
        sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
        copy_message(message, sizeof(message), e.what());
    } catch (const InvalidArgument& e) {
        sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
        copy_message(message, sizeof(message), e.what());
    } catch (const DataError& e) {
        sqlstate = ERRCODE_DATA_EXCEPTION;
        copy_message(message, sizeof(message), e.what());
    } catch (const LimitExceeded& e) {
        sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        copy_message(message, sizeof(message), e.what());
    } catch (const IoError& e) {
        sqlstate = ERRCODE_IO_ERROR;
        copy_message(message, sizeof(message), e.what());
    } catch (const std::bad_alloc&) {
        sqlstate = ERRCODE_OUT_OF_MEMORY;
        copy_message(message, sizeof(message), "out of memory");
    } catch (const std::exception& e) {
        copy_message(message, sizeof(message), e.what());
    } catch (...) {
        copy_message(message, sizeof(message), "unknown C++ exception");
    }
    // The exception object is gone and every C++ frame has unwound: safe to longjmp.
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", message)));
    pg_unreachable();
}

}  // namespace pg
}  // namespace vectordb
