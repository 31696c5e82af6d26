// Both directions of the C++/PostgreSQL error boundary for code that is not a
// plain SQL function (index AM callbacks, scan and build state).
//
// Outbound: pg_call(f) runs PostgreSQL code that may ereport(ERROR). The error
// is caught with PG_TRY, copied, flushed and thrown as a PgError, so the C++
// frames between here and the inbound guard unwind normally. f itself must own
// nothing with a destructor: a longjmp leaves it.
//
// Inbound: guarded(f) runs C++ code from an extern "C" callback. A PgError is
// re-raised as the original PostgreSQL error; any other exception becomes an
// ERROR with the SQLSTATE of its type (guard.h). Buffer locks held when an
// error happened are released by the transaction abort that follows.
#pragma once

#include "pg/guard.h"

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

#include <exception>
#include <type_traits>

namespace vectordb {
namespace pg {

// A PostgreSQL error travelling through C++ frames.
class PgError : public std::exception {
public:
    explicit PgError(ErrorData* data) : data_(data) {}
    const char* what() const noexcept override { return data_ && data_->message ? data_->message : "PostgreSQL error"; }
    ErrorData* data() const { return data_; }

private:
    ErrorData* data_;  // palloc'd by CopyErrorData in the caller's memory context
};

// Runs f (no C++ objects with destructors inside) and catches what it raises:
// an ERROR into *error (copied into the caller's memory context, the error
// state flushed), a C++ exception into *cxx_error, caught inside the PG_TRY
// block so that PostgreSQL's error stack is always restored first.
template <class F>
void catch_errors(F&& f, ErrorData** error, std::exception_ptr* cxx_error) {
    MemoryContext context = CurrentMemoryContext;
    PG_TRY();
    {
        try {
            f();
        } catch (...) {
            *cxx_error = std::current_exception();
        }
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(context);
        *error = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
}

// Runs f (no C++ objects with destructors inside), turning an ERROR into PgError.
template <class F>
void pg_call(F&& f) {
    ErrorData* error = nullptr;
    std::exception_ptr cxx_error;
    catch_errors(f, &error, &cxx_error);
    if (cxx_error) std::rethrow_exception(cxx_error);
    if (error != nullptr) throw PgError(error);
}

// Runs f (as for pg_call) inside an internal subtransaction, so that an ERROR
// releases what f held (buffer pins and locks, relations, snapshots) as a
// statement abort would. On success the subtransaction commits and the result
// is null. On an ERROR the subtransaction is rolled back and the error
// returned (palloc'd in the caller's context) if keep(sqlerrcode) says the
// caller handles it; any other ERROR (a cancel, a timeout, out of memory) is
// thrown on as PgError after the rollback. A C++ exception from f rolls back
// and is rethrown.
template <class F, class Keep>
ErrorData* pg_call_in_subtransaction(F&& f, Keep keep) {
    MemoryContext context = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    pg_call([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(context);
    ErrorData* error = nullptr;
    std::exception_ptr cxx_error;
    catch_errors(f, &error, &cxx_error);
    const bool failed = error != nullptr || cxx_error;
    pg_call([&] {
        if (failed)
            RollbackAndReleaseCurrentSubTransaction();
        else
            ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(context);
        CurrentResourceOwner = owner;
    });
    if (cxx_error) std::rethrow_exception(cxx_error);
    if (error != nullptr && !keep(error->sqlerrcode)) throw PgError(error);
    return error;
}

// Runs body(context) and reports any exception as an ERROR after unwinding.
void run_guarded(void (*body)(void*), void* context);

// guarded([&] { ... }) from an extern "C" callback; returns the lambda's value.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
    using Result = decltype(f());
    if constexpr (std::is_void_v<Result>) {
        run_guarded([](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); }, &f);
    } else {
        struct Call {
            std::remove_reference_t<F>* f;
            Result result;
        } call{&f, Result{}};
        run_guarded(
            [](void* p) {
                auto* c = static_cast<Call*>(p);
                c->result = (*c->f)();
            },
            &call);
        return call.result;
    }
}

}  // namespace pg
}  // namespace vectordb
