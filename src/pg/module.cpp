// Module entry: the magic block PostgreSQL checks when it loads vectordb.so,
// and _PG_init, which registers the index's options, settings and the hooks
// that keep sidecar files in step with transactions and relcache invalidations.
#include "pg/sidecar_cache.h"
#include "pg/sidecar_lifecycle.h"
#include "pg/vtree.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

// Registers what every backend needs once. No OpenMP here: libgomp's thread
// pool must not be started in a process that forks (the postmaster).
void _PG_init(void) {
    vectordb::pg::register_reloptions();
    vectordb::pg::register_settings();
    vectordb::pg::register_sidecar_lifecycle();
    vectordb::pg::register_sidecar_cache();
    vectordb::pg::register_tree_cache();
}
