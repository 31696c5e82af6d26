// Unit tests for the mmap vector store (src/core/vector_store.h). Each test
// works in a fresh mkdtemp directory under /tmp, removed afterwards. The file
// layout is checked against the documented offsets with an FNV-1a written
// here independently of the store's own.
#include "core/errors.h"
#include "core/half.h"
#include "core/random.h"
#include "core/vector_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace vectordb {
namespace {

static_assert(!std::is_copy_constructible<VectorStore>::value, "VectorStore must not be copyable");
static_assert(!std::is_copy_assignable<VectorStore>::value, "VectorStore must not be copyable");
static_assert(std::is_nothrow_move_constructible<VectorStore>::value, "VectorStore must be movable");
static_assert(std::is_nothrow_move_assignable<VectorStore>::value, "VectorStore must be movable");

// Records to store: random tags and random float bit patterns (NaN payloads included).
struct Records {
    std::uint32_t dim = 0;
    std::vector<std::uint64_t> tags;
    std::vector<float> vecs;

    const float* vec(std::size_t i) const { return vecs.data() + i * dim; }
};

Records random_records(std::uint32_t dim, std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Records r;
    r.dim = dim;
    r.tags.resize(n);
    r.vecs.resize(n * dim);
    for (auto& t : r.tags) t = rng();
    for (auto& v : r.vecs) {
        const std::uint32_t bits = static_cast<std::uint32_t>(rng());
        std::memcpy(&v, &bits, sizeof v);
    }
    return r;
}

// Deterministic content for the threaded tests, so readers need no shared data.
std::uint64_t tag_of(std::uint64_t slot) { return slot * 0x9E3779B97F4A7C15ULL + 1; }
float value_of(std::uint64_t slot, std::uint32_t j) { return static_cast<float>(slot) * 0.5f + static_cast<float>(j); }

// True when slot of `store` holds exactly record i of `r`, through every read path.
::testing::AssertionResult holds(const VectorStore& store, std::uint64_t slot, const Records& r, std::size_t i) {
    if (store.tag(slot) != r.tags[i]) return ::testing::AssertionFailure() << "tag of slot " << slot;
    if (std::memcmp(store.vector(slot), r.vec(i), sizeof(float) * r.dim) != 0)
        return ::testing::AssertionFailure() << "vector of slot " << slot;
    std::uint64_t tag = 0;
    std::vector<float> copy(r.dim);
    if (!store.read(slot, &tag, copy.data())) return ::testing::AssertionFailure() << "read of slot " << slot;
    if (!store.verify(slot)) return ::testing::AssertionFailure() << "checksum of slot " << slot;
    if (tag != r.tags[i] || std::memcmp(copy.data(), r.vec(i), sizeof(float) * r.dim) != 0)
        return ::testing::AssertionFailure() << "copy of slot " << slot;
    return ::testing::AssertionSuccess();
}

// Expects f() to throw exactly type Ex with `needle` in its message.
template <typename Ex, typename F>
void expect_error(F&& f, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "no exception; expected one mentioning \"" << needle << "\"";
    } catch (const Ex& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type; message: " << e.what();
    }
}

std::vector<unsigned char> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good());
}

std::uint64_t get_le(const std::vector<unsigned char>& b, std::size_t offset, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[offset + static_cast<std::size_t>(i)];
    return v;
}

void put_le(std::vector<unsigned char>& b, std::size_t offset, int bytes, std::uint64_t v) {
    for (int i = 0; i < bytes; ++i) b[offset + static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * i));
}

// FNV-1a/64 over header bytes [0, 64) and [72, 4096), as documented.
std::uint64_t spec_checksum(const std::vector<unsigned char>& b) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < 4096; ++i) {
        if (i >= 64 && i < 72) continue;
        h = (h ^ b[i]) * 0x100000001b3ULL;
    }
    return h;
}

// Writes header bytes `b` edited by a test back to `path` with a checksum that
// matches them, so that only the edit itself can be what a check rejects.
void write_resealed(const std::string& path, std::vector<unsigned char>& b) {
    put_le(b, 64, 8, spec_checksum(b));
    write_bytes(path, b);
}

class VectorStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vectordb_store_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }

    // A valid store of 5 random 3-dimensional records, closed.
    std::string small_store() {
        const std::string path = file("small.bin");
        const Records r = random_records(3, 5, 11);
        VectorStore s = VectorStore::create(path, 3, StoreIdentity{4, 1, 2, 3});
        s.append_batch(r.tags.data(), r.vecs.data(), 5);
        s.sync();
        return path;
    }

    // Writes the first n of r to a new store at path and syncs it.
    static void synced_store(const std::string& path, std::uint32_t dim, const Records& r, std::size_t n) {
        VectorStore w = VectorStore::create(path, dim, StoreIdentity{});
        w.append_batch(r.tags.data(), r.vecs.data(), n);
        w.sync();
    }

    std::string dir_;
};

TEST_F(VectorStoreTest, RoundTripIsBitExactForSeveralDimensions) {
    for (std::uint32_t dim : {1u, 2u, 3u, 5u, 768u}) {
        SCOPED_TRACE("dim " + std::to_string(dim));
        const std::string path = file("v" + std::to_string(dim) + ".bin");
        const std::size_t n = 50;
        const Records r = random_records(dim, n, dim);
        {
            VectorStore s = VectorStore::create(path, dim, StoreIdentity{});
            for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(s.append(r.tags[i], r.vec(i)), i);
            s.append_batch(r.tags.data() + 20, r.vec(20), n - 20);
            EXPECT_EQ(s.size(), 0u) << "appends must not be readable before flush";
            s.flush();
            ASSERT_EQ(s.size(), n);
            EXPECT_EQ(s.dim(), dim);
            EXPECT_EQ(s.path(), path);
            for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(holds(s, i, r, i));
        }
        VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
        ASSERT_EQ(s.size(), n);
        EXPECT_EQ(s.dim(), dim);
        for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(holds(s, i, r, i));

        // The records on disk follow the documented layout, padding zeroed.
        const std::vector<unsigned char> b = file_bytes(path);
        const std::size_t rs = store_record_size(dim);
        EXPECT_EQ(rs % 8, 0u);
        EXPECT_GE(rs, 12 + 4 * std::size_t(dim));
        EXPECT_LT(rs, 20 + 4 * std::size_t(dim));
        ASSERT_EQ(b.size(), 4096 + n * rs);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = 4096 + i * rs;
            EXPECT_EQ(get_le(b, at, 8), r.tags[i]);
            EXPECT_EQ(std::memcmp(&b[at + 8], r.vec(i), 4 * dim), 0);
            EXPECT_EQ(get_le(b, at + 8 + 4 * dim, 4), record_checksum(i, r.tags[i], r.vec(i), dim));
            for (std::size_t p = 12 + 4 * dim; p < rs; ++p) EXPECT_EQ(b[at + p], 0) << "padding of record " << i;
        }
    }
}

TEST_F(VectorStoreTest, HeaderFollowsDocumentedLayout) {
    const std::string path = file("h.bin");
    const StoreIdentity id{0x7766554433221100ULL, 0x1122334455667788ULL, 42, 9};
    const Records r = random_records(10, 3, 5);
    {
        VectorStore s = VectorStore::create(path, 10, id);
        s.append_batch(r.tags.data(), r.vecs.data(), 3);
        s.flush();
    }
    const std::vector<unsigned char> b = file_bytes(path);
    ASSERT_EQ(b.size(), 4096u + 3 * 56);
    EXPECT_EQ(std::memcmp(b.data(), "VDBVECS\0", 8), 0);
    EXPECT_EQ(get_le(b, 8, 4), 3u);
    EXPECT_EQ(get_le(b, 12, 4), 10u);
    EXPECT_EQ(get_le(b, 16, 8), 3u);
    EXPECT_EQ(get_le(b, 24, 4), 56u);
    EXPECT_EQ(get_le(b, 28, 4), 0u);
    EXPECT_EQ(get_le(b, 32, 8), id.system_id);
    EXPECT_EQ(get_le(b, 40, 8), id.database_id);
    EXPECT_EQ(get_le(b, 48, 8), id.index_id);
    EXPECT_EQ(get_le(b, 56, 8), id.generation);
    EXPECT_EQ(get_le(b, 64, 8), spec_checksum(b));
    for (std::size_t i = 72; i < 4096; ++i) ASSERT_EQ(b[i], 0) << "header byte " << i;
}

TEST_F(VectorStoreTest, ReopenForWritingContinuesTheSlots) {
    const std::string path = file("rw.bin");
    const Records r = random_records(16, 10, 3);
    {
        VectorStore s = VectorStore::create(path, 16, StoreIdentity{});
        s.append_batch(r.tags.data(), r.vecs.data(), 5);
        s.sync();
    }
    {
        VectorStore s = VectorStore::open(path, OpenMode::ReadWrite);
        ASSERT_EQ(s.size(), 5u);
        EXPECT_EQ(s.append(r.tags[5], r.vec(5)), 5u);
        s.append_batch(r.tags.data() + 6, r.vec(6), 4);
        s.flush();
        EXPECT_EQ(s.size(), 10u);
    }
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    ASSERT_EQ(s.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) EXPECT_TRUE(holds(s, i, r, i));
    expect_error<InvalidArgument>([&] { s.append(1, r.vec(0)); }, "read-only");
    expect_error<InvalidArgument>([&] { s.append_batch(r.tags.data(), r.vecs.data(), 1); }, "read-only");
}

TEST_F(VectorStoreTest, OnlyFlushedRecordsCountAndDestructorDiscardsTheRest) {
    const std::string path = file("pending.bin");
    const Records r = random_records(4, 5, 8);
    {
        VectorStore w = VectorStore::create(path, 4, StoreIdentity{});
        w.append_batch(r.tags.data(), r.vecs.data(), 3);
        EXPECT_EQ(w.size(), 0u);
        EXPECT_EQ(VectorStore::open(path, OpenMode::ReadOnly).size(), 0u);
        w.flush();
        EXPECT_EQ(w.size(), 3u);
        EXPECT_EQ(VectorStore::open(path, OpenMode::ReadOnly).size(), 3u);
        w.append_batch(r.tags.data() + 3, r.vec(3), 2);  // never flushed
    }
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    ASSERT_EQ(s.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(holds(s, i, r, i));
}

TEST_F(VectorStoreTest, BatchOfTenThousandThenRandomReads) {
    const std::string path = file("batch.bin");
    const std::uint32_t dim = 37;  // 160-byte records: padding, and several 1 MiB buffers
    const std::size_t n = 10000;
    const Records r = random_records(dim, n, 77);
    {
        VectorStore s = VectorStore::create(path, dim, StoreIdentity{});
        std::size_t done = 0;
        for (std::size_t chunk : {1000u, 1u, 4321u}) {
            s.append_batch(r.tags.data() + done, r.vec(done), chunk);
            done += chunk;
        }
        s.append_batch(r.tags.data() + done, r.vec(done), n - done);
        s.sync();
        EXPECT_EQ(s.size(), n);
    }
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    ASSERT_EQ(s.size(), n);
    EXPECT_EQ(std::filesystem::file_size(path), 4096u + n * store_record_size(dim));
    std::mt19937_64 rng(5);
    for (int k = 0; k < 5000; ++k) {
        const std::size_t i = rng() % n;
        ASSERT_TRUE(holds(s, i, r, i));
    }
    EXPECT_TRUE(holds(s, 0, r, 0));
    EXPECT_TRUE(holds(s, n - 1, r, n - 1));
}

TEST_F(VectorStoreTest, BoundsAreChecked) {
    const std::string path = file("bounds.bin");
    const Records r = random_records(6, 3, 1);
    VectorStore s = VectorStore::create(path, 6, StoreIdentity{});
    expect_error<InvalidArgument>([&] { s.vector(0); }, "out of range");
    s.append_batch(r.tags.data(), r.vecs.data(), 3);
    expect_error<InvalidArgument>([&] { s.vector(0); }, "out of range");  // not flushed yet
    s.flush();
    EXPECT_TRUE(holds(s, 2, r, 2));
    for (std::uint64_t bad : {std::uint64_t(3), std::uint64_t(4), UINT64_MAX}) {
        expect_error<InvalidArgument>([&] { s.vector(bad); }, "slot " + std::to_string(bad) + " is out of range");
        expect_error<InvalidArgument>([&] { s.tag(bad); }, "out of range");
        std::uint64_t tag = 123;
        std::vector<float> out(6, -1.0f);
        EXPECT_FALSE(s.read(bad, &tag, out.data()));
        EXPECT_EQ(tag, 123u);
        EXPECT_EQ(out, std::vector<float>(6, -1.0f));
    }
    std::uint64_t tag = 0;
    EXPECT_TRUE(s.read(1, &tag, nullptr));
    EXPECT_EQ(tag, r.tags[1]);

    expect_error<InvalidArgument>([&] { s.append(1, nullptr); }, "null");
    expect_error<InvalidArgument>([&] { VectorStore::create(file("d0.bin"), 0, StoreIdentity{}); }, "dimensions");
    expect_error<InvalidArgument>(
        [&] { VectorStore::create(file("dbig.bin"), kMaxStoreDimensions + 1, StoreIdentity{}); }, "dimensions");
    EXPECT_FALSE(std::filesystem::exists(file("d0.bin")));
    EXPECT_FALSE(std::filesystem::exists(file("dbig.bin")));
}

TEST_F(VectorStoreTest, FileModeIs0600WhateverTheUmask) {
    for (mode_t mask : {mode_t(0), mode_t(022), mode_t(0277)}) {
        const std::string path = file("mode" + std::to_string(mask) + ".bin");
        const mode_t old = ::umask(mask);
        try {
            VectorStore::create(path, 4, StoreIdentity{});
        } catch (...) {
            ::umask(old);
            throw;
        }
        ::umask(old);
        struct stat st;
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0600u) << "umask " << mask;
    }
}

TEST_F(VectorStoreTest, IdentityRoundTrips) {
    const std::string path = file("id.bin");
    const StoreIdentity id{0xfedcba9876543210ULL, UINT64_MAX, 0x0123456789abcdefULL, 7};
    {
        VectorStore s = VectorStore::create(path, 2, id);
        EXPECT_EQ(s.identity(), id);
    }
    const StoreIdentity back = VectorStore::open(path, OpenMode::ReadOnly).identity();
    EXPECT_EQ(back.database_id, UINT64_MAX);
    EXPECT_EQ(back.system_id, 0xfedcba9876543210ULL);
    EXPECT_EQ(back.index_id, 0x0123456789abcdefULL);
    EXPECT_EQ(back.generation, 7u);
    EXPECT_NE(back, (StoreIdentity{0xfedcba9876543210ULL, UINT64_MAX, 0x0123456789abcdefULL, 8}));
    EXPECT_NE(back, (StoreIdentity{1, UINT64_MAX, 0x0123456789abcdefULL, 7}));
}

TEST_F(VectorStoreTest, CreateFailsIfTheFileExists) {
    const std::string path = small_store();
    expect_error<IoError>([&] { VectorStore::create(path, 3, StoreIdentity{}); }, "File exists");
    expect_error<IoError>([&] { VectorStore::create(path, 3, StoreIdentity{}); }, path);
    // The existing file is left alone.
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    EXPECT_EQ(s.size(), 5u);
    EXPECT_EQ(s.identity(), (StoreIdentity{4, 1, 2, 3}));
}

TEST_F(VectorStoreTest, MissingFileIsIoError) {
    for (OpenMode mode : {OpenMode::ReadOnly, OpenMode::ReadWrite}) {
        expect_error<IoError>([&] { VectorStore::open(file("nope.bin"), mode); }, "No such file or directory");
        expect_error<IoError>([&] { VectorStore::open(file("nope.bin"), mode); }, file("nope.bin"));
    }
    expect_error<IoError>([&] { VectorStore::open(dir_, OpenMode::ReadOnly); }, "not a regular file");
}

TEST_F(VectorStoreTest, FileShorterThanHeaderIsRejected) {
    const std::string path = small_store();
    for (off_t size : {off_t(0), off_t(100), off_t(4095)}) {
        ASSERT_EQ(::truncate(path.c_str(), size), 0);
        for (OpenMode mode : {OpenMode::ReadOnly, OpenMode::ReadWrite})
            expect_error<DataError>([&] { VectorStore::open(path, mode); }, "less than its 4096-byte header");
    }
}

TEST_F(VectorStoreTest, FileTruncatedInsideTheRecordsIsRejected) {
    const std::string path = small_store();
    ASSERT_EQ(::truncate(path.c_str(), 4096 + 2 * 24 + 10), 0);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "is truncated");
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadWrite); }, "2 whole records and a partial");
    ASSERT_EQ(::truncate(path.c_str(), 4096 + 3 * 24), 0);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "declares 5 records");
}

TEST_F(VectorStoreTest, BytesBeyondTheCountedRecordsAreIgnored) {
    const std::string path = small_store();
    std::vector<unsigned char> b = file_bytes(path);
    b.resize(b.size() + 10, 0xAB);  // a partial record another process is still writing
    write_bytes(path, b);
    for (OpenMode mode : {OpenMode::ReadOnly, OpenMode::ReadWrite}) {
        VectorStore s = VectorStore::open(path, mode);
        EXPECT_EQ(s.size(), 5u);
    }
    // A writer appends over the stray bytes.
    {
        VectorStore w = VectorStore::open(path, OpenMode::ReadWrite);
        const float v[3] = {1, 2, 3};
        EXPECT_EQ(w.append(77, v), 5u);
        w.flush();
    }
    VectorStore r = VectorStore::open(path, OpenMode::ReadOnly);
    ASSERT_EQ(r.size(), 6u);
    EXPECT_EQ(r.tag(5), 77u);
}

// Every way a record can go bad on disk: a torn write (part of the bytes from
// an older state), zeros where a write never landed, one flipped bit, a tag
// or checksum changed, a record copied to another slot. Each fails verify()
// and read(), and leaves its neighbours readable.
TEST_F(VectorStoreTest, DamagedRecordsFailTheirChecksum) {
    for (std::uint32_t dim : {1u, 2u, 3u, 7u, 8u, 768u}) {
        SCOPED_TRACE("dim " + std::to_string(dim));
        const std::string path = file("damaged" + std::to_string(dim) + ".bin");
        const Records r = random_records(dim, 6, dim);
        {
            VectorStore s = VectorStore::create(path, dim, StoreIdentity{1, 2, 3, 4});
            s.append_batch(r.tags.data(), r.vecs.data(), 6);
            s.flush();
        }
        const std::vector<unsigned char> good = file_bytes(path);
        const std::size_t rs = store_record_size(dim);
        const auto at = [&](std::size_t slot) { return std::size_t{4096} + slot * rs; };
        using Damage = std::function<void(std::vector<unsigned char>&)>;
        const std::vector<std::pair<std::string, Damage>> damages = {
            {"zeroed", [&](std::vector<unsigned char>& b) { std::fill_n(b.begin() + at(2), rs, 0); }},
            {"torn: second half zeroed",
             [&](std::vector<unsigned char>& b) { std::fill_n(b.begin() + at(2) + rs / 2, rs - rs / 2, 0); }},
            {"one bit of the last float", [&](std::vector<unsigned char>& b) { b[at(2) + 8 + 4 * dim - 1] ^= 1; }},
            {"tag changed", [&](std::vector<unsigned char>& b) { b[at(2)] ^= 0x40; }},
            {"checksum changed", [&](std::vector<unsigned char>& b) { b[at(2) + 8 + 4 * dim] ^= 0x02; }},
            {"record 1 copied over record 2",
             [&](std::vector<unsigned char>& b) { std::copy_n(good.begin() + at(1), rs, b.begin() + at(2)); }},
        };
        for (const auto& [what, damage] : damages) {
            SCOPED_TRACE(what);
            std::vector<unsigned char> b = good;
            damage(b);
            write_bytes(path, b);
            VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
            std::uint64_t tag = 0;
            std::vector<float> out(dim);
            EXPECT_FALSE(s.verify(2));
            EXPECT_FALSE(s.read(2, &tag, out.data()));
            EXPECT_FALSE(s.read(2, &tag, nullptr));
            for (std::size_t i : {0u, 1u, 3u, 5u}) EXPECT_TRUE(holds(s, i, r, i)) << "slot " << i;
        }
    }
}

// A replica rebuilds its primary's records at the primary's slots: out of
// order, past the end, over damaged ones; slots never written fail their
// checksum, and the count covers the highest slot written.
TEST_F(VectorStoreTest, WriteAtPlacesRecordsAtTheirSlots) {
    const std::string path = file("write_at.bin");
    const std::uint32_t dim = 5;
    const Records r = random_records(dim, 10, 7);
    {
        VectorStore s = VectorStore::create(path, dim, StoreIdentity{1, 2, 3, 4});
        s.append_batch(r.tags.data(), r.vecs.data(), 2);  // slots 0, 1
        s.flush();
        s.write_at(7, r.tags[7], r.vec(7));
        s.write_at(4, r.tags[4], r.vec(4));
        s.write_at(1, r.tags[1], r.vec(1));  // over an existing record: the same bytes
        EXPECT_EQ(s.size(), 2u) << "written records are readable only after flush()";
        s.flush();
        EXPECT_EQ(s.size(), 8u);
    }
    VectorStore s = VectorStore::open(path, OpenMode::ReadWrite);
    ASSERT_EQ(s.size(), 8u);
    for (std::size_t i : {0u, 1u, 4u, 7u}) EXPECT_TRUE(holds(s, i, r, i)) << "slot " << i;
    for (std::size_t i : {2u, 3u, 5u, 6u}) EXPECT_FALSE(s.verify(i)) << "slot " << i << " was never written";
    s.append(r.tags[8], r.vec(8));
    expect_error<InvalidArgument>([&] { s.write_at(9, r.tags[9], r.vec(9)); }, "buffered appends");
    s.flush();
    EXPECT_TRUE(holds(s, 8, r, 8));
    s.extend_to(20);
    s.flush();
    EXPECT_EQ(s.size(), 20u);
    for (std::size_t i = 9; i < 20; i++) EXPECT_FALSE(s.verify(i)) << "slot " << i << " only counted";
    s.extend_to(5);  // never shrinks
    s.flush();
    EXPECT_EQ(VectorStore::open(path, OpenMode::ReadOnly).size(), 20u);
}

TEST_F(VectorStoreTest, RecordChecksumCoversSlotTagAndEveryValue) {
    std::vector<float> v(37);
    for (std::size_t j = 0; j < v.size(); j++) v[j] = static_cast<float>(j) * 0.25f - 3.0f;
    const std::uint32_t base = record_checksum(5, 99, v.data(), 37);
    EXPECT_EQ(base, record_checksum(5, 99, v.data(), 37));
    EXPECT_NE(base, record_checksum(6, 99, v.data(), 37));
    EXPECT_NE(base, record_checksum(5, 98, v.data(), 37));
    EXPECT_NE(base, record_checksum(5, 99, v.data(), 36));
    for (std::size_t j = 0; j < v.size(); j++) {
        std::vector<float> w = v;
        w[j] = std::nextafter(w[j], 1e9f);
        EXPECT_NE(base, record_checksum(5, 99, w.data(), 37)) << "value " << j;
    }
    const std::vector<float> zeros(37, 0.0f);
    EXPECT_NE(record_checksum(5, 0, zeros.data(), 37), 0u) << "a record of zeros must not pass";
}

TEST_F(VectorStoreTest, SpilledButUnflushedRecordsAreNotCounted) {
    const std::string path = file("spilled.bin");
    const std::uint32_t dim = 256;  // 1040-byte records: 1008 fit in the 1 MiB buffer
    const Records r = random_records(dim, 2000, 4);
    {
        VectorStore s = VectorStore::create(path, dim, StoreIdentity{});
        s.append_batch(r.tags.data(), r.vecs.data(), 2000);  // the first buffer is written; no flush
    }
    EXPECT_GT(std::filesystem::file_size(path), 4096u);
    EXPECT_EQ(VectorStore::open(path, OpenMode::ReadOnly).size(), 0u);
}

TEST_F(VectorStoreTest, RefreshSeesAnotherWritersAppends) {
    const std::string path = file("shared.bin");
    const std::uint32_t dim = 8;
    const Records r = random_records(dim, 300, 11);
    VectorStore::create(path, dim, StoreIdentity{4, 1, 2, 3}).flush();
    VectorStore a = VectorStore::open(path, OpenMode::ReadWrite);
    VectorStore b = VectorStore::open(path, OpenMode::ReadWrite);
    VectorStore reader = VectorStore::open(path, OpenMode::ReadOnly);
    // Two "processes" take turns under the (here implicit) append lock.
    for (std::size_t i = 0; i < 300; i++) {
        VectorStore& w = i % 3 == 0 ? a : b;
        w.refresh();
        EXPECT_EQ(w.append(r.tags[i], r.vecs.data() + i * dim), i);
        w.flush();
    }
    EXPECT_EQ(reader.size(), 0u);
    EXPECT_TRUE(reader.refresh());
    EXPECT_FALSE(reader.refresh());
    ASSERT_EQ(reader.size(), 300u);
    for (std::size_t i = 0; i < 300; i++) {
        EXPECT_EQ(reader.tag(i), r.tags[i]);
        EXPECT_EQ(std::memcmp(reader.vector(i), r.vecs.data() + i * dim, dim * sizeof(float)), 0);
    }
    EXPECT_EQ(VectorStore::open(path, OpenMode::ReadOnly).size(), 300u);
}

TEST_F(VectorStoreTest, RefreshRefusesUnflushedAppends) {
    const std::string path = small_store();
    VectorStore w = VectorStore::open(path, OpenMode::ReadWrite);
    const float v[3] = {1, 2, 3};
    w.append(1, v);
    expect_error<InvalidArgument>([&] { w.refresh(); }, "unflushed");
}

TEST_F(VectorStoreTest, RefreshDetectsADamagedOrReplacedHeader) {
    const std::string path = small_store();
    VectorStore reader = VectorStore::open(path, OpenMode::ReadOnly);
    std::vector<unsigned char> b = file_bytes(path);
    std::vector<unsigned char> damaged = b;
    damaged[20] ^= 0xFF;  // inside the record count: the checksum no longer matches
    write_bytes(path, damaged);
    expect_error<DataError>([&] { reader.refresh(); }, "unreadable");
    write_bytes(path, b);
    EXPECT_FALSE(reader.refresh());
    // Another store's bytes written over this file (same inode): refused.
    const std::string other = file("other.bin");
    VectorStore::create(other, 3, StoreIdentity{9, 9, 9, 9}).flush();
    write_bytes(path, file_bytes(other));
    expect_error<DataError>([&] { reader.refresh(); }, "replaced by another store");
}

TEST_F(VectorStoreTest, BadMagicIsRejected) {
    const std::string path = small_store();
    std::vector<unsigned char> b = file_bytes(path);
    b[0] ^= 0x01;
    write_bytes(path, b);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "bad magic");
}

TEST_F(VectorStoreTest, WrongVersionIsRejected) {
    const std::string path = small_store();
    std::vector<unsigned char> b = file_bytes(path);
    put_le(b, 8, 4, 1);
    write_resealed(path, b);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "unsupported format version 1");
}

TEST_F(VectorStoreTest, Float16RecordsHoldHalvesInHalfTheSpace) {
    const std::string path = file("f16.bin");
    const std::uint32_t dim = 10;
    const Records r = random_records(dim, 5, 21);
    {
        VectorStore s = VectorStore::create(path, dim, StoreIdentity{1, 2, 3, 4}, StoreElement::Float16);
        s.append_batch(r.tags.data(), r.vecs.data(), 5);
        s.flush();
        s.write_at(7, 99, r.vec(0));  // past the end: slots 5 and 6 read as zeros
        s.flush();
    }
    EXPECT_EQ(store_record_size(dim, StoreElement::Float16), 32u);  // 56 as float32
    std::vector<unsigned char> b = file_bytes(path);
    ASSERT_EQ(b.size(), 4096u + 8 * 32);
    EXPECT_EQ(get_le(b, 28, 4), 1u);
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    EXPECT_EQ(s.element(), StoreElement::Float16);
    ASSERT_EQ(s.size(), 8u);
    std::vector<float> out(dim);
    for (std::uint64_t slot : {0u, 1u, 2u, 3u, 4u, 7u}) {
        const std::size_t i = slot == 7 ? 0 : slot;
        std::uint64_t tag = 0;
        ASSERT_TRUE(s.read(slot, &tag, out.data())) << "slot " << slot;
        EXPECT_EQ(tag, slot == 7 ? 99u : r.tags[i]);
        for (std::uint32_t j = 0; j < dim; j++)
            ASSERT_EQ(out[j], half_to_float(float_to_half(r.vec(i)[j]))) << "slot " << slot << " value " << j;
        EXPECT_TRUE(s.verify(slot));
        std::uint16_t h;
        std::memcpy(&h, s.record(slot) + kRecordVectorOffset + 2, sizeof h);
        EXPECT_EQ(h, float_to_half(r.vec(i)[1]));
    }
    EXPECT_FALSE(s.verify(5));
    expect_error<InvalidArgument>([&] { s.vector(0); }, "float16");
    // A changed value byte fails the record's checksum.
    b[4096 + 2 * 32 + kRecordVectorOffset + 3] ^= 0x01;
    write_bytes(path, b);
    VectorStore damaged = VectorStore::open(path, OpenMode::ReadOnly);
    EXPECT_FALSE(damaged.read(2, nullptr, out.data()));
    EXPECT_TRUE(damaged.read(1, nullptr, out.data()));
}

TEST_F(VectorStoreTest, Version2FilesReadAsFloat32) {
    const std::string path = small_store();
    std::vector<unsigned char> b = file_bytes(path);
    put_le(b, 8, 4, 2);
    write_resealed(path, b);
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    EXPECT_EQ(s.element(), StoreElement::Float32);
    EXPECT_EQ(s.size(), 5u);
    EXPECT_TRUE(s.verify(4));
    put_le(b, 28, 4, 1);  // version 2 knows float32 only
    write_resealed(path, b);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "element type 1 is unknown");
    put_le(b, 8, 4, 3);
    put_le(b, 28, 4, 7);
    write_resealed(path, b);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "element type 7 is unknown");
}

TEST(VectorStoreHalves, WidenInPlaceReadsEveryHalfBeforeOverwritingIt) {
    SplitMix64 rng(3);
    std::vector<std::uint32_t> dims;
    for (std::uint32_t dim = 1; dim <= 70; dim++) dims.push_back(dim);
    for (std::uint32_t dim : {255u, 256u, 257u, 511u, 512u, 513u, 768u, 16000u}) dims.push_back(dim);  // several chunks
    for (std::uint32_t dim : dims) {
        std::vector<std::uint16_t> halves(dim);
        for (auto& h : halves) h = float_to_half(static_cast<float>(rng.uniform() * 200.0 - 100.0));
        std::vector<float> out(dim, -1.0f);
        std::memcpy(reinterpret_cast<unsigned char*>(out.data()) + 2 * dim, halves.data(), 2 * dim);
        widen_halves_in_place(out.data(), dim);
        for (std::uint32_t i = 0; i < dim; i++)
            ASSERT_EQ(out[i], half_to_float(halves[i])) << "dim " << dim << " i " << i;
    }
}

TEST_F(VectorStoreTest, HeaderChecksumMismatchIsRejected) {
    const std::string path = small_store();
    const std::vector<unsigned char> good = file_bytes(path);
    // dim, count, record size, identity, checksum itself, reserved zeros of the page.
    for (std::size_t at : {12u, 20u, 25u, 33u, 47u, 50u, 60u, 64u, 70u, 72u, 2000u, 4095u}) {
        SCOPED_TRACE("byte " + std::to_string(at));
        std::vector<unsigned char> b = good;
        b[at] ^= 0x10;
        write_bytes(path, b);
        expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "header checksum mismatch");
    }
    write_bytes(path, good);
    EXPECT_EQ(VectorStore::open(path, OpenMode::ReadOnly).size(), 5u);
}

TEST_F(VectorStoreTest, WrongRecordSizeIsRejected) {
    const std::string path = small_store();
    std::vector<unsigned char> b = file_bytes(path);
    put_le(b, 24, 4, 32);  // 3 dimensions need 24
    write_resealed(path, b);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); },
                            "record size 32 does not match the 24 bytes expected for 3 dimensions");

    put_le(b, 12, 4, 0);  // zero dimensions
    write_resealed(path, b);
    expect_error<DataError>([&] { VectorStore::open(path, OpenMode::ReadOnly); }, "dimensions 0");
}

TEST_F(VectorStoreTest, AdvisoryCallsWorkAndResidencyIsBounded) {
    const std::string path = file("adv.bin");
    const std::uint32_t dim = 64;
    const std::size_t n = 5000;
    const Records r = random_records(dim, n, 9);
    synced_store(path, dim, r, n);
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    const std::uint64_t file_size = 4096 + n * store_record_size(dim);
    EXPECT_GE(s.bytes_mapped(), file_size);
    EXPECT_LT(s.bytes_mapped(), file_size + 65536);
    s.advise_random();
    const std::vector<std::uint64_t> slots{7, 3, 4, 4, 4999, 100, 101, 102, 2500, n, UINT64_MAX};
    s.prefetch(slots.data(), slots.size());
    s.prefetch(nullptr, 0);
    s.evict();
    std::uint64_t resident = s.bytes_resident();
    EXPECT_LE(resident, s.bytes_mapped());

    volatile float sink = 0;
    for (std::size_t i = 0; i < n; ++i) sink = sink + s.vector(i)[dim - 1];
    resident = s.bytes_resident();
    EXPECT_GT(resident, 0u);
    EXPECT_LE(resident, s.bytes_mapped());

    s.evict();
    EXPECT_LE(s.bytes_resident(), s.bytes_mapped());
    for (std::size_t i = 0; i < n; i += 97) ASSERT_TRUE(holds(s, i, r, i)) << "after evict";
}

// prefetch() skips its system calls while every record is in the page cache,
// and looks again after evict().
TEST_F(VectorStoreTest, PrefetchAsksForPagesOnlyWhenSomeAreNotCached) {
    const std::string path = file("resident.bin");
    const std::uint32_t dim = 256;
    const std::size_t n = 4000;
    const Records r = random_records(dim, n, 5);
    synced_store(path, dim, r, n);
    VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    volatile float sink = 0;
    for (std::size_t i = 0; i < n; ++i) sink = sink + s.vector(i)[dim - 1];  // every page cached and mapped
    const std::vector<std::uint64_t> slots{7, 300, 1999, 3999};
    s.prefetch(slots.data(), slots.size());
    s.prefetch(slots.data(), slots.size());
    EXPECT_EQ(s.prefetch_requests(), 0u) << "every record was in the page cache";

    s.evict();  // drops the synced file's pages from the page cache
    const std::uint64_t records_bytes = 4096 + n * store_record_size(dim);
    if (s.bytes_resident() >= records_bytes) GTEST_SKIP() << "this file system kept the evicted pages cached";
    s.prefetch(slots.data(), slots.size());
    const std::uint64_t asked = s.prefetch_requests();
    EXPECT_GE(asked, 1u) << "evicted records must be read ahead";
    s.prefetch(slots.data(), slots.size());
    EXPECT_EQ(s.prefetch_requests(), asked) << "records asked for once are not asked for again";
    const std::vector<std::uint64_t> others{8, 1000, 2500};
    s.prefetch(others.data(), others.size());
    EXPECT_GT(s.prefetch_requests(), asked) << "other evicted records are still read ahead";
    for (std::size_t i = 0; i < n; i += 97) ASSERT_TRUE(holds(s, i, r, i));

    // After an evict() the store looks again: the same records are asked for anew.
    s.evict();
    if (s.bytes_resident() >= records_bytes) GTEST_SKIP() << "this file system kept the evicted pages cached";
    const std::uint64_t before = s.prefetch_requests();
    s.prefetch(slots.data(), slots.size());
    EXPECT_GT(s.prefetch_requests(), before) << "evicted again, so asked for again";
}

TEST_F(VectorStoreTest, ConcurrentReadersSeeTheRightRecords) {
    const std::string path = file("conc.bin");
    const std::uint32_t dim = 16;
    const std::size_t n = 20000;
    {
        VectorStore w = VectorStore::create(path, dim, StoreIdentity{});
        std::vector<float> v(dim);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::uint32_t j = 0; j < dim; ++j) v[j] = value_of(i, j);
            w.append(tag_of(i), v.data());
        }
        w.flush();
    }
    const VectorStore s = VectorStore::open(path, OpenMode::ReadOnly);
    std::atomic<std::uint64_t> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&s, &errors, t] {
            std::vector<float> copy(dim);
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t i = (k * 7919 + std::size_t(t) * 1000) % n;  // a different order per thread
                std::uint64_t tag = 0;
                bool ok = s.tag(i) == tag_of(i) && s.read(i, &tag, copy.data()) && tag == tag_of(i);
                const float* p = s.vector(i);
                for (std::uint32_t j = 0; j < dim; ++j) ok = ok && p[j] == value_of(i, j) && copy[j] == value_of(i, j);
                if (!ok) errors.fetch_add(1);
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0u);
}

TEST_F(VectorStoreTest, ReadersRunDuringAppendsAndOldPointersStayValid) {
    const std::string path = file("live.bin");
    const std::uint32_t dim = 8;
    const std::size_t n = 20000;
    VectorStore w = VectorStore::create(path, dim, StoreIdentity{});
    std::vector<float> v(dim);
    for (std::uint32_t j = 0; j < dim; ++j) v[j] = value_of(0, j);
    w.append(tag_of(0), v.data());
    w.flush();
    const float* first = w.vector(0);
    const std::uint64_t mapped_before = w.bytes_mapped();

    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> errors{0}, checks{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&, t] {
            std::mt19937_64 rng(static_cast<std::uint64_t>(t));
            while (!done.load()) {
                const std::uint64_t size = w.size();
                const std::uint64_t i = rng() % size;
                std::uint64_t tag = 0;
                std::vector<float> copy(dim);
                bool ok = w.read(i, &tag, copy.data()) && tag == tag_of(i) && w.tag(i) == tag_of(i);
                const float* p = w.vector(i);
                for (std::uint32_t j = 0; j < dim; ++j) ok = ok && copy[j] == value_of(i, j) && p[j] == value_of(i, j);
                if (!ok) errors.fetch_add(1);
                checks.fetch_add(1);
            }
        });
    }
    while (checks.load() < 30) std::this_thread::yield();  // readers are running before the writer starts
    for (std::size_t i = 1; i < n; ++i) {
        for (std::uint32_t j = 0; j < dim; ++j) v[j] = value_of(i, j);
        w.append(tag_of(i), v.data());
        if (i % 97 == 0) w.flush();  // many flushes, so the mapping is replaced several times
    }
    w.flush();
    done.store(true);
    for (auto& th : readers) th.join();
    EXPECT_EQ(errors.load(), 0u);
    EXPECT_EQ(w.size(), n);
    EXPECT_GT(w.bytes_mapped(), mapped_before);
    for (std::uint32_t j = 0; j < dim; ++j) EXPECT_EQ(first[j], value_of(0, j)) << "pointer from before the remaps";
}

TEST_F(VectorStoreTest, MovesTransferOwnership) {
    const std::string path = small_store();
    VectorStore a = VectorStore::open(path, OpenMode::ReadOnly);
    VectorStore b(std::move(a));
    EXPECT_EQ(b.size(), 5u);
    expect_error<InvalidArgument>([&] { a.size(); }, "moved-from");
    std::uint64_t tag = 0;
    EXPECT_FALSE(a.read(0, &tag, nullptr));

    VectorStore c = VectorStore::create(file("other.bin"), 2, StoreIdentity{});
    c = std::move(b);
    EXPECT_EQ(c.size(), 5u);
    EXPECT_EQ(c.path(), path);
    EXPECT_EQ(c.dim(), 3u);
}

TEST_F(VectorStoreTest, RemoveIgnoresMissingFilesOnly) {
    const std::string path = small_store();
    VectorStore::remove(path);
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_NO_THROW(VectorStore::remove(path));
    ASSERT_EQ(::mkdir(file("sub").c_str(), 0700), 0);
    expect_error<IoError>([&] { VectorStore::remove(file("sub")); }, "could not remove");
}

// A failing write must surface as IoError naming the OS cause. A full disk
// cannot be simulated without mounting something (root-only), so a forked
// child lowers its soft RLIMIT_FSIZE with SIGXFSZ ignored: the write that
// crosses the limit comes back short and the retry of the rest fails with
// EFBIG, through the same code path as ENOSPC or EIO. rlimits bind root too,
// and the parent is untouched.
TEST_F(VectorStoreTest, WriteFailureIsIoErrorNamingTheCause) {
    const std::string path = file("full.bin");
    const std::uint32_t dim = 256;  // 1040-byte records: the first buffer spill is 1008 records
    const std::uint64_t limit = 4096 + 100 * store_record_size(dim) + 500;  // ends mid-record
    const Records r = random_records(dim, 1500, 2);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
        ::close(fds[0]);
        int code = 1;  // no exception
        std::string message;
        try {
            VectorStore s = VectorStore::create(path, dim, StoreIdentity{});
            std::signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl;
            if (::getrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(4);
            const rlim_t hard = rl.rlim_max;
            rl.rlim_cur = limit;
            if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(4);
            try {
                s.append_batch(r.tags.data(), r.vecs.data(), 1500);  // the spill must fail here
                code = 6;
                s.flush();
            } catch (const IoError& e) {
                message = e.what();
                if (code == 1) code = 0;
                // Even with room again, a store whose tail is unknown must not write.
                rl.rlim_cur = hard;
                if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(4);
                try {
                    s.flush();
                    code = 3;
                } catch (const IoError& again) {
                    if (std::string(again.what()).find("earlier write error") == std::string::npos) code = 3;
                }
            }
        } catch (...) {
            code = 2;  // wrong exception type
        }
        if (::write(fds[1], message.data(), message.size()) < 0) code = 5;
        ::_exit(code);
    }
    ::close(fds[1]);
    std::string message;
    char buf[512];
    ssize_t got;
    while ((got = ::read(fds[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<std::size_t>(got));
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child died abnormally";
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "1: no exception, 2: wrong type, 3: wrote after a failure, 6: the failing write went unreported";
    EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    // The short write left a partial record behind, which open() ignores.
    EXPECT_EQ(std::filesystem::file_size(path), limit);
    EXPECT_NO_THROW(VectorStore::open(path, OpenMode::ReadOnly));
}

}  // namespace
}  // namespace vectordb
