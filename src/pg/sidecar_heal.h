// Healing a sidecar in place, by hand or in a background worker (see
// sidecar_heal.cpp).
#pragma once

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

// Asks a background worker to heal this index's sidecar: at most once per
// index every 10 s per backend (on hot standbys too), never when
// vectordb.heal_sidecars is off. Throws only bad_alloc through pg_call; may
// raise PgError.
void request_sidecar_heal(Relation index);

}  // namespace pg
}  // namespace vectordb
