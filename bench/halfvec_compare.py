#!/usr/bin/env python3
"""halfvec against vector on synth-768 (or any set make bench loaded): the
same rows as halfvec(768) in a second table, each with its vtree index at the
defaults; recall@10 against the float ground truth, queries per second over
psql (text queries, one session, ROUNDS passes each, median), and the sizes
vectordb_index_stats reports (MB of 2^20 bytes, as vectordb_pg_bench's).

  python3 bench/halfvec_compare.py DATABASE DATASET_DIR [ROUNDS]

DATABASE holds bench_items(id, embedding vector(768)) as vectordb_pg_bench
leaves it (its indexes on embedding are replaced by one vtree index at the
defaults); DATASET_DIR has the same set's query.fvecs and groundtruth.ivecs
(`vectordb_pg_bench --save DIR` writes them). PG* variables say which server.
`make bench` runs it after its sweep."""
import os, struct, subprocess, sys, time

def read_vecs(path, fmt, limit=None):
    data, off, rows = open(path, 'rb').read(), 0, []
    while off < len(data) and (limit is None or len(rows) < limit):
        d = struct.unpack_from('i', data, off)[0]
        rows.append(struct.unpack_from('%d%s' % (d, fmt), data, off + 4))
        off += 4 + 4 * d
    return rows

def psql(db, *args):
    return subprocess.run(['psql', '-AtqX', '-v', 'ON_ERROR_STOP=1', '-d', db] + list(args),
                          capture_output=True, text=True, check=True).stdout

db = sys.argv[1]
data_dir = sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
queries = read_vecs(os.path.join(data_dir, 'query.fvecs'), 'f', 1000)
truth = read_vecs(os.path.join(data_dir, 'groundtruth.ivecs'), 'i')
dim = len(queries[0])
psql(db, '-c', 'SET client_min_messages = warning', '-c', 'DROP INDEX IF EXISTS bench_items_vtree, pv_idx',
     '-c', 'CREATE INDEX bench_items_vtree ON bench_items USING vtree (embedding) WITH (storage = mmap)',
     '-c', 'DROP TABLE IF EXISTS bench_half', '-c', 'CREATE TABLE bench_half AS SELECT id, embedding::halfvec(%d) AS e FROM bench_items' % dim,
     '-c', 'CREATE INDEX bench_half_vtree ON bench_half USING vtree (e halfvec_l2_ops) WITH (storage = mmap)',
     '-c', 'VACUUM ANALYZE bench_half')
for name, table, column, index, cast in [('vector', 'bench_items', 'embedding', 'bench_items_vtree', 'vector'),
                                         ('halfvec', 'bench_half', 'e', 'bench_half_vtree', 'halfvec')]:
    sql = ''.join("SELECT array_to_string(array(SELECT id FROM %s ORDER BY %s <-> '[%s]'::%s LIMIT 10), ',');\n"
                  % (table, column, ','.join('%.9g' % x for x in q), cast) for q in queries)
    path = '/tmp/vectordb_halfvec_compare.sql'
    open(path, 'w').write(sql)
    qps, out = [], ''
    for _ in range(rounds):
        start = time.time()
        out = psql(db, '-c', 'SET enable_seqscan = off', '-f', path)
        qps.append(len(queries) / (time.time() - start))
    rows = [line for line in out.split('\n') if line and line != 'SET']
    hits = sum(len({int(x) for x in row.split(',')} & set(truth[i][:10])) for i, row in enumerate(rows))
    sidecar, relation, leaves = psql(db, '-c', "SELECT sidecar_bytes, relation_bytes, leaves "
                                              "FROM vectordb_index_stats('%s')" % index).strip().split('|')
    qps.sort()
    print('%-8s recall@10 %.4f  QPS median %.0f (%s)  sidecar %.1f MB  index relation %.1f MB  leaves %s'
          % (name, hits / (10.0 * len(rows)), qps[len(qps) // 2], ' '.join('%.0f' % x for x in qps),
             int(sidecar) / 1048576.0, int(relation) / 1048576.0, leaves))
