// Tree images: one copy of a loaded tree's large arrays for every backend.
//
// A backend that uses a vtree index holds its tree: every node's centroid
// and, with rabitq, every leaf's rotated centroid, 36 MB at 1M x 768 and the
// same bytes in every backend. Once a backend has loaded them from the index
// pages it moves them to an image file beside the sidecar, named by the
// sidecar's identity and a hash of the bytes, and maps it read-only; the
// other backends map the same file, so the kernel holds one copy in its page
// cache whatever the number of connections.
//
// An image is a cache of what the index pages say, and never trusted: a
// backend maps one only after comparing it byte for byte with the arrays it
// has just computed from the pages, so a stale, torn, foreign or garbled file
// is never used (it is replaced). Files are written whole under a temporary
// name and renamed into place, and never changed after, so a mapping never
// sees its file change or shrink (removing a file leaves mappings valid).
//
// Splits append centroids and reshapes rewrite them: the tree goes back to
// private arrays first (own_tree_arrays) and is shared again once its arrays
// have not changed for kTreeShareQuietSeconds, so a growing index does not
// write an image per split. Trees under kTreeShareMinBytes stay private, and
// so does a tree whose index names another server's or database's sidecar
// (a copied index). Images go with their sidecar identity: the commit actions
// of DROP INDEX and REINDEX, vectordb_cleanup_orphans(), and a backend that
// publishes a newer image of an index removes the older ones.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

constexpr std::size_t kTreeShareMinBytes = 256 * 1024;
constexpr int kTreeShareQuietSeconds = 5;

// A mapped image; unmapped when the last tree using it lets go.
struct TreeImage {
    void* base = nullptr;
    std::size_t length = 0;
    std::string name;
    ~TreeImage();
};

// Moves tc's arrays into a shared image (mapping an identical one that
// exists, or writing it), if the tree is large enough, its arrays have been
// still for long enough and nothing here fails; otherwise leaves tc as it
// was. No scan may hold tc (its arrays move). Never ereports; throws only bad_alloc.
void share_tree_arrays(Relation index, TreeCache& tc);

// Copies shared arrays back into tc's own (before they change), and notes
// the change. Nothing if they are not shared. Throws only bad_alloc.
void own_tree_arrays(TreeCache& tc);

}  // namespace pg
}  // namespace vectordb
