// vectordb_recall(): how many of a query's exact nearest rows an index scan
// at the current settings returns, both queries run through SPI.
#include "core/errors.h"

#include <set>

#include "pg/pg_call.h"
#include "pg/vtree.h"

extern "C" {
#include "access/relation.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
}

using namespace vectordb;
using namespace vectordb::pg;

namespace {

const char* metric_operator(uint8 metric) {
    switch (static_cast<Metric>(metric)) {
        case Metric::L2:
            return "<->";
        case Metric::InnerProduct:
            return "<#>";
        case Metric::Cosine:
            return "<=>";
    }
    return "<->";
}

// Runs `sql` with $1 = query and collects the ctids it returns (PostgreSQL code only).
void collect_ctids(const char* sql, Datum query, Oid vector_type, std::vector<uint64>* out, std::size_t max) {
    Oid types[1] = {vector_type};
    Datum args[1] = {query};
    if (SPI_execute_with_args(sql, 1, types, args, nullptr, true, 0) != SPI_OK_SELECT)
        elog(ERROR, "vectordb_recall: query failed: %s", sql);
    for (uint64 i = 0; i < SPI_processed && out->size() < max; i++) {
        bool isnull = false;
        const Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) out->push_back(tid_tag(*reinterpret_cast<ItemPointer>(DatumGetPointer(d))));
    }
}

}  // namespace

// vectordb_recall(regclass, vector, k): the share of the exact k nearest rows
// that an index scan with the current settings returns.
VECTORDB_FUNCTION(vectordb_recall) {
    const Oid oid = PG_GETARG_OID(0);
    const Datum query = PG_GETARG_DATUM(1);
    const int32 k = PG_GETARG_INT32(2);
    if (k < 1 || k > 100000)
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be between 1 and 100000")));
        });
    char sql[4096];
    Oid vector_type = InvalidOid;
    pg_call([&] {
        Relation index = open_vtree(oid, AccessShareLock);
        VtreeMeta meta;
        read_meta(index, &meta);
        const Oid heap_oid = index->rd_index->indrelid;
        // The query's own type (vector): the ORDER BY casts it to a halfvec key's as SQL would.
        vector_type = get_fn_expr_argtype(fcinfo->flinfo, 1);
        if (!OidIsValid(vector_type)) vector_type = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
        const char* table =
            quote_qualified_identifier(get_namespace_name(get_rel_namespace(heap_oid)), get_rel_name(heap_oid));
        // The index's key as SQL: its column, or its expression (in parentheses).
        const char* column = psprintf("(%s)", pg_get_indexdef_columns(oid, false));
        std::snprintf(sql, sizeof(sql), "SELECT ctid FROM %s WHERE %s IS NOT NULL ORDER BY %s %s $1 LIMIT %d", table,
                      column, column, metric_operator(meta.metric), k);
        relation_close(index, AccessShareLock);
    });
    std::vector<uint64> exact, approximate;
    exact.reserve(static_cast<std::size_t>(k));
    approximate.reserve(static_cast<std::size_t>(k));
    const std::size_t max = static_cast<std::size_t>(k);
    pg_call([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "vectordb_recall: SPI_connect failed");
        const int nest = NewGUCNestLevel();
        set_config_option("enable_indexscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        collect_ctids(sql, query, vector_type, &exact, max);
        AtEOXact_GUC(true, nest);
        const int nest2 = NewGUCNestLevel();
        set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        collect_ctids(sql, query, vector_type, &approximate, max);
        AtEOXact_GUC(true, nest2);
        SPI_finish();
    });
    if (exact.empty()) PG_RETURN_NULL();
    const std::set<uint64> truth(exact.begin(), exact.end());
    std::size_t hits = 0;
    for (uint64 t : approximate) hits += truth.count(t);
    PG_RETURN_FLOAT8(static_cast<double>(hits) / static_cast<double>(exact.size()));
}

// Event trigger function: loading the library is all it does (see the install script).
VECTORDB_FUNCTION(vectordb_load_library) {
    (void)fcinfo;
    PG_RETURN_VOID();
}
