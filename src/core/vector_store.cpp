// The mmap vector store (layout in vector_store.h). Design:
//
// - The whole file is mapped read-only from offset 0, header included: mmap
//   offsets must be multiples of the page size, which may exceed 4096 on
//   other architectures. Record i lives at base + 4096 + i * record_size.
// - Appends go through a 1 MiB buffer written with pwrite; the mapping is
//   never written through. flush() writes the buffer, rewrites the header
//   count and, when the file has outgrown the mapping, maps the file again
//   with at least twice the length (a MAP_SHARED mapping may reach past end of
//   file; those pages become readable as the file grows). The new mapping is
//   published through an atomic pointer and old ones stay mapped until the
//   destructor, so readers need no lock and their pointers never dangle; the
//   doubling keeps the total address space within about 4x the file.
// - The readable count is published after the mapping that covers it
//   (release/acquire): a reader loading the count, then the mapping, always
//   gets a mapping large enough for that count.
// - sync() fsyncs the records before writing the header that counts them, so
//   after a crash the header never counts records that are not on disk.
// - After a failed write or fsync the store refuses to write again: the state
//   of the file's tail is unknown and the index has to be rebuilt anyway.
#include "core/vector_store.h"

#include "core/clock.h"
#include "core/errors.h"
#include "core/half.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the vector store serves little-endian records in place and needs a little-endian host"
#endif

namespace vectordb {
namespace {

constexpr char kMagic[8] = {'V', 'D', 'B', 'V', 'E', 'C', 'S', '\0'};

// Large enough that a build's writes cost little in system calls.
constexpr std::size_t kWriteBufferBytes = std::size_t(1) << 20;

// The first 72 bytes of the header page, exactly as on disk (host is little-endian).
struct RawHeader {
    char magic[8];
    std::uint32_t version;
    std::uint32_t dim;
    std::uint64_t count;
    std::uint32_t record_size;
    std::uint32_t element;  // StoreElement; zero (float32) in version 2
    std::uint64_t system_id;
    std::uint64_t database_id;
    std::uint64_t index_id;
    std::uint64_t generation;
    std::uint64_t checksum;
};
static_assert(std::is_standard_layout<RawHeader>::value && std::is_trivially_copyable<RawHeader>::value,
              "RawHeader is copied to and from disk bytes");
static_assert(sizeof(RawHeader) == 72, "RawHeader must have no padding");
static_assert(offsetof(RawHeader, magic) == 0 && offsetof(RawHeader, version) == 8 && offsetof(RawHeader, dim) == 12 &&
                  offsetof(RawHeader, count) == 16 && offsetof(RawHeader, record_size) == 24 &&
                  offsetof(RawHeader, element) == 28 && offsetof(RawHeader, system_id) == 32 &&
                  offsetof(RawHeader, database_id) == 40 && offsetof(RawHeader, index_id) == 48 &&
                  offsetof(RawHeader, generation) == 56 && offsetof(RawHeader, checksum) == 64,
              "RawHeader must match the documented layout");
static_assert(sizeof(RawHeader) <= kStoreHeaderSize, "the header must fit in its page");
static_assert(store_record_size(1) == 16 && store_record_size(2) == 24 && store_record_size(3) == 24 &&
                  store_record_size(768) == 3088 && store_record_size(768, StoreElement::Float16) == 1552,
              "records are 8-byte tag + values + 4-byte checksum, padded to 8 bytes");

StoreIdentity identity_of(const RawHeader& h) {
    return StoreIdentity{h.system_id, h.database_id, h.index_id, h.generation};
}

constexpr std::size_t kChecksumOffset = offsetof(RawHeader, checksum);
constexpr std::uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

// FNV-1a/64 of n bytes, continuing from hash h.
std::uint64_t fnv1a(const unsigned char* p, std::size_t n, std::uint64_t h) {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= kFnvPrime;
    }
    return h;
}

// Checksum of a header page: every byte except the checksum field itself.
std::uint64_t header_checksum(const unsigned char* page) {
    std::uint64_t h = fnv1a(page, kChecksumOffset, kFnvOffsetBasis);
    return fnv1a(page + kChecksumOffset + 8, kStoreHeaderSize - kChecksumOffset - 8, h);
}

// One step of the record checksum: absorbs word w into lane h.
inline std::uint64_t absorb(std::uint64_t h, std::uint64_t w) {
    h ^= w * 0x9E3779B97F4A7C15ULL;
    h = (h << 29) | (h >> 35);
    return h * 0xBF58476D1CE4E5B9ULL;
}

inline std::uint64_t rotate_left(std::uint64_t v, int bits) { return (v << bits) | (v >> (64 - bits)); }

// Fills a zeroed header page for the given fields, checksum included.
void encode_header(unsigned char* page, std::uint32_t dim, std::uint64_t count, std::uint32_t record_size,
                   StoreElement element, const StoreIdentity& id) {
    RawHeader h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = kStoreFormatVersion;
    h.dim = dim;
    h.count = count;
    h.record_size = record_size;
    h.element = static_cast<std::uint32_t>(element);
    h.system_id = id.system_id;
    h.database_id = id.database_id;
    h.index_id = id.index_id;
    h.generation = id.generation;
    std::memcpy(page, &h, sizeof h);
    const std::uint64_t checksum = header_checksum(page);
    std::memcpy(page + kChecksumOffset, &checksum, sizeof checksum);
}

std::string quoted(const std::string& path) { return "vector store \"" + path + "\""; }

// Throws IoError "<what> vector store "<path>": <strerror(err)>".
[[noreturn]] void throw_os(const char* what, const std::string& path, int err) {
    throw IoError(std::string(what) + " " + quoted(path) + ": " + std::strerror(err));
}

// Throws DataError "vector store "<path>" <detail>".
[[noreturn]] void throw_content(const std::string& path, const std::string& detail) {
    throw DataError(quoted(path) + " " + detail);
}

std::string hex64(std::uint64_t v) {
    char buf[19];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::uint64_t round_up(std::uint64_t v, std::uint64_t multiple) { return (v + multiple - 1) / multiple * multiple; }

std::size_t system_page_size() {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::size_t>(p) : 4096;
}

// Writes all of data at offset, retrying short writes and EINTR.
void write_all(int fd, const unsigned char* data, std::size_t len, std::uint64_t offset, const std::string& path) {
    while (len > 0) {
        // Linux writes at most about 2 GiB per call anyway.
        const std::size_t chunk = std::min<std::size_t>(len, std::size_t(1) << 30);
        const ssize_t n = ::pwrite(fd, data, chunk, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_os("could not write to", path, errno);
        }
        if (n == 0) throw_os("could not write to", path, ENOSPC);  // no progress: treat as a full device
        data += n;
        len -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
}

// Reads up to len bytes at offset, retrying short reads and EINTR; returns the bytes read.
std::size_t read_all(int fd, unsigned char* data, std::size_t len, std::uint64_t offset, const std::string& path) {
    std::size_t done = 0;
    while (done < len) {
        const ssize_t n = ::pread(fd, data + done, len - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_os("could not read", path, errno);
        }
        if (n == 0) break;  // end of file
        done += static_cast<std::size_t>(n);
    }
    return done;
}

// One mmap of the file from offset 0.
struct Mapping {
    unsigned char* base;
    std::size_t length;
};

}  // namespace

struct VectorStore::Impl {
    // Fixed after construction; read freely by every thread.
    std::string path;
    int fd = -1;
    OpenMode mode = OpenMode::ReadOnly;
    std::uint32_t dim = 0;
    StoreElement element = StoreElement::Float32;
    std::uint32_t value_bytes = 0;  // dim * the element's size
    std::uint32_t record_size = 0;
    StoreIdentity identity;
    std::size_t page = system_page_size();

    // Published to readers: the newest mapping, then the count it covers.
    std::atomic<const Mapping*> current{nullptr};
    std::atomic<std::uint64_t> visible{0};
    mutable std::atomic<bool> random_advice{false};  // set by the const advise_random()
    // prefetch()'s view of the page cache: whether every record page was
    // resident at residency_checked (steady-clock nanoseconds; 0 = never),
    // and page by page (1: resident then, or read ahead since) for the first
    // pages_mapped pages. A larger file gets a larger map; the smaller ones are
    // kept (a reader may still hold one) until the store closes.
    mutable std::atomic<bool> records_resident{false};
    mutable std::atomic<std::int64_t> residency_checked{0};
    mutable std::atomic<std::uint64_t> prefetch_requests{0};
    mutable std::mutex residency_mutex;  // one thread at a time looks again
    mutable std::vector<std::unique_ptr<std::atomic<std::uint8_t>[]>> page_maps;
    mutable std::atomic<std::atomic<std::uint8_t>*> page_resident{nullptr};
    mutable std::atomic<std::uint64_t> pages_mapped{0};

    // Writer-only state.
    std::vector<std::unique_ptr<Mapping>> mappings;  // every mapping ever made, unmapped by ~Impl
    std::uint64_t file_records = 0;                  // records completely written to the file
    std::uint64_t header_records = 0;                // the count the header on disk holds
    std::vector<unsigned char> buffer;               // allocated on first append
    std::size_t buffered = 0;                        // records in buffer
    std::vector<std::uint16_t> halves;               // float16 stores: a record's values being encoded
    bool failed = false;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    // Unmaps every mapping and closes the file, ignoring errors.
    ~Impl() {
        for (const auto& m : mappings) ::munmap(m->base, m->length);
        if (fd >= 0) ::close(fd);
    }

    // File offset of a record.
    std::uint64_t record_offset(std::uint64_t slot) const { return kStoreHeaderSize + slot * record_size; }

    // Whether the record at r (slot `slot`, in the mapping) passes its checksum.
    bool record_ok(std::uint64_t slot, const unsigned char* r) const {
        std::uint64_t t;
        std::uint32_t stored;
        std::memcpy(&t, r, sizeof t);
        std::memcpy(&stored, r + kRecordVectorOffset + value_bytes, sizeof stored);
        return stored == record_checksum(slot, t, r + kRecordVectorOffset, value_bytes);
    }

    // Writes one record's bytes (tag, values as stored, checksum) to r, which
    // has record_size bytes of zeros.
    void encode_record(unsigned char* r, std::uint64_t slot, std::uint64_t tag, const float* vec) {
        std::memcpy(r, &tag, sizeof tag);
        unsigned char* values = r + kRecordVectorOffset;
        if (element == StoreElement::Float16) {
            halves.resize(dim);
            floats_to_halves(vec, halves.data(), dim);
            std::memcpy(values, halves.data(), value_bytes);
        } else {
            std::memcpy(values, vec, value_bytes);
        }
        const std::uint32_t checksum = record_checksum(slot, tag, values, value_bytes);
        std::memcpy(values + value_bytes, &checksum, sizeof checksum);
    }

    // mincore's flags (bit 0: in the page cache) for the pages of the
    // mapping's first `bytes`; false if mincore fails.
    bool page_flags(const Mapping* m, std::uint64_t bytes, std::vector<unsigned char>* flags) const {
        flags->assign(static_cast<std::size_t>((bytes + page - 1) / page), 0);
        return ::mincore(m->base, static_cast<std::size_t>(bytes), flags->data()) == 0;
    }

    // Of the pages of the mapping's first `bytes`, how many (*pages) and how
    // many of them in the page cache (*in_cache); false if mincore fails.
    bool count_resident(const Mapping* m, std::uint64_t bytes, std::uint64_t* in_cache, std::uint64_t* pages) const {
        std::vector<unsigned char> flags;
        if (!page_flags(m, bytes, &flags)) return false;
        *pages = flags.size();
        *in_cache = 0;
        for (unsigned char f : flags) *in_cache += f & 1u;
        return true;
    }

    // Whether every page of the first `count` records (and the header) was in the
    // page cache when prefetch() last looked, looking again (one mincore call over
    // them, which also refreshes the page map) when that was
    // kResidencyRecheckSeconds ago or never. A failed look counts as not
    // resident, with no page map: prefetching then asks for every record.
    bool records_all_resident(const Mapping* m, std::uint64_t count) const {
        const std::int64_t now = steady_nanoseconds();
        const std::int64_t checked = residency_checked.load(std::memory_order_relaxed);
        constexpr std::int64_t kRecheck = std::int64_t{VectorStore::kResidencyRecheckSeconds} * 1000000000;
        if (checked != 0 && now - checked < kRecheck) return records_resident.load(std::memory_order_relaxed);
        std::unique_lock<std::mutex> lock(residency_mutex, std::try_to_lock);
        if (!lock.owns_lock()) return records_resident.load(std::memory_order_relaxed);  // another thread looks
        bool resident = false;
        try {
            std::vector<unsigned char> flags;
            if (page_flags(m, std::min<std::uint64_t>(record_offset(count), m->length), &flags)) {
                std::atomic<std::uint8_t>* map = page_resident.load(std::memory_order_relaxed);
                if (flags.size() > pages_mapped.load(std::memory_order_relaxed)) {
                    pages_mapped.store(0, std::memory_order_release);  // no reader trusts the old map's length
                    page_maps.push_back(std::make_unique<std::atomic<std::uint8_t>[]>(flags.size()));
                    map = page_maps.back().get();
                }
                std::uint64_t in_cache = 0;
                for (std::size_t i = 0; i < flags.size(); i++) {
                    map[i].store(flags[i] & 1u, std::memory_order_relaxed);
                    in_cache += flags[i] & 1u;
                }
                page_resident.store(map, std::memory_order_release);
                pages_mapped.store(std::max<std::uint64_t>(flags.size(), pages_mapped.load(std::memory_order_relaxed)),
                                   std::memory_order_release);
                resident = in_cache == flags.size();
            } else {
                pages_mapped.store(0, std::memory_order_release);
            }
        } catch (const std::bad_alloc&) {
            pages_mapped.store(0, std::memory_order_release);
            resident = false;
        }
        records_resident.store(resident, std::memory_order_relaxed);
        residency_checked.store(now == 0 ? 1 : now, std::memory_order_relaxed);
        return resident;
    }

    // Whether pages [first, last] were resident when last looked, or have been
    // asked for since; marks them asked for.
    bool pages_known_resident(std::uint64_t first, std::uint64_t last) const {
        const std::uint64_t covered = pages_mapped.load(std::memory_order_acquire);
        std::atomic<std::uint8_t>* map = page_resident.load(std::memory_order_acquire);
        if (map == nullptr || last >= covered) return false;
        bool known = true;
        for (std::uint64_t p = first; p <= last; p++)
            if (map[p].load(std::memory_order_relaxed) == 0) {
                known = false;
                map[p].store(1, std::memory_order_relaxed);
            }
        return known;
    }

    // Maps the file again if the current mapping is shorter than `bytes`.
    void ensure_mapped(std::uint64_t bytes) {
        const Mapping* cur = current.load(std::memory_order_relaxed);
        if (cur != nullptr && cur->length >= bytes) return;
        std::uint64_t length = bytes;
        if (cur != nullptr) length = std::max<std::uint64_t>(length, std::uint64_t(cur->length) * 2);
        length = round_up(length, page);
        if (length != static_cast<std::size_t>(length)) throw LimitExceeded(quoted(path) + " is too large to map");
        mappings.reserve(mappings.size() + 1);  // so that push_back below cannot throw
        void* p = ::mmap(nullptr, static_cast<std::size_t>(length), PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) throw_os("could not map", path, errno);
        std::unique_ptr<Mapping> m;
        try {
            m.reset(new Mapping{static_cast<unsigned char*>(p), static_cast<std::size_t>(length)});
        } catch (...) {
            ::munmap(p, static_cast<std::size_t>(length));
            throw;
        }
        mappings.push_back(std::move(m));
        // seq_cst pairs with advise_random(): either it sees this mapping or we see its flag.
        current.store(mappings.back().get(), std::memory_order_seq_cst);
        if (random_advice.load(std::memory_order_seq_cst) &&
            ::madvise(p, static_cast<std::size_t>(length), MADV_RANDOM) != 0)
            throw_os("could not advise random access on", path, errno);
    }

    // Rewrites the header page with `count` records.
    void write_header(std::uint64_t count) {
        unsigned char page_bytes[kStoreHeaderSize] = {};
        encode_header(page_bytes, dim, count, record_size, element, identity);
        write_all(fd, page_bytes, sizeof page_bytes, 0, path);
    }

    // Throws unless this store may be written.
    void check_writable() const {
        if (mode == OpenMode::ReadOnly) throw InvalidArgument(quoted(path) + " is open read-only");
        if (failed) throw IoError(quoted(path) + " cannot be written after an earlier write error");
    }

    // Writes the buffered records to the end of the file.
    void spill() {
        if (buffered == 0) return;
        try {
            write_all(fd, buffer.data(), buffered * record_size, record_offset(file_records), path);
        } catch (const IoError&) {
            failed = true;  // part of the buffer may be in the file
            throw;
        }
        file_records += buffered;
        buffered = 0;
    }

    // Copies one record into the buffer, spilling it when full.
    void add_record(std::uint64_t tag, const float* vec) {
        if (buffer.empty()) {
            const std::size_t per_buffer = std::max<std::size_t>(1, kWriteBufferBytes / record_size);
            buffer.assign(per_buffer * record_size, 0);  // padding bytes stay zero forever
        }
        encode_record(buffer.data() + buffered * record_size, file_records + buffered, tag, vec);
        ++buffered;
        if (buffered * record_size == buffer.size()) spill();
    }

    // fsync or fdatasync; throws IoError on failure.
    void fsync_file(bool data_only) {
        const int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
        if (rc != 0) throw_os("could not fsync", path, errno);
    }

    // flush() and, with durable, sync().
    void flush(bool durable) {
        if (mode == OpenMode::ReadOnly) return;  // nothing can be pending
        check_writable();
        try {
            spill();
            if (durable) fsync_file(true);  // records reach disk before the header counts them
            if (header_records != file_records) {
                write_header(file_records);
                header_records = file_records;
            }
            if (durable) fsync_file(false);
        } catch (const IoError&) {
            failed = true;
            throw;
        }
        // A mapping failure leaves the file intact; a later flush() retries it.
        ensure_mapped(record_offset(file_records));
        visible.store(file_records, std::memory_order_release);
    }
};

VectorStore::VectorStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorStore::VectorStore(VectorStore&& other) noexcept = default;
VectorStore& VectorStore::operator=(VectorStore&& other) noexcept = default;
VectorStore::~VectorStore() = default;

const VectorStore::Impl& VectorStore::live() const {
    if (!impl_) throw InvalidArgument("use of a moved-from VectorStore");
    return *impl_;
}

VectorStore::Impl& VectorStore::live() {
    if (!impl_) throw InvalidArgument("use of a moved-from VectorStore");
    return *impl_;
}

VectorStore VectorStore::create(const std::string& path, std::uint32_t dim, const StoreIdentity& id,
                                StoreElement element) {
    if (dim == 0 || dim > kMaxStoreDimensions)
        throw InvalidArgument("vector store dimensions must be between 1 and " + std::to_string(kMaxStoreDimensions) +
                              ", not " + std::to_string(dim));
    if (element != StoreElement::Float32 && element != StoreElement::Float16)
        throw InvalidArgument("vector store element type " + std::to_string(static_cast<std::uint32_t>(element)) +
                              " is unknown");
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->mode = OpenMode::ReadWrite;
    impl->dim = dim;
    impl->element = element;
    impl->value_bytes = store_element_size(element) * dim;
    impl->record_size = store_record_size(dim, element);
    impl->identity = id;

    int fd;
    do {
        fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_os("could not create", path, errno);
    impl->fd = fd;
    try {
        // The umask may have cleared bits of 0600; the file must be exactly owner read-write.
        if (::fchmod(fd, 0600) != 0) throw_os("could not set the mode of", path, errno);
        impl->write_header(0);
        impl->ensure_mapped(kStoreHeaderSize);
    } catch (...) {
        impl.reset();
        ::unlink(path.c_str());  // O_EXCL: the file is ours to remove
        throw;
    }
    return VectorStore(std::move(impl));
}

VectorStore VectorStore::open(const std::string& path, OpenMode mode) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->mode = mode;

    const int flags = (mode == OpenMode::ReadOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    int fd;
    do {
        fd = ::open(path.c_str(), flags);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_os("could not open", path, errno);
    impl->fd = fd;

    struct stat st;
    if (::fstat(fd, &st) != 0) throw_os("could not stat", path, errno);
    if (!S_ISREG(st.st_mode)) throw IoError(quoted(path) + " is not a regular file");
    const std::uint64_t file_size = static_cast<std::uint64_t>(st.st_size);
    const std::string too_short = "is truncated: the file has " + std::to_string(file_size) + " bytes, less than its " +
                                  std::to_string(kStoreHeaderSize) + "-byte header";
    if (file_size < kStoreHeaderSize) throw_content(path, too_short);

    unsigned char page[kStoreHeaderSize];
    if (read_all(fd, page, sizeof page, 0, path) < sizeof page) throw_content(path, too_short);
    RawHeader h;
    std::memcpy(&h, page, sizeof h);

    // Magic and version before the checksum: a newer format may checksum differently.
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0)
        throw_content(path, "is not a vectordb vector store file: bad magic");
    if (h.version != kStoreFormatVersion && h.version != 2)
        throw_content(path, "has unsupported format version " + std::to_string(h.version) +
                                " (this build reads versions 2 and " + std::to_string(kStoreFormatVersion) + ")");
    const std::uint64_t computed = header_checksum(page);
    if (h.checksum != computed)
        throw_content(path, "is corrupt: header checksum mismatch (stored " + hex64(h.checksum) + ", computed " +
                                hex64(computed) + ")");
    if (h.dim == 0 || h.dim > kMaxStoreDimensions)
        throw_content(path, "is corrupt: dimensions " + std::to_string(h.dim) + " outside 1.." +
                                std::to_string(kMaxStoreDimensions));
    if (h.element > static_cast<std::uint32_t>(StoreElement::Float16) || (h.version == 2 && h.element != 0))
        throw_content(path, "is corrupt: element type " + std::to_string(h.element) + " is unknown");
    const auto element = static_cast<StoreElement>(h.element);
    if (h.record_size != store_record_size(h.dim, element))
        throw_content(path, "is corrupt: record size " + std::to_string(h.record_size) + " does not match the " +
                                std::to_string(store_record_size(h.dim, element)) + " bytes expected for " +
                                std::to_string(h.dim) + " dimensions");

    const std::uint64_t rs = h.record_size;
    const std::uint64_t data_bytes = file_size - kStoreHeaderSize;
    const std::uint64_t whole_records = data_bytes / rs;
    const std::uint64_t partial_bytes = data_bytes % rs;
    if (h.count > whole_records)
        throw_content(path, "is truncated: its header declares " + std::to_string(h.count) + " records of " +
                                std::to_string(rs) + " bytes but the file holds only " + std::to_string(whole_records) +
                                " whole records" + (partial_bytes != 0 ? " and a partial one" : "") + " (" +
                                std::to_string(file_size) + " bytes)");
    // Bytes past the counted records are an append another process has not
    // flushed yet, or one that was interrupted: not part of the store.
    impl->dim = h.dim;
    impl->element = element;
    impl->value_bytes = store_element_size(element) * h.dim;
    impl->record_size = h.record_size;
    impl->identity = identity_of(h);
    impl->file_records = h.count;
    impl->header_records = h.count;
    impl->ensure_mapped(file_size);
    impl->visible.store(h.count, std::memory_order_release);
    return VectorStore(std::move(impl));
}

void VectorStore::remove(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_os("could not remove", path, errno);
}

std::uint64_t VectorStore::append(std::uint64_t tag, const float* vec) {
    Impl& s = live();
    s.check_writable();
    if (vec == nullptr) throw InvalidArgument("VectorStore::append: null vector");
    const std::uint64_t slot = s.file_records + s.buffered;
    s.add_record(tag, vec);
    return slot;
}

void VectorStore::append_batch(const std::uint64_t* tags, const float* vecs, std::size_t n) {
    Impl& s = live();
    s.check_writable();
    if (n == 0) return;
    if (tags == nullptr || vecs == nullptr) throw InvalidArgument("VectorStore::append_batch: null input");
    for (std::size_t i = 0; i < n; ++i) s.add_record(tags[i], vecs + i * s.dim);
}

void VectorStore::write_at(std::uint64_t slot, std::uint64_t tag, const float* vec) {
    Impl& s = live();
    s.check_writable();
    if (vec == nullptr) throw InvalidArgument("VectorStore::write_at: null vector");
    if (s.buffered != 0) throw InvalidArgument(quoted(s.path) + ": write_at() with buffered appends");
    if (slot > (std::uint64_t(1) << 40))
        throw InvalidArgument("VectorStore::write_at: slot " + std::to_string(slot) + " is absurd");
    std::vector<unsigned char> record(s.record_size, 0);
    s.encode_record(record.data(), slot, tag, vec);
    try {
        write_all(s.fd, record.data(), record.size(), s.record_offset(slot), s.path);
    } catch (const IoError&) {
        s.failed = true;
        throw;
    }
    if (slot >= s.file_records) s.file_records = slot + 1;
}

void VectorStore::extend_to(std::uint64_t n) {
    Impl& s = live();
    s.check_writable();
    if (s.buffered != 0) throw InvalidArgument(quoted(s.path) + ": extend_to() with buffered appends");
    if (n <= s.file_records) return;
    if (n > (std::uint64_t(1) << 40))
        throw InvalidArgument("VectorStore::extend_to: " + std::to_string(n) + " records is absurd");
    struct stat st;
    if (::fstat(s.fd, &st) != 0) throw_os("could not stat", s.path, errno);
    const std::uint64_t bytes = s.record_offset(n);
    if (static_cast<std::uint64_t>(st.st_size) < bytes && ::ftruncate(s.fd, static_cast<off_t>(bytes)) != 0) {
        s.failed = true;
        throw_os("could not extend", s.path, errno);
    }
    s.file_records = n;
}

void VectorStore::flush() { live().flush(false); }

void VectorStore::sync() { live().flush(true); }

std::uint64_t VectorStore::size() const { return live().visible.load(std::memory_order_acquire); }

bool VectorStore::refresh() {
    Impl& s = live();
    if (s.buffered != 0) throw InvalidArgument(quoted(s.path) + ": refresh() with unflushed appends");
    unsigned char page[kStoreHeaderSize];
    if (read_all(s.fd, page, sizeof page, 0, s.path) < sizeof page)
        throw_content(s.path, "is truncated: its header is gone");
    RawHeader h;
    std::memcpy(&h, page, sizeof h);
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || (h.version != kStoreFormatVersion && h.version != 2) ||
        h.checksum != header_checksum(page))
        throw_content(s.path, "is corrupt: its header changed into something unreadable");
    if (h.dim != s.dim || h.record_size != s.record_size || h.element != static_cast<std::uint32_t>(s.element) ||
        identity_of(h) != s.identity)
        throw_content(s.path, "was replaced by another store");
    const std::uint64_t seen = s.visible.load(std::memory_order_relaxed);
    if (h.count < seen)
        throw_content(s.path, "lost records: its header declares " + std::to_string(h.count) + ", fewer than the " +
                                  std::to_string(seen) + " already seen");
    if (h.count == seen) return false;
    struct stat st;
    if (::fstat(s.fd, &st) != 0) throw_os("could not stat", s.path, errno);
    if (static_cast<std::uint64_t>(st.st_size) < s.record_offset(h.count))
        throw_content(s.path, "is truncated: its header declares " + std::to_string(h.count) + " records");
    s.ensure_mapped(s.record_offset(h.count));
    s.file_records = h.count;
    s.header_records = h.count;
    s.visible.store(h.count, std::memory_order_release);
    return true;
}

std::uint32_t VectorStore::dim() const { return live().dim; }

StoreElement VectorStore::element() const { return live().element; }

StoreIdentity VectorStore::identity() const { return live().identity; }

const std::string& VectorStore::path() const { return live().path; }

const unsigned char* VectorStore::record(std::uint64_t slot) const {
    const Impl& s = live();
    const std::uint64_t count = s.visible.load(std::memory_order_acquire);
    if (slot >= count)
        throw InvalidArgument("slot " + std::to_string(slot) + " is out of range: " + quoted(s.path) + " holds " +
                              std::to_string(count) + " records");
    const Mapping* m = s.current.load(std::memory_order_acquire);
    return m->base + s.record_offset(slot);
}

const float* VectorStore::vector(std::uint64_t slot) const {
    if (live().element != StoreElement::Float32)
        throw InvalidArgument(quoted(live().path) + " holds float16 values: read() them");
    return reinterpret_cast<const float*>(record(slot) + kRecordVectorOffset);
}

std::uint64_t VectorStore::tag(std::uint64_t slot) const {
    const Impl& s = live();
    const std::uint64_t count = s.visible.load(std::memory_order_acquire);
    if (slot >= count)
        throw InvalidArgument("slot " + std::to_string(slot) + " is out of range: " + quoted(s.path) + " holds " +
                              std::to_string(count) + " records");
    const Mapping* m = s.current.load(std::memory_order_acquire);
    std::uint64_t t;
    std::memcpy(&t, m->base + s.record_offset(slot), sizeof t);
    return t;
}

bool VectorStore::read(std::uint64_t slot, std::uint64_t* tag, float* out) const noexcept {
    if (!impl_) return false;
    const Impl& s = *impl_;
    if (slot >= s.visible.load(std::memory_order_acquire)) return false;
    const Mapping* m = s.current.load(std::memory_order_acquire);
    const unsigned char* r = m->base + s.record_offset(slot);
    // Copy first, verify the copy: the file may change under the mapping.
    std::uint64_t t;
    std::uint32_t stored;
    std::memcpy(&t, r, sizeof t);
    std::memcpy(&stored, r + kRecordVectorOffset + s.value_bytes, sizeof stored);
    if (tag != nullptr) *tag = t;
    if (out == nullptr) return s.record_ok(slot, r);
    if (s.element == StoreElement::Float16) {
        unsigned char* halves = reinterpret_cast<unsigned char*>(out) + s.value_bytes;  // out's upper half
        std::memcpy(halves, r + kRecordVectorOffset, s.value_bytes);
        const bool ok = stored == record_checksum(slot, t, halves, s.value_bytes);
        widen_halves_in_place(out, s.dim);
        return ok;
    }
    std::memcpy(out, r + kRecordVectorOffset, s.value_bytes);
    return stored == record_checksum(slot, t, out, s.dim);
}

void widen_halves_in_place(float* out, std::uint32_t dim) {
    // Half i sits at bytes 2 * dim + 2 * i, float i goes to bytes 4 * i .. 4 * i + 4.
    // Taken a chunk at a time through a stack copy (for the bulk conversion):
    // writing chunk k's floats reaches at most the bytes of halves 2 * end - dim
    // (end the chunk's end), which is before the next chunk's first half unless
    // this is the last chunk.
    constexpr std::uint32_t kChunk = 256;
    std::uint16_t chunk[kChunk];
    const unsigned char* halves = reinterpret_cast<const unsigned char*>(out) + std::size_t{2} * dim;
    for (std::uint32_t at = 0; at < dim; at += kChunk) {
        const std::uint32_t n = std::min(kChunk, dim - at);
        std::memcpy(chunk, halves + std::size_t{2} * at, std::size_t{2} * n);
        halves_to_floats(chunk, out + at, n);
    }
}

bool VectorStore::verify(std::uint64_t slot) const noexcept {
    if (!impl_) return false;
    const Impl& s = *impl_;
    if (slot >= s.visible.load(std::memory_order_acquire)) return false;
    const Mapping* m = s.current.load(std::memory_order_acquire);
    return s.record_ok(slot, m->base + s.record_offset(slot));
}

std::uint32_t record_checksum(std::uint64_t slot, std::uint64_t tag, const void* values, std::size_t n) {
    // Four independent lanes over 8-byte words so the multiplies overlap,
    // then a full avalanche folded to 32 bits. Not cryptographic: it finds
    // torn, zeroed and misplaced records, not deliberate forgeries.
    std::uint64_t lanes[4] = {absorb(0x243F6A8885A308D3ULL, slot), absorb(0x13198A2E03707344ULL, tag),
                              0xA4093822299F31D0ULL, 0x082EFA98EC4E6C89ULL};
    const unsigned char* bytes = static_cast<const unsigned char*>(values);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            std::uint64_t w;
            std::memcpy(&w, bytes + i + 8 * l, sizeof w);
            lanes[l] = absorb(lanes[l], w);
        }
    for (int l = 0; i + 8 <= n; i += 8, l++) {
        std::uint64_t w;
        std::memcpy(&w, bytes + i, sizeof w);
        lanes[l] = absorb(lanes[l], w);
    }
    if (i < n) {
        std::uint64_t w = 0;
        std::memcpy(&w, bytes + i, n - i);
        lanes[3] = absorb(lanes[3], w);
    }
    std::uint64_t h = lanes[0] ^ rotate_left(lanes[1], 17) ^ rotate_left(lanes[2], 31) ^ rotate_left(lanes[3], 47) ^ n;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

void VectorStore::prefetch(const std::uint64_t* slots, std::size_t n) const {
    const Impl& s = live();
    if (n == 0) return;
    if (slots == nullptr) throw InvalidArgument("VectorStore::prefetch: null slots");
    const std::uint64_t count = s.visible.load(std::memory_order_acquire);
    const Mapping* m = s.current.load(std::memory_order_acquire);
    if (s.records_all_resident(m, count)) return;

    // Page ranges [first, last] of each record, sorted so neighbours can be merged.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pages;
    pages.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (slots[i] >= count) continue;
        const std::uint64_t begin = s.record_offset(slots[i]);
        pages.emplace_back(begin / s.page, (begin + s.record_size - 1) / s.page);
    }
    std::sort(pages.begin(), pages.end());
    for (std::size_t i = 0; i < pages.size();) {
        const std::uint64_t first = pages[i].first;
        std::uint64_t last = pages[i].second;
        std::size_t j = i + 1;
        for (; j < pages.size() && pages[j].first <= last + 1; ++j) last = std::max(last, pages[j].second);
        if (s.pages_known_resident(first, last)) {
            i = j;
            continue;
        }
        // EAGAIN means the kernel is short of resources for read-ahead: advice may be dropped.
        s.prefetch_requests.fetch_add(1, std::memory_order_relaxed);
        if (::madvise(m->base + first * s.page, (last - first + 1) * s.page, MADV_WILLNEED) != 0 && errno != EAGAIN)
            throw_os("could not prefetch records of", s.path, errno);
        i = j;
    }
}

void VectorStore::warm(std::uint64_t slot, std::size_t bytes) const noexcept {
    if (!impl_) return;
    const Impl& s = *impl_;
    if (slot >= s.visible.load(std::memory_order_acquire)) return;
    const Mapping* m = s.current.load(std::memory_order_acquire);
    // Prefetch instructions do not fault, even past a truncated file's end.
    prefetch_lines(m->base + s.record_offset(slot), std::min<std::size_t>(bytes, s.record_size));
}

std::uint64_t VectorStore::prefetch_requests() const {
    return live().prefetch_requests.load(std::memory_order_relaxed);
}

void VectorStore::advise_random() const {
    const Impl& s = live();
    // Remembered so that mappings made by later flushes get the same advice.
    s.random_advice.store(true, std::memory_order_seq_cst);
    const Mapping* m = s.current.load(std::memory_order_seq_cst);
    if (::madvise(m->base, m->length, MADV_RANDOM) != 0) throw_os("could not advise random access on", s.path, errno);
}

bool VectorStore::file_state(std::uint64_t* size, std::uint64_t* links) const noexcept {
    struct stat st;
    if (!impl_ || ::fstat(impl_->fd, &st) != 0) return false;
    *size = static_cast<std::uint64_t>(st.st_size);
    *links = static_cast<std::uint64_t>(st.st_nlink);
    return true;
}

std::uint64_t VectorStore::bytes_mapped() const { return live().current.load(std::memory_order_acquire)->length; }

std::uint64_t VectorStore::bytes_resident() const {
    const Impl& s = live();
    const Mapping* m = s.current.load(std::memory_order_acquire);
    std::uint64_t pages = 0, in_cache = 0;
    if (!s.count_resident(m, m->length, &in_cache, &pages))
        throw_os("could not query page residency of", s.path, errno);
    return std::min<std::uint64_t>(in_cache * s.page, m->length);
}

void VectorStore::evict() const {
    const Impl& s = live();
    const Mapping* m = s.current.load(std::memory_order_acquire);
    // On a shared file mapping this only drops our page table entries; the
    // next access faults the page back in from the page cache (or disk).
    if (::madvise(m->base, m->length, MADV_DONTNEED) != 0) throw_os("could not evict the mapping of", s.path, errno);
    s.residency_checked.store(0, std::memory_order_relaxed);  // prefetch() must look again
    // Drops the file's clean, unmapped pages from the page cache for every
    // process; dirty pages are only queued for writeback.
    const int rc = ::posix_fadvise(s.fd, 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0) throw_os("could not evict the cached pages of", s.path, rc);
}

}  // namespace vectordb
