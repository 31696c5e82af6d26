// Sidecar files in step with transactions (see sidecar_lifecycle.h).
#include "pg/sidecar_lifecycle.h"
#include "pg/sidecar_files.h"

#include <dirent.h>
#include <unistd.h>

#include <vector>

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/syscache.h"
}

namespace vectordb {
namespace pg {
namespace {

enum class ActionKind {
    RemoveFile,      // on abort: a file this subtransaction created
    KeepOnly,        // on commit: every generation of the index but `identity`'s
    RemoveIndex,     // on commit: every generation of a dropped index
    RemoveDatabase,  // on commit: every sidecar of a dropped database
};

struct PendingAction {
    ActionKind kind;
    SubTransactionId subxact;
    std::string path;        // RemoveFile
    StoreIdentity identity;  // KeepOnly: the file to keep; RemoveIndex: system, database and index
};

std::vector<PendingAction>& pending() {
    static std::vector<PendingAction> actions;
    return actions;
}

object_access_hook_type previous_object_access_hook = nullptr;

bool same_index(const StoreIdentity& a, const StoreIdentity& b) {
    return a.system_id == b.system_id && a.database_id == b.database_id && a.index_id == b.index_id;
}

// Unlinks the sidecars in the directory for which doomed(identity) holds. Never throws or ereports ERROR.
template <class Doomed>
void remove_matching(Doomed doomed) {
    std::string dir;
    try {
        dir = sidecar_directory(false);
    } catch (...) {
        return;
    }
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> paths;
    while (struct dirent* e = readdir(d)) {
        StoreIdentity id;
        if (parse_sidecar_file_name(e->d_name, &id) && doomed(id)) paths.emplace_back(dir + "/" + e->d_name);
    }
    closedir(d);
    for (const std::string& path : paths)
        if (unlink(path.c_str()) != 0 && errno != ENOENT)
            ereport(WARNING, (errcode_for_file_access(),
                              errmsg("could not remove sidecar \"%s\": %m", without_directory(path).c_str())));
}

void remove_file(const std::string& path) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
        ereport(WARNING, (errcode_for_file_access(),
                          errmsg("could not remove sidecar \"%s\": %m", without_directory(path).c_str())));
}

// What a commit removes: for each index, the last KeepOnly request wins.
void run_commit_actions(const std::vector<PendingAction>& actions) {
    for (std::size_t i = 0; i < actions.size(); i++) {
        const PendingAction& a = actions[i];
        if (a.kind == ActionKind::RemoveIndex) {
            remove_matching([&](const StoreIdentity& id) { return same_index(id, a.identity); });
        } else if (a.kind == ActionKind::RemoveDatabase) {
            remove_matching([&](const StoreIdentity& id) {
                return id.system_id == a.identity.system_id && id.database_id == a.identity.database_id;
            });
        } else if (a.kind == ActionKind::KeepOnly) {
            bool superseded = false;
            for (std::size_t j = i + 1; j < actions.size(); j++)
                superseded |= actions[j].kind == ActionKind::KeepOnly && same_index(actions[j].identity, a.identity);
            if (superseded) continue;
            remove_matching([&](const StoreIdentity& id) { return same_index(id, a.identity) && id != a.identity; });
        }
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
            try {
                run_commit_actions(actions);
            } catch (...) {
                // A failed removal leaves an orphan for vectordb_cleanup_orphans().
            }
            actions.clear();
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
            for (const PendingAction& a : actions)
                if (a.kind == ActionKind::RemoveFile) remove_file(a.path);
            actions.clear();
            break;
        default:
            break;
    }
}

void on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void*) {
    auto& actions = pending();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        for (const PendingAction& a : actions)
            if (a.subxact == sub && a.kind == ActionKind::RemoveFile) remove_file(a.path);
        std::vector<PendingAction> kept;
        try {
            for (PendingAction& a : actions)
                if (a.subxact != sub) kept.push_back(std::move(a));
        } catch (...) {
            return;  // out of memory: the aborted requests stay; at worst a file lingers as an orphan
        }
        actions.swap(kept);
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        for (PendingAction& a : actions)
            if (a.subxact == sub) a.subxact = parent;
    }
}

// Schedules removal of the sidecars of a dropped vtree index, or of a dropped
// database, when the drop commits.
void on_object_access(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void* arg) {
    if (previous_object_access_hook) previous_object_access_hook(access, class_id, object_id, sub_id, arg);
    if (access != OAT_DROP || sub_id != 0) return;
    if (class_id == DatabaseRelationId) {
        try {
            pending().push_back(PendingAction{ActionKind::RemoveDatabase,
                                              GetCurrentSubTransactionId(),
                                              {},
                                              StoreIdentity{GetSystemIdentifier(), object_id, 0, 0}});
        } catch (...) {
            ereport(WARNING, (errmsg("out of memory: the sidecars of database %u will need vectordb_cleanup_orphans()",
                                     object_id)));
        }
        return;
    }
    if (class_id != RelationRelationId) return;
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(object_id));
    if (!HeapTupleIsValid(tuple)) return;
    const Form_pg_class rel = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    const bool is_index = rel->relkind == RELKIND_INDEX;
    const Oid am = rel->relam;
    ReleaseSysCache(tuple);
    if (!is_index || am != get_index_am_oid("vtree", true)) return;
    try {
        pending().push_back(PendingAction{ActionKind::RemoveIndex,
                                          GetCurrentSubTransactionId(),
                                          {},
                                          StoreIdentity{GetSystemIdentifier(), MyDatabaseId, object_id, 0}});
    } catch (...) {
        ereport(WARNING,
                (errmsg("out of memory: the sidecar of index %u will need vectordb_cleanup_orphans()", object_id)));
    }
}

}  // namespace

void remove_on_abort(const std::string& path) {
    pending().push_back(PendingAction{ActionKind::RemoveFile, GetCurrentSubTransactionId(), path, {}});
}

void keep_on_abort(const std::string& path) {
    auto& actions = pending();
    for (auto it = actions.begin(); it != actions.end();)
        if (it->kind == ActionKind::RemoveFile && it->path == path)
            it = actions.erase(it);
        else
            ++it;
}

void keep_only_on_commit(const StoreIdentity& keep) {
    pending().push_back(PendingAction{ActionKind::KeepOnly, GetCurrentSubTransactionId(), {}, keep});
}

void register_sidecar_lifecycle() {
    RegisterXactCallback(on_xact, nullptr);
    RegisterSubXactCallback(on_subxact, nullptr);
    previous_object_access_hook = object_access_hook;
    object_access_hook = on_object_access;
}

}  // namespace pg
}  // namespace vectordb
