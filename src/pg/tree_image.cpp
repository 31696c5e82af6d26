// Tree images (see tree_image.h): writing, checking and mapping them.
//
// File layout: a 64-byte header (magic "VDBTREE1", dim, rotated_dim, nodes,
// leaves as little-endian integers, the rest zero), then nodes x dim floats
// of node centroids, then leaves x rotated_dim floats of rotated leaf centroids.
#include "core/clock.h"
#include "core/vector_store.h"

#include "pg/tree_image.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg/sidecar_files.h"

extern "C" {
#include "miscadmin.h"
#include "storage/fd.h"
}

namespace vectordb {
namespace pg {
namespace {

constexpr char kImageMagic[8] = {'V', 'D', 'B', 'T', 'R', 'E', 'E', '1'};
constexpr std::size_t kImageHeaderSize = 64;

struct ImageHeader {
    char magic[8];
    uint32 dim;
    uint32 rotated_dim;
    uint64 nodes;
    uint64 leaves;
};
static_assert(sizeof(ImageHeader) <= kImageHeaderSize, "the image header fits its 64 bytes");

// The arrays of a private tree, as an image holds them.
struct Arrays {
    const float* centroids;
    std::size_t centroid_floats;
    const float* rotated;
    std::size_t rotated_floats;
    ImageHeader header;
    std::size_t file_bytes() const { return kImageHeaderSize + (centroid_floats + rotated_floats) * sizeof(float); }
};

Arrays arrays_of(const TreeCache& tc) {
    Arrays a{};
    a.centroids = tc.tree.centroids.data();
    a.centroid_floats = tc.tree.centroids.size();
    a.rotated = tc.rotated_centroids.data();
    a.rotated_floats = tc.rotated_centroids.size();
    std::memcpy(a.header.magic, kImageMagic, sizeof kImageMagic);
    a.header.dim = static_cast<uint32>(tc.tree.dim);
    a.header.rotated_dim =
        tc.quantizer.kind() == QuantizerKind::RaBitQ ? static_cast<uint32>(tc.quantizer.rotated_dim()) : 0;
    a.header.nodes = tc.tree.nodes.size();
    a.header.leaves = tc.tree.leaves.size();
    return a;
}

// A hash of the arrays for the file name (two record checksums over 4-byte
// words); equal names are still compared byte for byte before use.
uint64 arrays_hash(const Arrays& a) {
    auto part = [](uint64 seed, const float* p, std::size_t n) -> uint64 {
        uint64 h = seed;
        // record_checksum takes at most 2^32 - 1 floats at a time.
        constexpr std::size_t kStep = std::size_t{1} << 30;
        for (std::size_t at = 0; at < n; at += kStep)
            h = h * 0x100000001B3ULL ^
                record_checksum(at, seed, p + at, static_cast<std::uint32_t>(std::min(kStep, n - at)));
        return h;
    };
    return part(a.header.nodes, a.centroids, a.centroid_floats) << 32 ^
           part(a.header.leaves + 1, a.rotated, a.rotated_floats);
}

// Maps `path` read-only if it holds exactly the header and arrays of `a`;
// null otherwise (missing, unreadable, or other bytes).
std::shared_ptr<TreeImage> map_if_identical(const std::string& path, const std::string& name, const Arrays& a) {
    if (!AcquireExternalFD()) return nullptr;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ReleaseExternalFD();
        return nullptr;
    }
    struct stat st;
    void* base = MAP_FAILED;
    if (::fstat(fd, &st) == 0 && static_cast<uint64>(st.st_size) == a.file_bytes())
        base = ::mmap(nullptr, a.file_bytes(), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);  // the mapping outlives the descriptor
    ReleaseExternalFD();
    if (base == MAP_FAILED) return nullptr;
    auto image = std::make_shared<TreeImage>();
    image->base = base;
    image->length = a.file_bytes();
    image->name = name;
    const auto* bytes = static_cast<const unsigned char*>(base);
    ImageHeader header;
    std::memcpy(&header, bytes, sizeof header);
    const bool same = std::memcmp(&header, &a.header, sizeof header) == 0 &&
                      std::memcmp(bytes + kImageHeaderSize, a.centroids, a.centroid_floats * sizeof(float)) == 0 &&
                      std::memcmp(bytes + kImageHeaderSize + a.centroid_floats * sizeof(float), a.rotated,
                                  a.rotated_floats * sizeof(float)) == 0;
    if (!same) return nullptr;  // unmapped by ~TreeImage
    return image;
}

bool write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t done = ::write(fd, p, n);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return false;
        p += done;
        n -= static_cast<std::size_t>(done);
    }
    return true;
}

// Writes the image under a temporary name and renames it to `path`. No
// fsync: after a crash a torn image fails the comparison and is rewritten.
bool write_image(const std::string& path, const Arrays& a) {
    const std::string temporary = path + ".tmp" + std::to_string(MyProcPid);
    if (!AcquireExternalFD()) return false;
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        ReleaseExternalFD();
        return false;
    }
    unsigned char header[kImageHeaderSize] = {};
    std::memcpy(header, &a.header, sizeof a.header);
    const bool written = write_all(fd, header, sizeof header) &&
                         write_all(fd, a.centroids, a.centroid_floats * sizeof(float)) &&
                         write_all(fd, a.rotated, a.rotated_floats * sizeof(float));
    const bool closed = ::close(fd) == 0;
    ReleaseExternalFD();
    if (!written || !closed || ::rename(temporary.c_str(), path.c_str()) != 0) {
        ::unlink(temporary.c_str());
        return false;
    }
    return true;
}

// Removes the index's other images (older arrays), keeping `keep`.
void remove_other_images(const std::string& dir, const StoreIdentity& id, const std::string& keep) {
    const std::string prefix = tree_image_prefix(id);
    std::vector<std::string> doomed;
    if (DIR* d = opendir(dir.c_str())) {
        while (struct dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name != keep && name.compare(0, prefix.size(), prefix) == 0) doomed.push_back(name);
        }
        closedir(d);
    }
    for (const std::string& name : doomed) ::unlink((dir + "/" + name).c_str());
}

}  // namespace

TreeImage::~TreeImage() {
    if (base != nullptr) ::munmap(base, length);
}

void share_tree_arrays(Relation index, TreeCache& tc) {
    if (tc.image != nullptr || tc.tree.shared_centroids != nullptr) return;
    const Arrays a = arrays_of(tc);
    if (a.header.nodes == 0 || a.centroid_floats != a.header.nodes * a.header.dim ||
        a.rotated_floats != a.header.leaves * a.header.rotated_dim ||
        (a.centroid_floats + a.rotated_floats) * sizeof(float) < kTreeShareMinBytes)
        return;
    const int64 now = steady_nanoseconds();
    if (tc.arrays_changed_at != 0 && now - tc.arrays_changed_at < int64{kTreeShareQuietSeconds} * 1000000000) return;
    // Whatever happens next, not again before the quiet time has passed:
    // a tree that cannot be shared must not cost every query a try.
    tc.arrays_changed_at = now;
    if (!foreign_sidecar_problem(index, tc.meta).empty()) return;
    const StoreIdentity id = sidecar_identity(tc.meta);
    const std::string dir = sidecar_directory(false);
    const std::string name = tree_image_name(id, arrays_hash(a));
    const std::string path = dir + "/" + name;

    std::shared_ptr<TreeImage> image = map_if_identical(path, name, a);
    if (image == nullptr) {
        // Missing, or holding other bytes (torn, garbled, a hash collision):
        // write ours in its place (creating the directory, which an index
        // with storage = pages may not have had yet). A directory we cannot
        // write to keeps the tree private.
        if (::mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST) return;
        if (!write_image(path, a)) return;
        image = map_if_identical(path, name, a);
        if (image == nullptr) return;
        remove_other_images(dir, id, name);
    }
    const auto* bytes = static_cast<const unsigned char*>(image->base);
    tc.tree.shared_centroids = reinterpret_cast<const float*>(bytes + kImageHeaderSize);
    tc.shared_rotated =
        a.rotated_floats > 0
            ? reinterpret_cast<const float*>(bytes + kImageHeaderSize + a.centroid_floats * sizeof(float))
            : nullptr;
    tc.image = std::move(image);
    std::vector<float>().swap(tc.tree.centroids);
    std::vector<float>().swap(tc.rotated_centroids);
}

void own_tree_arrays(TreeCache& tc) {
    if (tc.image == nullptr) return;
    if (tc.shared_rotated != nullptr)
        tc.rotated_centroids.assign(tc.shared_rotated,
                                    tc.shared_rotated + tc.tree.leaves.size() * tc.quantizer.rotated_dim());
    tc.shared_rotated = nullptr;
    tc.tree.own_centroids();
    tc.image.reset();
    tc.arrays_changed_at = steady_nanoseconds();
}

}  // namespace pg
}  // namespace vectordb
