// What the SQL administration functions share: opening a vtree index (and
// its table) by OID, the privilege checks, and a file's size.
#include "core/errors.h"

#include <sys/stat.h>

#include "pg/vtree.h"

extern "C" {
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

namespace vectordb {
namespace pg {

// Opens a vtree index, or ERROR 42809 if the relation is something else.
Relation open_vtree(Oid oid, LOCKMODE lock) {
    Relation index = relation_open(oid, lock);
    const Oid am = get_index_am_oid("vtree", false);
    if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != am) {
        const char* name = pstrdup(RelationGetRelationName(index));
        relation_close(index, lock);
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not a vtree index", name)));
    }
    return index;
}

Relation open_vtree_and_table(Oid oid, LOCKMODE index_lock, LOCKMODE table_lock, Relation* heap) {
    const Oid heap_oid = IndexGetRelation(oid, true);
    *heap = OidIsValid(heap_oid) ? table_open(heap_oid, table_lock) : nullptr;
    Relation index = open_vtree(oid, index_lock);
    if (*heap == nullptr || index->rd_index->indrelid != heap_oid)
        elog(ERROR, "index \"%s\" changed its table while being opened", RelationGetRelationName(index));
    return index;
}

// ERROR 42501 unless the current user may SELECT from the index's table: what
// the statistics and a prewarm reveal or cost is the table's to grant.
void require_select(Relation index) {
    const Oid heap = index->rd_index->indrelid;
    if (pg_class_aclcheck(heap, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied for table %s", get_rel_name(heap))));
}

// ERROR 42501 unless the current user owns the index or is a superuser.
void require_owner(Relation index) {
    if (!pg_class_ownercheck(RelationGetRelid(index), GetUserId()))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("must be owner of index %s", RelationGetRelationName(index))));
}

void require_owner_of(Oid index_oid) {
    if (!pg_class_ownercheck(index_oid, GetUserId()))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("must be owner of index %s", get_rel_name(index_oid))));
}

void require_superuser(const char* function) {
    if (!superuser())
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("must be superuser to call %s", function)));
}

int64 file_size(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64>(st.st_size) : -1;
}

}  // namespace pg
}  // namespace vectordb
