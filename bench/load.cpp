// vectordb_load: N clients sending one k-NN query after another for a fixed
// time, to any server or pooler (scripts/replicas.sh, scripts/shards.sh).
//
// Every client is one libpq connection with the statement prepared once
// (--sql, whose $1 is the query vector, sent in binary); queries are taken
// from an .fvecs file in turn (client i starts at query i). It reports
// queries, errors, QPS and p50/p99 latency, and recall@k when given an .ivecs
// ground truth. With --reconnect, a client whose query fails (a server that
// stops, a pooler that drops the session) counts the error, reconnects and
// goes on; without it, the first error ends the run with status 1.
// --timeline prints, each second, the queries answered and errors seen in it.
//
//   vectordb_load --queries q.fvecs | --queries-from "SELECT v FROM queries ORDER BY qid"
//                 [--sql "SELECT id FROM t ORDER BY v <-> $1 LIMIT 10"]
//                 [--conninfo "host=... port=..."] [--clients 1] [--seconds 10] [--warmup 2]
//                 [--setup "SET vtree.probes = 8"]... [--truth gt.ivecs --k 10]
//                 [--reconnect] [--timeline] [--label NAME] [--timeout 5]
// A query (or connection) that has no answer within --timeout seconds counts as an error, and with
// --reconnect the client drops that session and starts a new one.
// The summary is one line of name=value pairs, e.g.
//   load label=pgpool clients=8 seconds=10.0 queries=31234 errors=0 qps=3123.4 p50_ms=2.41 p99_ms=6.02 recall=0.9712
//        answered_with_warmup=37590
// (queries, QPS and latency are of the measured time; answered_with_warmup counts every answer.)
#include "core/dataset.h"

#include "pg_client.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace vectordb;
using namespace vectordb::bench;

namespace {

struct Options {
    std::string conninfo;
    std::string queries_path, truth_path;
    std::string queries_from;  // SQL whose first column is the query vectors
    std::string sql = "SELECT id FROM items ORDER BY v <-> $1 LIMIT 10";
    std::vector<std::string> setup;
    std::string label = "load";
    int clients = 1;
    double seconds = 10;
    double warmup = 2;
    double timeout = 5;  // seconds a query may take before the client gives up on its session
    std::size_t k = 10;
    bool reconnect = false;
    bool timeline = false;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr, "vectordb_load: %s (options: see the top of bench/load.cpp)\n", why.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value for " + a);
            return argv[++i];
        };
        if (a == "--conninfo")
            o.conninfo = value();
        else if (a == "--queries")
            o.queries_path = value();
        else if (a == "--queries-from")
            o.queries_from = value();
        else if (a == "--truth")
            o.truth_path = value();
        else if (a == "--sql")
            o.sql = value();
        else if (a == "--setup")
            o.setup.push_back(value());
        else if (a == "--label")
            o.label = value();
        else if (a == "--clients")
            o.clients = std::max(1, std::stoi(value()));
        else if (a == "--seconds")
            o.seconds = std::stod(value());
        else if (a == "--warmup")
            o.warmup = std::stod(value());
        else if (a == "--timeout")
            o.timeout = std::max(1.0, std::stod(value()));
        else if (a == "--k")
            o.k = std::stoul(value());
        else if (a == "--reconnect")
            o.reconnect = true;
        else if (a == "--timeline")
            o.timeline = true;
        else
            usage("unknown option " + a);
    }
    if (o.queries_path.empty() == o.queries_from.empty()) usage("give one of --queries and --queries-from");
    return o;
}

// What one client saw during the measured time.
struct ClientResult {
    std::vector<double> latency_ms;
    std::size_t errors = 0;
    std::size_t answered = 0;  // warm-up included (for CPU time per query measured from outside)
    std::size_t found = 0;     // ground-truth neighbours returned (recall numerator)
    std::size_t expected = 0;  // ground-truth neighbours asked for
    std::string first_error;
};

// The result of the command just sent (`sent`: what PQsend... returned),
// waiting at most `timeout` seconds: a pooler can leave a session hanging when
// a node fails under it, and a client that waits forever would end no run.
// Later results of the command are discarded. Unless the result is a success,
// *error says why: the server's message, the lost connection, or the timeout
// (the result is then null).
PGresult* command_result(PGconn* conn, int sent, double timeout, std::string* error) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    PGresult* first = nullptr;
    while (sent == 1) {
        // Every PQgetResult, the last one (which waits for the server to be
        // ready again) included, only once libpq would not block.
        while (PQisBusy(conn)) {
            const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) {
                PQclear(first);
                *error = "no answer within " + std::to_string(static_cast<int>(timeout)) + " s";
                return nullptr;
            }
            pollfd fd{PQsocket(conn), POLLIN, 0};
            if (poll(&fd, 1, static_cast<int>(left * 1000) + 1) < 0 && errno != EINTR) break;
            if (PQconsumeInput(conn) == 0) break;  // the connection is gone: PQgetResult reports it
        }
        PGresult* r = PQgetResult(conn);
        if (r == nullptr) break;
        if (first == nullptr)
            first = r;
        else
            PQclear(r);
        if (PQstatus(conn) != CONNECTION_OK) break;
    }
    const ExecStatusType status = PQresultStatus(first);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
        *error = first != nullptr && *PQresultErrorMessage(first) != '\0' ? PQresultErrorMessage(first)
                                                                          : PQerrorMessage(conn);
    return first;
}

// Queries answered and errors seen in each second of the measured time.
class Timeline {
public:
    explicit Timeline(std::size_t seconds) : answered_(seconds + 1), errors_(seconds + 1) {}
    void add(double at_seconds, bool error) {
        const auto s = std::min(answered_.size() - 1, static_cast<std::size_t>(std::max(0.0, at_seconds)));
        std::lock_guard<std::mutex> lock(mutex_);
        (error ? errors_ : answered_)[s]++;
    }
    void print(const std::string& label) const {
        for (std::size_t s = 0; s + 1 < answered_.size(); s++)
            std::printf("timeline label=%s second=%zu answered=%zu errors=%zu\n", label.c_str(), s, answered_[s],
                        errors_[s]);
    }

private:
    std::mutex mutex_;
    std::vector<std::size_t> answered_, errors_;
};

class Client {
public:
    Client(const Options& o, const std::vector<std::string>& params, const std::vector<int32_t>& truth,
           std::size_t truth_k)
        : o_(o), params_(params), truth_(truth), truth_k_(truth_k) {}

    // Connects and prepares; false (with the reason in *why) if it cannot.
    bool connect(std::string* why) {
        try {
            conn_.reset();
            conn_ = std::make_unique<Connection>(o_.conninfo +
                                                 " connect_timeout=" + std::to_string(int(o_.timeout + 0.999)));
            for (const std::string& s : o_.setup) conn_->exec(s);
            PGresult* r = command_result(conn_->get(), PQsendPrepare(conn_->get(), "knn", o_.sql.c_str(), 1, nullptr),
                                         o_.timeout, why);
            const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            return ok;
        } catch (const std::exception& e) {
            *why = e.what();
            conn_.reset();
            return false;
        }
    }

    // Runs until `stop_at` (seconds since t0); latencies count only from `measure_from`.
    ClientResult run(std::size_t first_query, std::chrono::steady_clock::time_point t0, double measure_from,
                     double stop_at, Timeline* timeline) {
        ClientResult out;
        std::size_t q = first_query % params_.size();
        std::string why;
        bool connected = connect(&why);
        if (!connected && !o_.reconnect) {
            out.errors++;
            out.first_error = why;
            return out;
        }
        for (double now = seconds_since(t0); now < stop_at; now = seconds_since(t0)) {
            const bool measured = now >= measure_from;
            if (!connected) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                connected = connect(&why);
                continue;
            }
            const char* values[1] = {params_[q].data()};
            const int lengths[1] = {static_cast<int>(params_[q].size())};
            const int formats[1] = {1};
            const auto tq = std::chrono::steady_clock::now();
            std::string e;
            PGresult* r = command_result(
                conn_->get(), PQsendQueryPrepared(conn_->get(), "knn", 1, values, lengths, formats, 0), o_.timeout, &e);
            const double ms = seconds_since(tq) * 1000.0;
            const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            if (ok) out.answered++;
            if (ok && measured) {
                out.latency_ms.push_back(ms);
                if (!truth_.empty()) score(r, q, &out);
            }
            if (!ok) {
                // Errors count in the warm-up too: a run is only as good as its worst second.
                out.errors++;
                if (out.first_error.empty()) out.first_error = e;
                if (!o_.reconnect) {
                    PQclear(r);
                    return out;
                }
                // The session may be gone (the pooler drops it when a node fails): start a new one.
                connected = connect(&why);
            }
            if (measured && timeline != nullptr) timeline->add(now - measure_from, !ok);
            PQclear(r);
            q = (q + 1) % params_.size();
        }
        return out;
    }

private:
    void score(PGresult* r, std::size_t q, ClientResult* out) const {
        const std::size_t k = std::min(o_.k, truth_k_);
        const int32_t* want = truth_.data() + q * truth_k_;
        for (int row = 0; row < PQntuples(r) && static_cast<std::size_t>(row) < o_.k; row++) {
            const int32_t id = std::atoi(PQgetvalue(r, row, 0));
            if (std::find(want, want + k, id) != want + k) out->found++;
        }
        out->expected += k;
    }

    const Options& o_;
    const std::vector<std::string>& params_;
    const std::vector<int32_t>& truth_;
    std::size_t truth_k_;
    std::unique_ptr<Connection> conn_;
};

// The query vectors of an .fvecs file, in the vector type's binary form.
std::vector<std::string> read_queries(const std::string& path) {
    std::size_t dim = 0;
    const std::vector<float> queries = read_fvecs(path, &dim);
    std::vector<std::string> params;
    for (std::size_t q = 0; dim > 0 && q < queries.size() / dim; q++)
        params.push_back(vector_binary(queries.data() + q * dim, dim));
    if (params.empty()) usage("no query vectors in " + path);
    return params;
}

// The query vectors a query returns, fetched in binary: a vector's binary
// output is its binary input, so they are sent back as they came.
std::vector<std::string> fetch_queries(const Options& o) {
    Connection c(o.conninfo);
    PGresult* r = PQexecParams(c.get(), o.queries_from.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const std::string e = PQresultErrorMessage(r);
        PQclear(r);
        throw std::runtime_error(o.queries_from + ": " + e);
    }
    std::vector<std::string> params;
    for (int row = 0; row < PQntuples(r); row++)
        params.emplace_back(PQgetvalue(r, row, 0), static_cast<std::size_t>(PQgetlength(r, row, 0)));
    PQclear(r);
    if (params.empty()) usage("no query vectors from " + o.queries_from);
    return params;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    try {
        const std::vector<std::string> params =
            o.queries_from.empty() ? read_queries(o.queries_path) : fetch_queries(o);
        const std::size_t rows = params.size();
        std::vector<int32_t> truth;
        std::size_t truth_k = 0;
        if (!o.truth_path.empty()) {
            truth = read_ivecs(o.truth_path, &truth_k, rows);
            if (truth.size() / std::max<std::size_t>(1, truth_k) < rows) usage("fewer ground-truth rows than queries");
        }

        std::vector<std::unique_ptr<Client>> clients;
        for (int i = 0; i < o.clients; i++) clients.push_back(std::make_unique<Client>(o, params, truth, truth_k));
        std::vector<ClientResult> results(clients.size());
        Timeline timeline(static_cast<std::size_t>(o.seconds + 0.999));
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < clients.size(); i++)
            threads.emplace_back([&, i] {
                results[i] =
                    clients[i]->run(i * 7919, t0, o.warmup, o.warmup + o.seconds, o.timeline ? &timeline : nullptr);
            });
        for (std::thread& t : threads) t.join();

        std::vector<double> latency;
        std::size_t errors = 0, found = 0, expected = 0, answered = 0;
        std::string first_error;
        for (const ClientResult& r : results) {
            latency.insert(latency.end(), r.latency_ms.begin(), r.latency_ms.end());
            errors += r.errors;
            answered += r.answered;
            found += r.found;
            expected += r.expected;
            if (first_error.empty()) first_error = r.first_error;
        }
        if (o.timeline) timeline.print(o.label);
        std::printf("load label=%s clients=%d seconds=%.1f queries=%zu errors=%zu qps=%.1f p50_ms=%.3f p99_ms=%.3f",
                    o.label.c_str(), o.clients, o.seconds, latency.size(), errors,
                    static_cast<double>(latency.size()) / o.seconds, percentile(latency, 0.5),
                    percentile(latency, 0.99));
        if (expected > 0) std::printf(" recall=%.4f", static_cast<double>(found) / static_cast<double>(expected));
        std::printf(" answered_with_warmup=%zu\n", answered);
        while (!first_error.empty() && first_error.back() == '\n') first_error.pop_back();
        if (!first_error.empty()) std::fprintf(stderr, "vectordb_load: first error: %s\n", first_error.c_str());
        return errors > 0 && !o.reconnect ? 1 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vectordb_load: %s\n", e.what());
        return 1;
    }
}
