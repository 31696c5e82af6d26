// SIGBUS guard for reads from mmap'd sidecars (see bus_guard.h). The handler
// is installed once per backend; outside a guarded copy it restores the
// previous disposition and re-raises, so other faults behave as before.
#include "pg/bus_guard.h"

#include <csetjmp>
#include <csignal>
#include <cstring>

namespace vectordb {
namespace pg {
namespace {

sigjmp_buf* volatile active_jump = nullptr;
struct sigaction previous_bus;
bool installed = false;

void on_bus(int sig, siginfo_t* info, void* context) {
    if (active_jump != nullptr) siglongjmp(*active_jump, 1);
    // Not ours: behave as if we had never been installed.
    sigaction(SIGBUS, &previous_bus, nullptr);
    (void)info;
    (void)context;
    raise(sig);
}

void install() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;  // NODEFER: leaving by siglongjmp keeps SIGBUS unblocked
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous_bus) == 0) installed = true;
}

}  // namespace

bool copy_guarded(const GuardedCopy* parts, std::size_t count) {
    if (!installed) install();
    sigjmp_buf jump;
    if (sigsetjmp(jump, 0) != 0) {
        active_jump = nullptr;
        return false;
    }
    active_jump = &jump;
    for (std::size_t i = 0; i < count; i++) std::memcpy(parts[i].dest, parts[i].src, parts[i].n);
    active_jump = nullptr;
    return true;
}

}  // namespace pg
}  // namespace vectordb
