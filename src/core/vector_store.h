// The vector store: the `vectors.bin` sidecar file of an index, holding every
// indexed vector at full precision so a backend can mmap it for exact reranking.
//
// File layout, version 3 (every integer little-endian; records are served in
// place, so the store only builds on little-endian hosts). Version 2 is
// version 3 with float32 elements (its header's word at 28 is zero); it is
// read as such.
//
//   Header: one 4096-byte page, so that records start page-aligned.
//     offset size  field
//          0    8  magic "VDBVECS\0"
//          8    4  format version, 3
//         12    4  dimensions, 1 .. kMaxStoreDimensions
//         16    8  record count (records covered by the last flush)
//         24    4  record size in bytes, store_record_size(dimensions, element)
//         28    4  element type: 0 float32, 1 float16 (StoreElement)
//         32    8  identity.system_id
//         40    8  identity.database_id
//         48    8  identity.index_id
//         56    8  identity.generation
//         64    8  checksum: FNV-1a/64 over bytes [0, 64) and [64 + 8, 4096)
//         72 4024  zero
//   Records: `record count` fixed-size records, record i at 4096 + i * record size.
//     offset size  field
//          0    8  row tag (uint64, the caller's encoding of a heap TID)
//          8  e*d  d values of e bytes each: float32, or float16 (IEEE binary16)
//      8+e*d    4  record checksum: record_checksum(i, tag, value bytes)
//     12+e*d  pad  zero bytes up to record size = round_up(12 + e*d, 8)
//
// Float16 records hold values that are halves anyway (halfvec, bits as 0 and
// 1): half the file for the same answers. Writers give floats either way; a
// float16 store rounds them to the nearest half.
//
// The record checksum covers the slot number as well as the contents, so a
// torn record (a crash between the pages of one write), a record never
// written (zeros) and a record written at another slot all fail it: read()
// and verify() refuse them, and the caller falls back to its own copy.
//
// The file holds at least 4096 + count * record size bytes. Anything beyond is
// an append not yet flushed (by another process) or one interrupted before
// flush(), and is ignored: the next append overwrites it. A shorter file makes
// open() fail.
//
// Several processes may share one store: appends are serialised by a lock the
// caller holds across refresh(), append() and flush(); readers in other
// processes call refresh() to see records appended since they opened it.
#pragma once

#include "core/common.h"

#include <memory>
#include <string>

namespace vectordb {

// Size of the header page; records start at this offset.
constexpr std::uint32_t kStoreHeaderSize = 4096;

// The format version this build writes; it also reads version 2.
constexpr std::uint32_t kStoreFormatVersion = 3;

// Sanity bound on the dimensions of a store (above any indexable vector type).
constexpr std::uint32_t kMaxStoreDimensions = 65536;

// What a record's values are stored as.
enum class StoreElement : std::uint32_t { Float32 = 0, Float16 = 1 };
constexpr std::uint32_t store_element_size(StoreElement e) { return e == StoreElement::Float16 ? 2u : 4u; }

// Bytes per record for `dim` dimensions: tag + values + checksum, padded to 8 bytes.
constexpr std::uint32_t store_record_size(std::uint32_t dim, StoreElement e = StoreElement::Float32) {
    return (12u + store_element_size(e) * dim + 7u) & ~7u;
}

// Offsets of a record's fields from the record's start.
constexpr std::uint32_t kRecordVectorOffset = 8;
constexpr std::uint32_t record_checksum_offset(std::uint32_t dim, StoreElement e = StoreElement::Float32) {
    return 8u + store_element_size(e) * dim;
}

// The checksum a record at `slot` with this tag and these value bytes carries.
std::uint32_t record_checksum(std::uint64_t slot, std::uint64_t tag, const void* values, std::size_t bytes);
// The same for dim float32 values.
inline std::uint32_t record_checksum(std::uint64_t slot, std::uint64_t tag, const float* vec, std::uint32_t dim) {
    return record_checksum(slot, tag, static_cast<const void*>(vec), std::size_t{dim} * sizeof(float));
}

// Widens dim float16 values, stored at out's upper half (bytes 2 * dim ..
// 4 * dim), into dim floats at out: each float is written only over halves
// already read. So a reader can copy a float16 record's values into its
// float buffer, check them there, and widen them without a second buffer.
void widen_halves_in_place(float* out, std::uint32_t dim);

// Who the file belongs to. Opaque to the store, which only keeps it; the index
// compares it with its own catalog data to reject a stale or foreign file.
struct StoreIdentity {
    std::uint64_t system_id = 0;
    std::uint64_t database_id = 0;
    std::uint64_t index_id = 0;
    std::uint64_t generation = 0;

    bool operator==(const StoreIdentity& other) const {
        return system_id == other.system_id && database_id == other.database_id && index_id == other.index_id &&
               generation == other.generation;
    }
    bool operator!=(const StoreIdentity& other) const { return !(*this == other); }
};

enum class OpenMode { ReadOnly, ReadWrite };

// An open vector store file with its records mapped read-only (MAP_SHARED).
//
// Writing is single-writer: append(), append_batch(), flush() and sync() must
// be serialised by the caller. Appends go to a 1 MiB buffer written with
// pwrite when full; they become readable, and are counted in the header, only
// at the next flush() or sync(), which extends the mapping if needed.
//
// Reading is thread-safe: the const methods may run concurrently with each
// other and with the one writer. Old mappings stay mapped until the store is
// destroyed, so a pointer returned by vector() stays valid across later
// appends and flushes.
//
// Every failure throws (IoError for the OS, DataError for file content,
// InvalidArgument for misuse); the destructor never throws and does not write:
// appends not yet flushed are discarded.
class VectorStore {
public:
    // Creates `path` (mode 0600; fails if it exists) with an empty store.
    static VectorStore create(const std::string& path, std::uint32_t dim, const StoreIdentity& id,
                              StoreElement element = StoreElement::Float32);

    // Opens and validates an existing store; ReadWrite allows appending to it.
    static VectorStore open(const std::string& path, OpenMode mode);

    // Unlinks `path`; a missing file is not an error.
    static void remove(const std::string& path);

    VectorStore(VectorStore&& other) noexcept;
    VectorStore& operator=(VectorStore&& other) noexcept;
    VectorStore(const VectorStore&) = delete;
    VectorStore& operator=(const VectorStore&) = delete;
    ~VectorStore();

    // Appends one record and returns its slot (readable after the next flush).
    std::uint64_t append(std::uint64_t tag, const float* vec);

    // Appends n records: tags[i] with vecs[i * dim .. (i + 1) * dim).
    void append_batch(const std::uint64_t* tags, const float* vecs, std::size_t n);

    // Writes one record at `slot`, past the end or over an existing one, and
    // counts records up to it (slots never written read as zeros and fail
    // their checksum). For a replica rebuilding its primary's records at the
    // primary's slots: no appends may be buffered, and no other process may
    // append meanwhile. Readable after the next flush().
    void write_at(std::uint64_t slot, std::uint64_t tag, const float* vec);

    // Counts at least n records, the ones never written as zeros that fail
    // their checksum (as write_at: no appends buffered). Readable after flush().
    void extend_to(std::uint64_t n);

    // Writes buffered records, updates the header count and extends the mapping.
    void flush();

    // flush() made durable: records are fsynced before the header that counts them.
    void sync();

    // Re-reads the record count from the file header (other processes may have
    // appended) and maps the new records. Returns true if the count grew. A
    // writer calls it under the append lock before appending. Throws
    // InvalidArgument with unflushed appends, DataError if the header is now
    // unreadable, belongs to another store or counts fewer records.
    bool refresh();

    // Number of readable records (as of the last flush or refresh).
    std::uint64_t size() const;
    std::uint32_t dim() const;
    StoreElement element() const;
    StoreIdentity identity() const;
    const std::string& path() const;

    // The dim floats of `slot`, in place in the mapping and not verified (see
    // verify()); InvalidArgument if out of range or the store holds float16.
    const float* vector(std::uint64_t slot) const;
    // The record of `slot` (tag, values, checksum; layout above), in place in
    // the mapping and not verified; InvalidArgument if out of range.
    const unsigned char* record(std::uint64_t slot) const;

    // Whether `slot` is in range and its record passes its checksum.
    bool verify(std::uint64_t slot) const noexcept;

    // The row tag of `slot`; InvalidArgument if out of range.
    std::uint64_t tag(std::uint64_t slot) const;

    // Copies the tag and values of `slot` as floats; false if it is out of
    // range (outputs untouched) or its record fails its checksum (outputs hold
    // the bad values).
    bool read(std::uint64_t slot, std::uint64_t* tag, float* out) const noexcept;

    // Asks the kernel to read ahead the pages of these records (out-of-range
    // slots are ignored) that were not in the page cache when last looked (at
    // most kResidencyRecheckSeconds ago, or since the last evict()) and have
    // not been asked for since: a madvise for a cached page is a wasted system
    // call, and a query on 128-d descriptors reranks about 1,300 records (at a
    // sixth of its time, when the file was 96% cached and every record was
    // asked for).
    void prefetch(const std::uint64_t* slots, std::size_t n) const;
    static constexpr int kResidencyRecheckSeconds = 10;
    // Starts loading the first `bytes` of the record of `slot` into the CPU's
    // caches; never faults (a page not in memory is skipped); out of range: nothing.
    void warm(std::uint64_t slot, std::size_t bytes) const noexcept;
    // Read-ahead requests prefetch() has made (system calls), for tests.
    std::uint64_t prefetch_requests() const;

    // Tells the kernel the mapping is read in random order (no read-around).
    void advise_random() const;

    // The open file's size and link count (0 once removed or renamed over),
    // by fstat: no path lookup. False if fstat fails.
    bool file_state(std::uint64_t* size, std::uint64_t* links) const noexcept;

    // Length of the current mapping (header, records and room to grow).
    std::uint64_t bytes_mapped() const;

    // Bytes of the current mapping whose pages are in the page cache.
    std::uint64_t bytes_resident() const;

    // Drops this process's page table entries for the mapping and asks the
    // kernel to drop the file's clean pages from the page cache.
    void evict() const;

private:
    struct Impl;
    explicit VectorStore(std::unique_ptr<Impl> impl);
    const Impl& live() const;
    Impl& live();

    std::unique_ptr<Impl> impl_;
};

}  // namespace vectordb
