// libFuzzer target: opening a sidecar file (header and record reader). The
// input becomes the file's bytes; open() must accept it or throw a core error,
// and everything an accepted store reports must be readable.
#include "core/errors.h"
#include "core/vector_store.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/vectordb-fuzz-store-" + std::to_string(getpid()) + ".vec";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        vectordb::VectorStore store = vectordb::VectorStore::open(path, vectordb::OpenMode::ReadOnly);
        std::vector<float> v(store.dim());
        for (uint64_t slot = 0; slot < store.size() && slot < 64; slot++) {
            uint64_t tag = 0;
            // A counted record is readable; its checksum decides whether it is used.
            if (store.read(slot, &tag, v.data()) != store.verify(slot)) __builtin_trap();
            (void)store.record(slot);
        }
        store.refresh();
    } catch (const vectordb::Error&) {
        // Rejected: fine.
    }
    return 0;
}
