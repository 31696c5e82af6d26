// Keeping the backend's signals off OpenMP threads.
//
// PostgreSQL's signal handlers (a cancel, a timeout, a latch) must run on the
// backend's own thread. A process-directed signal goes to any thread that does
// not block it, and OpenMP threads take their signal mask from the thread that
// first starts them. Every parallel region the glue starts therefore runs under
// a SignalMask, so the pool's threads block those signals for their whole life.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace vectordb {
namespace pg {

// Blocks asynchronous signals on this thread while the core runs, so that the
// OpenMP threads it starts inherit a mask that keeps the backend's signal
// handlers on the main thread. allow() lets pending signals in (between steps).
class SignalMask {
public:
    SignalMask() {
        sigset_t all;
        sigfillset(&all);
        for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigdelset(&all, s);
        pthread_sigmask(SIG_SETMASK, &all, &saved_);
        blocked_ = all;
    }
    ~SignalMask() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    void allow() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    void block() { pthread_sigmask(SIG_SETMASK, &blocked_, nullptr); }

private:
    sigset_t saved_;
    sigset_t blocked_;
};

}  // namespace pg
}  // namespace vectordb
