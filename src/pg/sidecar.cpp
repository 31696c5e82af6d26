// Sidecar files: naming, transactional removal and the per-backend cache of
// open sidecars (see sidecar.h).
#include "pg/sidecar.h"
#include "pg/pg_call.h"

#include "core/errors.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unordered_map>
#include <vector>

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

namespace vectordb {
namespace pg {
namespace {

enum class ActionKind { RemovePath, RemoveOtherGenerations, RemoveRelfilenode };

// A file removal waiting for the end of its (sub)transaction.
struct PendingAction {
    ActionKind kind;
    bool on_commit;
    SubTransactionId subxact;
    std::string path;  // RemovePath: the file; RemoveOtherGenerations: the name to keep
    uint64 database;
    uint64 index_oid;
    uint64 relfilenode;
};

std::vector<PendingAction>& pending() {
    static std::vector<PendingAction> actions;
    return actions;
}

struct OpenSidecar {
    uint64 relfilenode = 0;
    uint64 generation = 0;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::unique_ptr<VectorStore> store;
    std::string problem;
};

std::unordered_map<Oid, OpenSidecar>& open_sidecars() {
    static std::unordered_map<Oid, OpenSidecar> entries;
    return entries;
}

object_access_hook_type previous_object_access_hook = nullptr;

// Unlinks the sidecars in `dir` for which match(name fields) holds. Never throws or ereports ERROR.
template <class Match>
void remove_matching(const std::string& dir, Match match) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> doomed;
    while (struct dirent* e = readdir(d)) {
        uint64 db, oid, rel, gen;
        if (parse_sidecar_name(e->d_name, &db, &oid, &rel, &gen) && match(e->d_name, db, oid, rel))
            doomed.emplace_back(dir + "/" + e->d_name);
    }
    closedir(d);
    for (const std::string& path : doomed)
        if (unlink(path.c_str()) != 0 && errno != ENOENT)
            ereport(WARNING, (errcode_for_file_access(), errmsg("could not remove sidecar \"%s\": %m", path.c_str())));
}

void run(const PendingAction& a) {
    std::string dir;
    try {
        dir = sidecar_directory(false);
    } catch (...) {
        return;
    }
    switch (a.kind) {
        case ActionKind::RemovePath:
            if (unlink(a.path.c_str()) != 0 && errno != ENOENT)
                ereport(WARNING,
                        (errcode_for_file_access(), errmsg("could not remove sidecar \"%s\": %m", a.path.c_str())));
            break;
        case ActionKind::RemoveOtherGenerations:
            remove_matching(dir, [&](const char* name, uint64 db, uint64 oid, uint64) {
                return db == a.database && oid == a.index_oid && a.path != name;
            });
            break;
        case ActionKind::RemoveRelfilenode:
            remove_matching(dir, [&](const char*, uint64 db, uint64, uint64 rel) {
                return db == a.database && rel == a.relfilenode;
            });
            break;
    }
}

void on_xact(XactEvent event, void*) {
    auto& actions = pending();
    if (actions.empty()) return;
    switch (event) {
        case XACT_EVENT_PRE_PREPARE:
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("cannot PREPARE a transaction that built or dropped a vtree index")));
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT: {
            const bool commit = event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT;
            try {
                for (const PendingAction& a : actions)
                    if (a.on_commit == commit) run(a);
            } catch (...) {
                // A failed removal leaves an orphan for vectordb_cleanup_orphans().
            }
            actions.clear();
            break;
        }
        default:
            break;
    }
}

void on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void*) {
    auto& actions = pending();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        try {
            for (const PendingAction& a : actions)
                if (a.subxact == sub && !a.on_commit) run(a);
        } catch (...) {
        }
        std::vector<PendingAction> kept;
        for (PendingAction& a : actions)
            if (a.subxact != sub) kept.push_back(std::move(a));
        actions.swap(kept);
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        for (PendingAction& a : actions)
            if (a.subxact == sub) a.subxact = parent;
    }
}

// Schedules removal of a dropped vtree index's sidecars when the drop commits.
void on_object_access(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void* arg) {
    if (previous_object_access_hook) previous_object_access_hook(access, class_id, object_id, sub_id, arg);
    if (access != OAT_DROP || class_id != RelationRelationId || sub_id != 0) return;
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(object_id));
    if (!HeapTupleIsValid(tuple)) return;
    const Form_pg_class rel = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    const bool is_index = rel->relkind == RELKIND_INDEX;
    const Oid am = rel->relam;
    const Oid relfilenode = rel->relfilenode;
    ReleaseSysCache(tuple);
    if (!is_index || am != get_index_am_oid("vtree", true)) return;
    try {
        pending().push_back(PendingAction{ActionKind::RemoveRelfilenode, true, GetCurrentSubTransactionId(), {},
                                          MyDatabaseId, object_id, relfilenode});
    } catch (...) {
        ereport(WARNING, (errmsg("out of memory: the sidecar of index %u will need vectordb_cleanup_orphans()",
                                 object_id)));
    }
}

}  // namespace

std::string sidecar_directory(bool create) {
    std::string dir = (guc_sidecar_dir != nullptr && guc_sidecar_dir[0] != '\0')
                          ? std::string(guc_sidecar_dir)
                          : std::string(DataDir) + "/pg_vectordb";
    if (dir[0] != '/') dir = std::string(DataDir) + "/" + dir;
    if (create) {
        const char* path = dir.c_str();
        pg_call([&] {
            if (MakePGDirectory(path) != 0 && errno != EEXIST)
                ereport(ERROR, (errcode_for_file_access(),
                                errmsg("could not create sidecar directory \"%s\": %m", path)));
        });
    }
    return dir;
}

std::string sidecar_name(uint64 database, uint64 index_oid, uint64 relfilenode, uint64 generation) {
    char name[128];
    std::snprintf(name, sizeof(name), "db%llu_idx%llu_rel%llu_%016llx.vec", static_cast<unsigned long long>(database),
                  static_cast<unsigned long long>(index_oid), static_cast<unsigned long long>(relfilenode),
                  static_cast<unsigned long long>(generation));
    return name;
}

std::string sidecar_path(const VtreeMeta& meta) {
    return sidecar_directory(false) + "/" +
           sidecar_name(meta.sidecar_database, meta.sidecar_index_oid, meta.sidecar_relfilenode,
                        meta.sidecar_generation);
}

bool parse_sidecar_name(const std::string& name, uint64* database, uint64* index_oid, uint64* relfilenode,
                        uint64* generation) {
    unsigned long long db, oid, rel, gen;
    int consumed = 0;
    if (std::sscanf(name.c_str(), "db%llu_idx%llu_rel%llu_%16llx.vec%n", &db, &oid, &rel, &gen, &consumed) != 4 ||
        static_cast<std::size_t>(consumed) != name.size())
        return false;
    *database = db;
    *index_oid = oid;
    *relfilenode = rel;
    *generation = gen;
    return true;
}

uint64 new_generation() {
    static uint64 counter = 0;
    uint64 x = static_cast<uint64>(GetCurrentTimestamp()) ^ (static_cast<uint64>(MyProcPid) << 40) ^ (++counter << 20);
    // SplitMix64 finaliser: spread the bits so names do not look sequential.
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x == 0 ? 1 : x;
}

void remove_on_abort(const std::string& path) {
    pending().push_back(
        PendingAction{ActionKind::RemovePath, false, GetCurrentSubTransactionId(), path, 0, 0, 0});
}

void remove_other_generations_on_commit(uint64 database, uint64 index_oid, const std::string& keep_name) {
    pending().push_back(PendingAction{ActionKind::RemoveOtherGenerations, true, GetCurrentSubTransactionId(),
                                      keep_name, database, index_oid, 0});
}

void register_sidecar_lifecycle() {
    RegisterXactCallback(on_xact, nullptr);
    RegisterSubXactCallback(on_subxact, nullptr);
    previous_object_access_hook = object_access_hook;
    object_access_hook = on_object_access;
}

VectorStore* open_sidecar(Oid index_oid, const VtreeMeta& meta, std::string* problem) {
    auto& entries = open_sidecars();
    OpenSidecar& entry = entries[index_oid];
    const std::string path = sidecar_path(meta);
    // One stat per scan notices a file replaced, removed or cut short behind our back.
    struct stat st;
    const bool exists = ::stat(path.c_str(), &st) == 0;
    const bool same_file = exists && st.st_dev == entry.device && st.st_ino == entry.inode && st.st_size >= entry.size;
    if (entry.relfilenode == meta.sidecar_relfilenode && entry.generation == meta.sidecar_generation &&
        ((entry.store && same_file) || (!entry.store && !entry.problem.empty() && !exists))) {
        *problem = entry.problem;
        return entry.store.get();
    }
    entry = OpenSidecar{};
    entry.relfilenode = meta.sidecar_relfilenode;
    entry.generation = meta.sidecar_generation;
    if (!exists) {
        entry.problem = "sidecar \"" + path + "\" is missing";
        *problem = entry.problem;
        return nullptr;
    }
    entry.device = st.st_dev;
    entry.inode = st.st_ino;
    entry.size = st.st_size;
    try {
        auto store = std::make_unique<VectorStore>(VectorStore::open(path, OpenMode::ReadWrite));
        const StoreIdentity expected{meta.sidecar_database, meta.sidecar_relfilenode, meta.sidecar_generation};
        if (store->identity() != expected)
            entry.problem = "sidecar \"" + path + "\" belongs to another index or build";
        else if (store->dim() != meta.dim)
            entry.problem = "sidecar \"" + path + "\" has the wrong number of dimensions";
        else if (store->size() < meta.built_entries)
            entry.problem = "sidecar \"" + path + "\" holds fewer records than the index was built with";
        else
            entry.store = std::move(store);
    } catch (const std::bad_alloc&) {
        entry = OpenSidecar{};
        throw;
    } catch (const std::exception& e) {
        entry.problem = e.what();
    }
    *problem = entry.problem;
    return entry.store.get();
}

void forget_sidecar(Oid index_oid) { open_sidecars().erase(index_oid); }

}  // namespace pg
}  // namespace vectordb
