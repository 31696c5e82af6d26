// libpq helpers for the benchmark driver and the demo (see pg_client.h).
#include "pg_client.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace vectordb {
namespace bench {
namespace {

void put_be16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xFF));
}
void put_be32(std::string& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
void put_be64(std::string& out, uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}

std::string result_error(PGresult* r) {
    std::string e = PQresultErrorMessage(r);
    while (!e.empty() && e.back() == '\n') e.pop_back();
    return e;
}

}  // namespace

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Connection::Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string e = PQerrorMessage(conn_);
        PQfinish(conn_);
        throw std::runtime_error("could not connect: " + e);
    }
    PQsetNoticeProcessor(conn_, &Connection::on_notice, this);
}

void Connection::on_notice(void* self, const char* message) {
    auto* c = static_cast<Connection*>(self);
    std::string m = message;
    while (!m.empty() && m.back() == '\n') m.pop_back();
    // DEBUG lines are collected; warnings and notices are shown as libpq would.
    if (m.rfind("DEBUG:", 0) != 0) std::fprintf(stderr, "%s\n", m.c_str());
    c->notices_.push_back(m);
}

std::vector<std::string> Connection::take_notices() {
    std::vector<std::string> out;
    out.swap(notices_);
    return out;
}

Connection::~Connection() { PQfinish(conn_); }

void Connection::exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const auto status = PQresultStatus(r);
    const std::string error = result_error(r);
    PQclear(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + error);
}

std::string Connection::value(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
        const std::string error = result_error(r);
        PQclear(r);
        throw std::runtime_error(sql + ": " + (error.empty() ? "no row" : error));
    }
    std::string v = PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0);
    PQclear(r);
    return v;
}

int Connection::backend_pid() { return PQbackendPID(conn_); }

std::string vector_binary(const float* v, std::size_t dim) {
    std::string out;
    out.reserve(4 + 4 * dim);
    put_be16(out, static_cast<uint16_t>(dim));
    put_be16(out, 0);
    for (std::size_t j = 0; j < dim; j++) {
        uint32_t bits;
        std::memcpy(&bits, v + j, 4);
        put_be32(out, bits);
    }
    return out;
}

void load_table(Connection& c, const std::string& table, const float* rows, std::size_t n, std::size_t dim,
                const std::string& before_copy) {
    c.exec("DROP TABLE IF EXISTS " + table);
    c.exec("CREATE TABLE " + table + " (id int8 PRIMARY KEY, embedding vector(" + std::to_string(dim) + "))");
    if (!before_copy.empty()) c.exec(before_copy);
    PGresult* r = PQexec(c.get(), ("COPY " + table + " (id, embedding) FROM STDIN (FORMAT binary)").c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        const std::string e = result_error(r);
        PQclear(r);
        throw std::runtime_error("COPY: " + e);
    }
    PQclear(r);
    Progress progress("loading " + table, n);
    std::string buf("PGCOPY\n\377\r\n\0", 11);
    put_be32(buf, 0);  // flags
    put_be32(buf, 0);  // header extension length
    for (std::size_t i = 0; i < n; i++) {
        put_be16(buf, 2);
        put_be32(buf, 8);
        put_be64(buf, i);
        const std::string v = vector_binary(rows + i * dim, dim);
        put_be32(buf, static_cast<uint32_t>(v.size()));
        buf += v;
        if (buf.size() > (1u << 20)) {
            if (PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size())) != 1)
                throw std::runtime_error(PQerrorMessage(c.get()));
            buf.clear();
            progress.update(i + 1);
        }
    }
    put_be16(buf, 0xFFFF);  // end of data
    if (PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size())) != 1 || PQputCopyEnd(c.get(), nullptr) != 1)
        throw std::runtime_error(PQerrorMessage(c.get()));
    r = PQgetResult(c.get());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string e = result_error(r);
    PQclear(r);
    while ((r = PQgetResult(c.get())) != nullptr) PQclear(r);
    if (!ok) throw std::runtime_error("COPY: " + e);
    progress.update(n, "VACUUM ANALYZE");
    c.exec("VACUUM ANALYZE " + table);
    progress.finish(std::to_string(n) + " rows");
}

double create_index_with_progress(Connection& c, const std::string& sql, const std::string& label,
                                  std::string* phases) {
    const int pid = c.backend_pid();
    c.exec("SET client_min_messages = debug1");
    c.take_notices();
    const auto t0 = std::chrono::steady_clock::now();
    if (PQsendQuery(c.get(), sql.c_str()) != 1) throw std::runtime_error(PQerrorMessage(c.get()));
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        try {
            Connection w;
            Progress progress(label, 0);
            while (!done.load()) {
                PGresult* r =
                    PQexec(w.get(), ("SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index "
                                     "WHERE pid = " +
                                     std::to_string(pid))
                                        .c_str());
                if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
                    std::string phase = PQgetvalue(r, 0, 0);
                    const std::string prefix = "building index: ";
                    if (phase.compare(0, prefix.size(), prefix) == 0) phase = phase.substr(prefix.size());
                    const long long done_n = std::atoll(PQgetvalue(r, 0, 1));
                    const long long total = std::atoll(PQgetvalue(r, 0, 2));
                    const bool counted = total > 0 && done_n > 0;
                    progress.update(
                        0, phase + (counted ? " " + std::to_string(done_n) + "/" + std::to_string(total) : ""));
                }
                PQclear(r);
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
            progress.finish("");
        } catch (const std::exception&) {
            // Progress is cosmetic: a watcher that cannot connect stays quiet.
        }
    });
    std::string error;
    while (PGresult* r = PQgetResult(c.get())) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) error = result_error(r);
        PQclear(r);
    }
    const double seconds = seconds_since(t0);
    done.store(true);
    watcher.join();
    c.exec("SET client_min_messages = warning");
    if (!error.empty()) throw std::runtime_error(sql + ": " + error);
    if (phases != nullptr) {
        // "DEBUG:  vtree build: clustering took 4.8 s" -> "clustering 4.8 s"
        phases->clear();
        for (const std::string& n : c.take_notices()) {
            const std::string key = "vtree build: ";
            const auto at = n.find(key);
            if (at == std::string::npos) continue;
            std::string item = n.substr(at + key.size());
            const auto took = item.find(" took ");
            if (took != std::string::npos) item.replace(took, 6, " ");
            *phases += (phases->empty() ? "" : ", ") + item;
        }
    }
    return seconds;
}

void prepare_knn(Connection& c, const std::string& name, const std::string& table, const std::string& op,
                 std::size_t k) {
    PGresult* d = PQexec(c.get(), ("DEALLOCATE " + name).c_str());
    PQclear(d);
    const std::string sql = "SELECT id FROM " + table + " ORDER BY embedding " + op + " $1 LIMIT " + std::to_string(k);
    PGresult* r = PQprepare(c.get(), name.c_str(), sql.c_str(), 1, nullptr);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string e = result_error(r);
    PQclear(r);
    if (!ok) throw std::runtime_error("PREPARE " + sql + ": " + e);
}

PassResult run_pass(Connection& c, const std::string& name, const std::vector<std::string>& params, std::size_t k,
                    const std::string& label) {
    PassResult out;
    out.ids.assign(params.size() * k, -1);
    out.latency_ms.reserve(params.size());
    Progress progress(label, params.size());
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t q = 0; q < params.size(); q++) {
        const char* values[1] = {params[q].data()};
        const int lengths[1] = {static_cast<int>(params[q].size())};
        const int formats[1] = {1};
        const auto tq = std::chrono::steady_clock::now();
        PGresult* r = PQexecPrepared(c.get(), name.c_str(), 1, values, lengths, formats, 0);
        out.latency_ms.push_back(seconds_since(tq) * 1000.0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            const std::string e = result_error(r);
            PQclear(r);
            throw std::runtime_error("query: " + e);
        }
        for (int row = 0; row < PQntuples(r) && row < static_cast<int>(k); row++)
            out.ids[q * k + static_cast<std::size_t>(row)] = std::atoi(PQgetvalue(r, row, 0));
        PQclear(r);
        if (q % 50 == 0) progress.update(q + 1);
    }
    out.seconds = seconds_since(t0);
    progress.finish("");
    return out;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

Progress::Progress(std::string label, std::size_t total)
    : label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void Progress::update(std::size_t done, const std::string& detail) {
    if (label_.empty()) return;  // silent (e.g. one of several concurrent clients)
    const auto now = std::chrono::steady_clock::now();
    // Steps shorter than a second get no bar; redraw at most 5 times a second.
    const bool tty = isatty(STDERR_FILENO);
    // Redrawn in place on a terminal; in a log, one line every few seconds.
    const double every = tty ? 0.2 : 3.0;
    if (seconds_since(start_) < 1.0 || std::chrono::duration<double>(now - last_draw_).count() < every) return;
    last_draw_ = now;
    drawn_ = true;
    std::string bar;
    if (total_ > 0) {
        const std::size_t width = 30, filled = std::min(width, done * width / total_);
        bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
              std::to_string(done * 100 / total_) + "%";
    }
    std::fprintf(stderr, "%s  %-28s %s %s (%.0f s)%s", tty ? "\r\033[K" : "", label_.c_str(), bar.c_str(),
                 detail.c_str(), seconds_since(start_), tty ? "" : "\n");
    std::fflush(stderr);
}

void Progress::finish(const std::string& summary) {
    if (!drawn_) return;
    const bool tty = isatty(STDERR_FILENO);
    std::fprintf(stderr, "%s  %-28s done in %.1f s %s\n", tty ? "\r\033[K" : "", label_.c_str(), seconds_since(start_),
                 summary.c_str());
}

}  // namespace bench
}  // namespace vectordb
