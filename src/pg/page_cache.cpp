// vectordb_prewarm() and vectordb_evict(): an index's pages and its sidecar
// into and out of the caches, for warm and cold measurements.
#include "core/vector_store.h"

#include <fcntl.h>
#include <unistd.h>

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/vtree.h"

extern "C" {
#include "access/relation.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
}

using namespace vectordb;
using namespace vectordb::pg;

namespace {

// posix_fadvise over a whole file (after an fdatasync when `sync_first`),
// through a descriptor PostgreSQL accounts for. A missing file is skipped.
void advise_whole_file(const std::string& path, int advice, bool sync_first) {
    const char* name = path.c_str();
    pg_call([&] {
        const int fd = OpenTransientFile(name, O_RDONLY | PG_BINARY);
        if (fd < 0) return;
        if (sync_first) (void)fdatasync(fd);
        (void)posix_fadvise(fd, 0, 0, advice);
        CloseTransientFile(fd);
    });
}

}  // namespace

// vectordb_prewarm(regclass): reads every index page into shared buffers and
// asks the kernel to read the sidecar ahead. Returns the pages read.
VECTORDB_FUNCTION(vectordb_prewarm) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    int64 pages = 0;
    pg_call([&] {
        index = open_vtree(oid, AccessShareLock);
        require_select(index);
        const BlockNumber n = RelationGetNumberOfBlocks(index);
        for (BlockNumber b = 0; b < n; b++) {
            CHECK_FOR_INTERRUPTS();
            ReleaseBuffer(ReadBuffer(index, b));
            pages++;
        }
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    if (tc->meta.storage == static_cast<uint8>(Storage::Mmap) && foreign_sidecar_problem(index, tc->meta).empty())
        advise_whole_file(sidecar_path(tc->meta), POSIX_FADV_WILLNEED, false);
    pg_call([&] { relation_close(index, AccessShareLock); });
    PG_RETURN_INT64(pages);
}

// vectordb_evict(regclass): drops the sidecar from the OS page cache (for cold
// measurements). Superuser only. Returns the sidecar's size in bytes.
VECTORDB_FUNCTION(vectordb_evict) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    pg_call([&] {
        require_superuser("vectordb_evict");
        index = open_vtree(oid, AccessShareLock);
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    int64 bytes = 0;
    if (tc->meta.storage == static_cast<uint8>(Storage::Mmap) && foreign_sidecar_problem(index, tc->meta).empty()) {
        std::string problem;
        if (std::shared_ptr<VectorStore> store = open_sidecar(index, tc->meta, SidecarAccess::Read, &problem))
            store->evict();
        const std::string path = sidecar_path(tc->meta);
        advise_whole_file(path, POSIX_FADV_DONTNEED, true);
        bytes = std::max<int64>(0, file_size(path));
    }
    pg_call([&] { relation_close(index, AccessShareLock); });
    PG_RETURN_INT64(bytes);
}
