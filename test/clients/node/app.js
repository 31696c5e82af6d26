// An application written for pgvector, run against vectordb with two client
// stacks from npm: node-postgres with pgvector-node's type parsers, and Knex
// with pgvector-node's schema and query helpers. The only change from a
// pgvector application is the extension's name and the index's access
// method. Every ordered result is checked against distances computed here
// from the values read back; prints TAP.
'use strict';
const pg = require('pg');
const pgvector = require('pgvector/pg');
const { SparseVector, fromSql } = require('pgvector');

let count = 0;
let failures = 0;
function ok(condition, description) {
  count++;
  if (!condition) failures++;
  console.log(`${condition ? 'ok' : 'not ok'} ${count} - ${description}`);
}

// Seeded data: a small LCG, so every run sees the same rows.
let seed = 12345;
function random() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const dims = 8;
const rows = 300;
function randomVector() {
  return Array.from({ length: dims }, () => Math.round((random() * 2 - 1) * 1000) / 1000);
}
function sparseOf(v) {
  // About half the elements zero, never all of them.
  const s = v.map((x, i) => (i === 0 || random() < 0.5 ? x : 0));
  if (s.every((x) => x === 0)) s[0] = 0.5;
  return s;
}
const bitsOf = (v) => v.map((x) => (x > 0 ? '1' : '0')).join('');

const distances = {
  '<->': (a, b) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0)),
  '<#>': (a, b) => -a.reduce((s, x, i) => s + x * b[i], 0),
  '<=>': (a, b) => {
    const dot = a.reduce((s, x, i) => s + x * b[i], 0);
    const na = Math.sqrt(a.reduce((s, x) => s + x * x, 0)), nb = Math.sqrt(b.reduce((s, x) => s + x * x, 0));
    return 1 - dot / (na * nb);
  },
  '<+>': (a, b) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0),
  '<~>': (a, b) => [...a].filter((c, i) => c !== b[i]).length,
  '<%>': (a, b) => {
    let both = 0, either = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === '1' && b[i] === '1') both++;
      if (a[i] === '1' || b[i] === '1') either++;
    }
    return either === 0 ? 1 : 1 - both / either;
  },
};

// True when the ids come in the order of the exact distances from `query`
// (ties and float rounding aside): the i-th returned row's distance equals the
// i-th smallest distance.
function inExactOrder(ids, valueOf, op, query, limit) {
  const all = [...valueOf.entries()].map(([id, v]) => distances[op](v, query)).sort((a, b) => a - b);
  if (ids.length !== Math.min(limit, all.length)) return false;
  return ids.every((id, i) => Math.abs(distances[op](valueOf.get(id), query) - all[i]) <= 1e-4 * (1 + Math.abs(all[i])));
}

async function nodePostgres(queries) {
  const client = new pg.Client();
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS vectordb');
  await pgvector.registerTypes(client);
  await client.query('DROP TABLE IF EXISTS pg_items');
  await client.query(`CREATE TABLE pg_items (id bigserial PRIMARY KEY, embedding vector(${dims}),
    half_embedding halfvec(${dims}), binary_embedding bit(${dims}), sparse_embedding sparsevec(${dims}))`);
  const inserted = [];
  for (let i = 0; i < rows; i++) {
    const v = randomVector();
    const s = sparseOf(v);
    inserted.push({ v, s });
    await client.query('INSERT INTO pg_items (embedding, half_embedding, binary_embedding, sparse_embedding) VALUES ($1, $2, $3, $4)',
      [pgvector.toSql(v), pgvector.toSql(v), bitsOf(v), pgvector.toSql(new SparseVector(s))]);
  }
  const { rows: back } = await client.query('SELECT * FROM pg_items ORDER BY id');
  const byType = { embedding: new Map(), half_embedding: new Map(), binary_embedding: new Map(), sparse_embedding: new Map() };
  let same = true, halfClose = true, sparseSame = true;
  back.forEach((r, i) => {
    const want = inserted[i];
    byType.embedding.set(r.id, r.embedding);
    byType.half_embedding.set(r.id, r.half_embedding);
    byType.binary_embedding.set(r.id, r.binary_embedding);
    byType.sparse_embedding.set(r.id, r.sparse_embedding.toArray());
    // The text form is the shortest decimal of the float: it reads back to the same float.
    same = same && r.embedding.every((x, j) => Math.fround(x) === Math.fround(want.v[j]));
    halfClose = halfClose && r.half_embedding.every((x, j) => Math.abs(x - want.v[j]) <= Math.abs(want.v[j]) / 1024 + 1e-7);
    sparseSame = sparseSame && r.sparse_embedding instanceof SparseVector && r.sparse_embedding.dimensions === dims &&
      r.sparse_embedding.toArray().every((x, j) => Math.fround(x) === Math.fround(want.s[j]));
  });
  ok(back.length === rows && same, `node-postgres: ${rows} vectors read back as inserted (registerTypes' parser)`);
  ok(halfClose, 'node-postgres: halfvec values read back within half precision');
  ok(sparseSame, 'node-postgres: sparsevec values read back as SparseVector objects, as inserted');
  ok(back.every((r, i) => r.binary_embedding === bitsOf(inserted[i].v)), 'node-postgres: bit strings read back as inserted');

  const cases = [
    ['embedding', '<->'], ['embedding', '<#>'], ['embedding', '<=>'], ['embedding', '<+>'],
    ['half_embedding', '<->'], ['half_embedding', '<=>'],
    ['sparse_embedding', '<->'], ['sparse_embedding', '<#>'], ['sparse_embedding', '<=>'], ['sparse_embedding', '<+>'],
  ];
  const bound = (column, q) => (column === 'sparse_embedding' ? pgvector.toSql(new SparseVector(q)) : pgvector.toSql(q));
  const run = async (label) => {
    for (const [column, op] of cases) {
      let good = true;
      for (const q of queries) {
        const { rows: got } = await client.query(`SELECT id FROM pg_items ORDER BY ${column} ${op} $1 LIMIT 10`, [bound(column, q)]);
        good = good && inExactOrder(got.map((r) => r.id), byType[column], op, q, 10);
      }
      ok(good, `node-postgres ${label}: ORDER BY ${column} ${op} $1 LIMIT 10 in exact order, ${queries.length} queries`);
    }
    for (const op of ['<~>', '<%>']) {
      let good = true;
      for (const q of queries) {
        const { rows: got } = await client.query(`SELECT id FROM pg_items ORDER BY binary_embedding ${op} $1 LIMIT 10`, [bitsOf(q)]);
        // Bit distances tie often: compare distances only.
        good = good && inExactOrder(got.map((r) => r.id), byType.binary_embedding, op, bitsOf(q), 10);
      }
      ok(good, `node-postgres ${label}: ORDER BY binary_embedding ${op} $1 LIMIT 10 in exact order`);
    }
  };
  await run('table scan');
  // pgvector's application would create hnsw indexes here: vtree instead.
  await client.query('CREATE INDEX ON pg_items USING vtree (embedding vector_l2_ops)');
  await client.query('CREATE INDEX ON pg_items USING vtree (embedding vector_ip_ops)');
  await client.query('CREATE INDEX ON pg_items USING vtree (embedding vector_cosine_ops)');
  await client.query('CREATE INDEX ON pg_items USING vtree (half_embedding halfvec_l2_ops)');
  await client.query('CREATE INDEX ON pg_items USING vtree (half_embedding halfvec_cosine_ops)');
  await client.query('SET enable_seqscan = off');
  await client.query('SET vtree.probes = 100000');  // every leaf: the exact answer
  const { rows: plan } = await client.query('EXPLAIN SELECT id FROM pg_items ORDER BY half_embedding <=> $1 LIMIT 10', [pgvector.toSql(queries[0])]);
  ok(plan.some((r) => /Index Scan using .*half_embedding/.test(r['QUERY PLAN'])), 'node-postgres: the halfvec query uses its vtree index');
  await run('vtree indexes');
  // binary quantization with a rerank, as pgvector documents it (the cast: binary_quantize
  // takes vector and halfvec, so an untyped parameter is ambiguous, with pgvector too)
  let good = true;
  const codes = new Map([...byType.embedding.entries()].map(([id, v]) => [id, bitsOf(v)]));
  for (const q of queries) {
    const { rows: got } = await client.query(`SELECT id FROM (SELECT id, embedding FROM pg_items
        ORDER BY binary_quantize(embedding)::bit(${dims}) <~> binary_quantize($1::vector) LIMIT 100) s
      ORDER BY embedding <=> $1 LIMIT 5`, [pgvector.toSql(q)]);
    // Each from the 100 nearest codes, in cosine order among themselves.
    const cutoff = [...codes.values()].map((c) => distances['<~>'](c, bitsOf(q))).sort((a, b) => a - b)[99];
    const cos = got.map((r) => distances['<=>'](byType.embedding.get(r.id), q));
    good = good && got.length === 5 && got.every((r) => distances['<~>'](codes.get(r.id), bitsOf(q)) <= cutoff) &&
      cos.every((d, i) => i === 0 || d >= cos[i - 1] - 1e-6);
  }
  ok(good, 'node-postgres: binary-quantized candidates reranked by cosine distance');
  await client.end();
}

async function knexStack(queries) {
  require('pgvector/knex');  // before the instance: it extends Knex's builders
  const knex = require('knex')({ client: 'pg', connection: {} });  // PG* environment variables
  await knex.schema.enableExtension('vectordb');
  await knex.schema.dropTableIfExists('knex_items');
  await knex.schema.createTable('knex_items', (table) => {
    table.increments('id');
    table.vector('embedding', { dimensions: dims });
    table.halfvec('half_embedding', { dimensions: dims });
    table.specificType('binary_embedding', `bit(${dims})`);
    table.sparsevec('sparse_embedding', { dimensions: dims });
  });
  const values = new Map();
  const batch = [];
  for (let i = 0; i < rows; i++) {
    const v = randomVector();
    batch.push({ embedding: pgvector.toSql(v), half_embedding: pgvector.toSql(v), binary_embedding: bitsOf(v),
      sparse_embedding: new SparseVector(sparseOf(v)) });
  }
  await knex('knex_items').insert(batch);
  const back = await knex('knex_items').orderBy('id');
  back.forEach((r) => values.set(r.id, { embedding: fromSql(r.embedding), half_embedding: fromSql(r.half_embedding),
    binary_embedding: r.binary_embedding, sparse_embedding: fromSql(r.sparse_embedding).toArray() }));
  ok(back.length === rows && back.every((r) => fromSql(r.embedding).length === dims), `knex: ${rows} rows inserted and read back`);
  const column = (name) => new Map([...values.entries()].map(([id, v]) => [id, v[name]]));
  const helpers = [
    ['l2Distance', 'embedding', '<->'], ['maxInnerProduct', 'embedding', '<#>'], ['cosineDistance', 'embedding', '<=>'],
    ['l1Distance', 'embedding', '<+>'], ['l2Distance', 'half_embedding', '<->'], ['l2Distance', 'sparse_embedding', '<->'],
  ];
  const check = async (label) => {
    for (const [helper, name, op] of helpers) {
      let good = true;
      for (const q of queries) {
        const arg = name === 'sparse_embedding' ? new SparseVector(q) : q;
        const got = await knex('knex_items').orderBy(knex.client.raw(`?? ${op} ?`, [name, pgvector.toSql(arg)])).limit(10);
        const viaHelper = await knex('knex_items').orderBy(knex[helper](name, arg)).limit(10);
        good = good && inExactOrder(got.map((r) => r.id), column(name), op, q, 10) &&
          viaHelper.map((r) => r.id).join() === got.map((r) => r.id).join();
      }
      ok(good, `knex ${label}: orderBy(knex.${helper}('${name}', q)) in exact order`);
    }
    for (const [helper, op] of [['hammingDistance', '<~>'], ['jaccardDistance', '<%>']]) {
      let good = true;
      for (const q of queries) {
        const got = await knex('knex_items').orderBy(knex[helper]('binary_embedding', bitsOf(q))).limit(10);
        good = good && inExactOrder(got.map((r) => r.id), column('binary_embedding'), op, bitsOf(q), 10);
      }
      ok(good, `knex ${label}: orderBy(knex.${helper}('binary_embedding', q)) in exact order`);
    }
  };
  await check('table scan');
  await knex.raw('CREATE INDEX ON knex_items USING vtree (embedding vector_l2_ops)');
  await knex.raw('CREATE INDEX ON knex_items USING vtree (half_embedding halfvec_l2_ops)');
  // One connection, so that the settings hold for every query.
  await knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL enable_seqscan = off');
    await trx.raw('SET LOCAL vtree.probes = 100000');
    let good = true;
    for (const q of queries) {
      const got = await trx('knex_items').orderBy(trx.client.raw('?? <-> ?', ['embedding', pgvector.toSql(q)])).limit(10);
      good = good && inExactOrder(got.map((r) => r.id), column('embedding'), '<->', q, 10);
    }
    const plan = await trx.raw('EXPLAIN SELECT id FROM knex_items ORDER BY embedding <-> ? LIMIT 10', [pgvector.toSql(queries[0])]);
    ok(good && plan.rows.some((r) => /Index Scan/.test(r['QUERY PLAN'])), 'knex: vtree index scans in exact order');
  });
  await knex.destroy();
}

(async () => {
  const queries = Array.from({ length: 5 }, randomVector);
  try {
    await nodePostgres(queries);
    await knexStack(queries);
  } catch (e) {
    ok(false, `unexpected error: ${e.message}`);
  }
  console.log(`1..${count}`);
  process.exit(failures === 0 ? 0 : 1);
})();
