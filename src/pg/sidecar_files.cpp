// Sidecar files by name: directory, names and identity (see sidecar_files.h).
#include "pg/sidecar_files.h"
#include "pg/pg_call.h"

#include <algorithm>
#include <cstdio>

extern "C" {
#include "access/generic_xlog.h"
#include "access/xlog.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

namespace vectordb {
namespace pg {

std::string sidecar_directory(bool create) {
    std::string dir = (guc_sidecar_dir != nullptr && guc_sidecar_dir[0] != '\0')
                          ? std::string(guc_sidecar_dir)
                          : std::string(DataDir) + "/pg_vectordb";
    if (dir[0] != '/') dir = std::string(DataDir) + "/" + dir;
    if (create) {
        const char* path = dir.c_str();
        pg_call([&] {
            if (MakePGDirectory(path) != 0 && errno != EEXIST)
                ereport(ERROR,
                        (errcode_for_file_access(), errmsg("could not create sidecar directory \"%s\": %m", path)));
        });
    }
    return dir;
}

std::string sidecar_name(const StoreIdentity& id) {
    char name[128];
    std::snprintf(name, sizeof(name), "sys%llu_db%llu_idx%llu_%016llx.vec",
                  static_cast<unsigned long long>(id.system_id), static_cast<unsigned long long>(id.database_id),
                  static_cast<unsigned long long>(id.index_id), static_cast<unsigned long long>(id.generation));
    return name;
}

bool parse_sidecar_name(const std::string& name, StoreIdentity* id) {
    unsigned long long sys, db, oid, gen;
    int consumed = 0;
    if (std::sscanf(name.c_str(), "sys%llu_db%llu_idx%llu_%16llx.vec%n", &sys, &db, &oid, &gen, &consumed) != 4 ||
        static_cast<std::size_t>(consumed) != name.size())
        return false;
    *id = StoreIdentity{sys, db, oid, gen};
    return name == sidecar_name(*id);  // one spelling per identity (no leading zeros or signs)
}

namespace {

constexpr char kTreeImageMark[] = ".tree-";  // <sidecar name>.tree-<16 hex digits>[.tmp<pid>]

}  // namespace

std::string tree_image_prefix(const StoreIdentity& id) { return sidecar_name(id) + kTreeImageMark; }

std::string tree_image_name(const StoreIdentity& id, uint64 hash) {
    char digits[17];
    std::snprintf(digits, sizeof(digits), "%016llx", static_cast<unsigned long long>(hash));
    return tree_image_prefix(id) + digits;
}

bool parse_sidecar_file_name(const std::string& name, StoreIdentity* id) {
    if (parse_sidecar_name(name, id)) return true;
    // A tree image, maybe followed by .tmp<pid> (one being written).
    const std::size_t at = name.find(kTreeImageMark);
    if (at == std::string::npos || !parse_sidecar_name(name.substr(0, at), id)) return false;
    const std::string rest = name.substr(at + sizeof(kTreeImageMark) - 1);
    const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    if (rest.size() < 16 || !std::all_of(rest.begin(), rest.begin() + 16, hex)) return false;
    const std::string tail = rest.substr(16);
    if (tail.empty()) return true;
    return tail.compare(0, 4, ".tmp") == 0 && tail.size() > 4 &&
           std::all_of(tail.begin() + 4, tail.end(), [](char c) { return c >= '0' && c <= '9'; });
}

StoreIdentity sidecar_identity(const VtreeMeta& meta) {
    return StoreIdentity{meta.sidecar_system_id, meta.sidecar_database, meta.sidecar_index_oid,
                         meta.sidecar_generation};
}

std::string sidecar_path(const VtreeMeta& meta) {
    return sidecar_directory(false) + "/" + sidecar_name(sidecar_identity(meta));
}

std::string foreign_sidecar_problem(Relation index, const VtreeMeta& meta) {
    if (meta.sidecar_system_id != GetSystemIdentifier())
        return "the sidecar named by the metapage belongs to another server (the index was copied)";
    if (meta.sidecar_database != MyDatabaseId)
        return "the sidecar named by the metapage belongs to database " + std::to_string(meta.sidecar_database) +
               " (this database is a copy of that one, as CREATE DATABASE ... TEMPLATE makes)";
    if (meta.sidecar_index_oid != RelationGetRelid(index))
        return "the sidecar named by the metapage belongs to another index";
    return {};
}

void claim_new_sidecar(Relation index, VtreeMeta* meta) {
    static uint64 counter = 0;
    uint64 x = static_cast<uint64>(GetCurrentTimestamp()) ^ (static_cast<uint64>(MyProcPid) << 40) ^ (++counter << 20);
    // SplitMix64 finaliser: spread the bits so names do not look sequential.
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    meta->sidecar_system_id = GetSystemIdentifier();
    meta->sidecar_database = MyDatabaseId;
    meta->sidecar_index_oid = RelationGetRelid(index);
    meta->sidecar_generation = x == 0 ? 1 : x;
}

void write_sidecar_identity(Relation index, const VtreeMeta& meta) {
    pg_call([&] {
        edit_meta(index, [&](VtreeMeta* m) {
            m->sidecar_database = meta.sidecar_database;
            m->sidecar_index_oid = meta.sidecar_index_oid;
            m->sidecar_system_id = meta.sidecar_system_id;
            m->sidecar_generation = meta.sidecar_generation;
            m->built_entries = meta.built_entries;
        });
        CacheInvalidateRelcache(index);
    });
}

void sync_sidecar_directory() {
    const std::string dir = sidecar_directory(false);
    const char* path = dir.c_str();
    pg_call([&] { fsync_fname(path, true); });
}

std::string without_directory(std::string message) {
    std::string dir;
    try {
        dir = sidecar_directory(false) + "/";
    } catch (...) {
        return message;
    }
    for (std::size_t at = message.find(dir); at != std::string::npos; at = message.find(dir, at))
        message.erase(at, dir.size());
    return message;
}

}  // namespace pg
}  // namespace vectordb
