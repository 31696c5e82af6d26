// The vtree access method's handler, options and settings, cost estimate and
// operator class validation.
#include "core/quantizer.h"

#include <unistd.h>

#include "pg/pg_call.h"
#include "pg/vtree.h"

extern "C" {
#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "parser/parse_type.h"
#include "utils/catcache.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

// Distance functions of the vector, halfvec and bit types (vector_ops.cpp,
// halfvec_ops.cpp, bit_ops.cpp): support function 1 of each operator class
// names one of them, which gives the index its metric.
Datum l2_distance(PG_FUNCTION_ARGS);
Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
Datum cosine_distance(PG_FUNCTION_ARGS);
Datum halfvec_l2_distance(PG_FUNCTION_ARGS);
Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS);
Datum halfvec_cosine_distance(PG_FUNCTION_ARGS);
Datum hamming_distance(PG_FUNCTION_ARGS);

PG_FUNCTION_INFO_V1(vtree_handler);
Datum vtree_handler(PG_FUNCTION_ARGS);
}

namespace vectordb {
namespace pg {

int guc_probes = kDefaultProbes;
double guc_target_recall = kDefaultTargetRecall;
int guc_rerank_factor = kDefaultRerankFactor;
int guc_iterative_scan = static_cast<int>(IterativeScan::Off);
int guc_max_scan_tuples = kDefaultMaxScanTuples;
int guc_build_threads = kDefaultBuildThreads;
char* guc_sidecar_dir = nullptr;
bool guc_heal_sidecars = true;

namespace {

relopt_kind vtree_relopt_kind;

relopt_enum_elt_def quantizer_values[] = {
    {"rabitq", static_cast<int>(QuantizerKind::RaBitQ)},
    {"hamming", static_cast<int>(QuantizerKind::Hamming)},
    {nullptr, 0},
};

relopt_enum_elt_def storage_values[] = {
    {"mmap", static_cast<int>(Storage::Mmap)},
    {"pages", static_cast<int>(Storage::Pages)},
    {nullptr, 0},
};

const config_enum_entry iterative_scan_values[] = {
    {"off", static_cast<int>(IterativeScan::Off), false},
    {"relaxed_order", static_cast<int>(IterativeScan::Relaxed), false},
    {"strict_order", static_cast<int>(IterativeScan::Strict), false},
    {nullptr, 0, false},
};

}  // namespace

void register_reloptions() {
    vtree_relopt_kind = add_reloption_kind();
    add_int_reloption(vtree_relopt_kind, "branching_factor", "Children per internal node of the k-means tree",
                      kDefaultBranchingFactor, kMinBranchingFactor, kMaxBranchingFactor, AccessExclusiveLock);
    add_int_reloption(vtree_relopt_kind, "max_leaf_size", "Largest number of vectors in a leaf", kDefaultMaxLeafSize,
                      kMinMaxLeafSize, kMaxMaxLeafSize, AccessExclusiveLock);
    add_int_reloption(vtree_relopt_kind, "max_iterations", "k-means iterations per split", kDefaultMaxIterations,
                      kMinMaxIterations, kMaxMaxIterations, AccessExclusiveLock);
    add_enum_reloption(vtree_relopt_kind, "quantizer", "Binary code of each vector", quantizer_values,
                       static_cast<int>(QuantizerKind::RaBitQ), "Valid values are \"rabitq\" and \"hamming\".",
                       AccessExclusiveLock);
    add_enum_reloption(vtree_relopt_kind, "storage", "Where full-precision vectors live", storage_values,
                       static_cast<int>(Storage::Mmap), "Valid values are \"mmap\" and \"pages\".",
                       AccessExclusiveLock);
}

bytea* vtree_options(Datum reloptions, bool validate) {
    static const relopt_parse_elt table[] = {
        {"branching_factor", RELOPT_TYPE_INT, offsetof(VtreeOptions, branching_factor)},
        {"max_leaf_size", RELOPT_TYPE_INT, offsetof(VtreeOptions, max_leaf_size)},
        {"max_iterations", RELOPT_TYPE_INT, offsetof(VtreeOptions, max_iterations)},
        {"quantizer", RELOPT_TYPE_ENUM, offsetof(VtreeOptions, quantizer)},
        {"storage", RELOPT_TYPE_ENUM, offsetof(VtreeOptions, storage)},
    };
    return static_cast<bytea*>(
        build_reloptions(reloptions, validate, vtree_relopt_kind, sizeof(VtreeOptions), table, lengthof(table)));
}

VtreeOptions options_of(Relation index) {
    VtreeOptions defaults{};
    defaults.branching_factor = kDefaultBranchingFactor;
    defaults.max_leaf_size = kDefaultMaxLeafSize;
    defaults.max_iterations = kDefaultMaxIterations;
    defaults.quantizer = static_cast<int>(QuantizerKind::RaBitQ);
    defaults.storage = static_cast<int>(Storage::Mmap);
    if (index->rd_options == nullptr) return defaults;
    return *reinterpret_cast<VtreeOptions*>(index->rd_options);
}

void register_settings() {
    DefineCustomRealVariable("vtree.target_recall", "Recall@10 a vtree scan aims for.",
                             "The scan probes as many leaves as the index's calibration says this recall needs "
                             "(unless vtree.probes is set).",
                             &guc_target_recall, kDefaultTargetRecall, 0.01, 1.0, PGC_USERSET, 0, nullptr, nullptr,
                             nullptr);
    DefineCustomIntVariable("vtree.probes", "Leaves a vtree scan probes first (0: from vtree.target_recall).",
                            "More probes raise recall and cost time.", &guc_probes, kDefaultProbes, kMinProbes,
                            kMaxProbes, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("vtree.rerank_factor", "Exact distances a vtree scan computes per result.",
                            "The scan reranks up to LIMIT x rerank_factor candidates exactly (LIMIT 10 assumed).",
                            &guc_rerank_factor, kDefaultRerankFactor, kMinRerankFactor, kMaxRerankFactor, PGC_USERSET,
                            0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable("vtree.iterative_scan", "Whether a vtree scan goes on past its probes.",
                             "relaxed_order probes further leaves until the query has its rows; strict_order "
                             "also returns a row only once no unprobed leaf can hold a nearer one.",
                             &guc_iterative_scan, static_cast<int>(IterativeScan::Off), iterative_scan_values,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("vtree.max_scan_tuples", "Most binary codes an iterative vtree scan examines.", nullptr,
                            &guc_max_scan_tuples, kDefaultMaxScanTuples, kMinMaxScanTuples, INT_MAX, PGC_USERSET, 0,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("vtree.build_threads", "Threads a vtree build clusters with (0: one per CPU).",
                            "At most 1 + max_parallel_maintenance_workers (within max_parallel_workers).",
                            &guc_build_threads, kDefaultBuildThreads, 0, kMaxBuildThreads, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomStringVariable("vectordb.sidecar_dir", "Directory of vtree sidecar files (vectors.bin).",
                               "Empty means pg_vectordb inside the data directory, so base backups include it.",
                               &guc_sidecar_dir, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("vectordb.heal_sidecars",
                             "Whether a scan or insert that meets an unusable sidecar record starts a background "
                             "worker to heal the sidecar.",
                             nullptr, &guc_heal_sidecars, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("vtree");
    MarkGUCPrefixReserved("vectordb");
}

int build_threads() {
    // The leader and as many helpers as PostgreSQL would give a parallel
    // maintenance command (max_parallel_maintenance_workers, within
    // max_parallel_workers): the administrator's budget for one build.
    const int budget = 1 + std::max(0, std::min(max_parallel_maintenance_workers, max_parallel_workers));
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const int wanted = guc_build_threads > 0
                           ? guc_build_threads
                           : (cpus > 0 ? static_cast<int>(std::min<long>(cpus, kMaxBuildThreads)) : 1);
    return std::max(1, std::min(wanted, budget));
}

char* vtree_buildphasename(int64 phase) {
    switch (phase) {
        case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
            return const_cast<char*>("initializing");
        case kPhaseLoading:
            return const_cast<char*>("loading tuples");
        case kPhaseClustering:
            return const_cast<char*>("clustering");
        case kPhaseAssigning:
            return const_cast<char*>("assigning tuples");
        case kPhaseWriting:
            return const_cast<char*>("writing index");
        case kPhaseCalibrating:
            return const_cast<char*>("calibrating");
        case kPhaseFinishing:
            return const_cast<char*>("writing tree and WAL");
        default:
            return nullptr;
    }
}

Metric index_metric(Relation index) {
    FmgrInfo* proc = index_getprocinfo(index, 1, 1);
    if (proc->fn_addr == vector_negative_inner_product || proc->fn_addr == halfvec_negative_inner_product)
        return Metric::InnerProduct;
    if (proc->fn_addr == cosine_distance || proc->fn_addr == halfvec_cosine_distance) return Metric::Cosine;
    // Bits are indexed as 0s and 1s, whose squared L2 distance is the Hamming distance: the same order.
    if (proc->fn_addr == l2_distance || proc->fn_addr == halfvec_l2_distance || proc->fn_addr == hamming_distance)
        return Metric::L2;
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("operator class of index \"%s\" has an unsupported distance function",
                           RelationGetRelationName(index)),
                    errhint("Use vector_l2_ops, vector_ip_ops, vector_cosine_ops, their halfvec_ counterparts or "
                            "bit_hamming_ops.")));
    pg_unreachable();
}

// The planner's view: a vtree scan reads the metapage, the tree and `probes`
// leaves' pages before it returns anything, then serves rows cheaply. Only an
// ORDER BY on the index's distance operator can use it.
void vtree_costestimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost, Cost* total_cost,
                        Selectivity* selectivity, double* correlation, double* pages) {
    if (path->indexorderbys == NIL) {
        *startup_cost = get_float8_infinity();
        *total_cost = get_float8_infinity();
        *selectivity = 0;
        *correlation = 0;
        *pages = 0;
        return;
    }
    GenericCosts costs;
    MemSet(&costs, 0, sizeof(costs));
    Relation index = index_open(path->indexinfo->indexoid, NoLock);
    const VtreeOptions opts = options_of(index);
    index_close(index, NoLock);
    const double tuples = std::max(1.0, path->indexinfo->tuples);
    // Leaves hold between about half and all of max_leaf_size rows (split_children).
    const double leaf_rows = std::max(1.0, opts.max_leaf_size * 0.7);
    const int probes = guc_probes > 0 ? guc_probes : kUncalibratedProbes;  // the curve is not read here
    const double scanned = std::min(tuples, probes * leaf_rows);
    costs.numIndexTuples = scanned;
    genericcostestimate(root, path, loop_count, &costs);
    // Every probed row costs a code comparison; the rerank a random read of a full vector.
    const double rerank = std::min(tuples, 10.0 * guc_rerank_factor);
    costs.indexTotalCost += rerank * random_page_cost * 0.25;
    *startup_cost = costs.indexTotalCost;
    *total_cost = costs.indexTotalCost;
    *selectivity = costs.indexSelectivity;
    *correlation = 0;
    *pages = costs.numIndexPages;
}

// Checks an operator class: vector input, strategy 1 an ORDER BY operator
// returning float8, support function 1 a distance function of two vectors.
bool vtree_validate(Oid opclass) {
    bool ok = true;
    HeapTuple class_tuple = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
    if (!HeapTupleIsValid(class_tuple)) elog(ERROR, "cache lookup failed for operator class %u", opclass);
    const Form_pg_opclass form = reinterpret_cast<Form_pg_opclass>(GETSTRUCT(class_tuple));
    const Oid family = form->opcfamily;
    const Oid input_type = form->opcintype;
    char* class_name = pstrdup(NameStr(form->opcname));
    ReleaseSysCache(class_tuple);

    // The class indexes vector, halfvec or bit, and its distance takes two of that type.
    const Oid vector_type = typenameTypeId(nullptr, typeStringToTypeName("vector"));
    const Oid halfvec_type = typenameTypeId(nullptr, typeStringToTypeName("halfvec"));
    if (input_type != vector_type && input_type != halfvec_type && input_type != BITOID) {
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("vtree operator class \"%s\" must index type vector, halfvec or bit", class_name)));
        ok = false;
    }
    CatCList* procs = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(family));
    bool has_distance = false;
    for (int i = 0; i < procs->n_members; i++) {
        const Form_pg_amproc proc = reinterpret_cast<Form_pg_amproc>(GETSTRUCT(&procs->members[i]->tuple));
        if (proc->amprocnum != 1 ||
            !check_amproc_signature(proc->amproc, FLOAT8OID, true, 2, 2, input_type, input_type)) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("vtree operator family of \"%s\" has invalid support function %s with number %d",
                                  class_name, format_procedure(proc->amproc), proc->amprocnum)));
            ok = false;
            continue;
        }
        has_distance = true;
    }
    ReleaseSysCacheList(procs);
    if (!has_distance) {
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("vtree operator class \"%s\" lacks support function 1 (the distance)", class_name)));
        ok = false;
    }
    CatCList* ops = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(family));
    bool has_order_by = false;
    for (int i = 0; i < ops->n_members; i++) {
        const Form_pg_amop op = reinterpret_cast<Form_pg_amop>(GETSTRUCT(&ops->members[i]->tuple));
        const bool shape_ok = op->amopstrategy == 1 && op->amoppurpose == AMOP_ORDER &&
                              op->amoplefttype == input_type && op->amoprighttype == input_type &&
                              check_amop_signature(op->amopopr, FLOAT8OID, input_type, input_type);
        if (!shape_ok) {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("vtree operator family of \"%s\" has invalid operator %s with strategy %d",
                                  class_name, format_operator(op->amopopr), op->amopstrategy)));
            ok = false;
            continue;
        }
        has_order_by = true;
    }
    ReleaseSysCacheList(ops);
    if (!has_order_by) {
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("vtree operator class \"%s\" lacks its ORDER BY operator (strategy 1)", class_name)));
        ok = false;
    }
    return ok;
}

}  // namespace pg
}  // namespace vectordb

using namespace vectordb::pg;

extern "C" Datum vtree_handler(PG_FUNCTION_ARGS) {
    IndexAmRoutine* am = makeNode(IndexAmRoutine);
    am->amstrategies = 0;
    am->amsupport = 1;
    am->amoptsprocnum = 0;
    am->amcanorder = false;
    am->amcanorderbyop = true;
    am->amcanbackward = false;
    am->amcanunique = false;
    am->amcanmulticol = false;
    am->amoptionalkey = true;
    am->amsearcharray = false;
    am->amsearchnulls = false;
    am->amstorage = false;
    am->amclusterable = false;
    am->ampredlocks = false;
    am->amcanparallel = false;
    am->amcaninclude = false;
    am->amusemaintenanceworkmem = true;
    am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
    am->amkeytype = InvalidOid;
    am->ambuild = vtree_build;
    am->ambuildempty = vtree_buildempty;
    am->aminsert = vtree_insert;
    am->ambulkdelete = vtree_bulkdelete;
    am->amvacuumcleanup = vtree_vacuumcleanup;
    am->amcanreturn = nullptr;
    am->amcostestimate = vtree_costestimate;
    am->amoptions = vtree_options;
    am->amproperty = nullptr;
    am->ambuildphasename = vtree_buildphasename;
    am->amvalidate = vtree_validate;
    am->amadjustmembers = nullptr;
    am->ambeginscan = vtree_beginscan;
    am->amrescan = vtree_rescan;
    am->amgettuple = vtree_gettuple;
    am->amgetbitmap = nullptr;
    am->amendscan = vtree_endscan;
    am->ammarkpos = nullptr;
    am->amrestrpos = nullptr;
    am->amestimateparallelscan = nullptr;
    am->aminitparallelscan = nullptr;
    am->amparallelrescan = nullptr;
    PG_RETURN_POINTER(am);
}
