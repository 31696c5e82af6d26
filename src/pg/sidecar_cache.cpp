// The backend's open sidecars (see sidecar_cache.h).
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"

#include <sys/stat.h>

#include <unordered_map>

extern "C" {
#include "storage/fd.h"
#include "utils/inval.h"
#include "utils/rel.h"
}

namespace vectordb {
namespace pg {
namespace {

struct CachedSidecar {
    StoreIdentity identity;
    SidecarAccess access = SidecarAccess::Read;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::shared_ptr<VectorStore> store;
    std::string problem;  // when store is null: why (remembered until the file appears)
};

std::unordered_map<Oid, CachedSidecar>& cache() {
    static std::unordered_map<Oid, CachedSidecar> entries;
    return entries;
}

void release_descriptor(VectorStore* store) {
    delete store;
    ReleaseExternalFD();
}

// One descriptor from PostgreSQL's budget; when it is spent, first closes the
// cached stores nobody else holds. False if there is still none.
bool acquire_descriptor() {
    if (AcquireExternalFD()) return true;
    auto& entries = cache();
    for (auto it = entries.begin(); it != entries.end();)
        if (it->second.store && it->second.store.use_count() == 1)
            it = entries.erase(it);
        else
            ++it;
    return AcquireExternalFD();
}

void on_relcache_invalidation(Datum, Oid relid) { forget_invalidated(cache(), relid); }

}  // namespace

std::shared_ptr<VectorStore> open_sidecar(Relation index, const VtreeMeta& meta, SidecarAccess access,
                                          std::string* problem, bool* transient) {
    if (transient != nullptr) *transient = false;
    const Oid oid = RelationGetRelid(index);
    const std::string foreign = foreign_sidecar_problem(index, meta);
    if (!foreign.empty()) {
        *problem = foreign;
        return nullptr;
    }
    const StoreIdentity identity = sidecar_identity(meta);
    auto& entries = cache();
    CachedSidecar& entry = entries[oid];
    // Every use notices a file replaced, removed or cut short behind our back:
    // the file held is still linked (a rename over it or a removal unlinks
    // it) and no shorter, by an fstat, which is a tenth of a stat's cost
    // through the path (a few microseconds a query); else the path tells.
    if (entry.store && entry.identity == identity &&
        (access == SidecarAccess::Read || entry.access == SidecarAccess::Append)) {
        std::uint64_t size = 0, links = 0;
        if (entry.store->file_state(&size, &links) && links > 0 && size >= static_cast<std::uint64_t>(entry.size))
            return entry.store;
    }
    const std::string path = sidecar_path(meta);
    struct stat st;
    const bool exists = ::stat(path.c_str(), &st) == 0;
    const bool same_file = exists && st.st_dev == entry.device && st.st_ino == entry.inode && st.st_size >= entry.size;
    if (entry.identity == identity) {
        if (entry.store && same_file && (access == SidecarAccess::Read || entry.access == SidecarAccess::Append))
            return entry.store;
        if (!entry.store && !entry.problem.empty() && !exists) {
            *problem = entry.problem;
            return nullptr;
        }
    }
    entry = CachedSidecar{};
    entry.identity = identity;
    entry.access = access;
    const std::string name = sidecar_name(identity);
    if (!exists) {
        entry.problem = "sidecar \"" + name + "\" is missing";
        *problem = entry.problem;
        return nullptr;
    }
    entry.device = st.st_dev;
    entry.inode = st.st_ino;
    entry.size = st.st_size;
    if (!acquire_descriptor()) {
        // Not remembered: the budget may free up by the next use.
        *problem = "sidecar \"" + name + "\" cannot be opened: this backend has no file descriptor left";
        if (transient != nullptr) *transient = true;
        entries.erase(oid);
        return nullptr;
    }
    std::unique_ptr<VectorStore> opened;
    try {
        opened = std::make_unique<VectorStore>(
            VectorStore::open(path, access == SidecarAccess::Append ? OpenMode::ReadWrite : OpenMode::ReadOnly));
    } catch (const std::bad_alloc&) {
        ReleaseExternalFD();
        entries.erase(oid);
        throw;
    } catch (const std::exception& e) {
        ReleaseExternalFD();
        entry.problem = without_directory(e.what());
        *problem = entry.problem;
        return nullptr;
    }
    if (opened->identity() != identity)
        entry.problem = "sidecar \"" + name + "\" belongs to another index or build";
    else if (opened->dim() != meta.dim)
        entry.problem = "sidecar \"" + name + "\" has the wrong number of dimensions";
    else if (opened->size() < meta.built_entries)
        entry.problem = "sidecar \"" + name + "\" holds fewer records than the index was built with";
    if (!entry.problem.empty()) {
        opened.reset();
        ReleaseExternalFD();
        *problem = entry.problem;
        return nullptr;
    }
    try {
        entry.store = std::shared_ptr<VectorStore>(opened.get(), release_descriptor);
    } catch (...) {
        opened.reset();
        ReleaseExternalFD();
        entries.erase(oid);
        throw;
    }
    opened.release();
    return entry.store;
}

void forget_sidecar(Oid index_oid) { cache().erase(index_oid); }

std::size_t open_sidecar_count() {
    std::size_t n = 0;
    for (const auto& e : cache()) n += e.second.store ? 1 : 0;
    return n;
}

void register_sidecar_cache() { CacheRegisterRelcacheCallback(on_relcache_invalidation, static_cast<Datum>(0)); }

std::unique_ptr<VectorStore, void (*)(VectorStore*)> create_accounted_store(const std::string& path,
                                                                            const VtreeMeta& meta) {
    ReserveExternalFD();  // a build needs its file; PostgreSQL closes its own to make room
    try {
        // halfvec values and bits are halves already: float16 records hold them exactly, in half the space.
        const StoreElement element =
            indexed_elements(meta) == IndexedElements::Float ? StoreElement::Float32 : StoreElement::Float16;
        return std::unique_ptr<VectorStore, void (*)(VectorStore*)>(
            new VectorStore(VectorStore::create(path, meta.dim, sidecar_identity(meta), element)), release_descriptor);
    } catch (...) {
        ReleaseExternalFD();
        throw;
    }
}

}  // namespace pg
}  // namespace vectordb
