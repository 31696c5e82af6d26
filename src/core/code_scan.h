// Scanning binary codes: the inner loop of every search.
//
// Codes of one leaf are stored in blocks of kCodeBlock codes, interleaved by
// word: word w of code j in block b is blocks[(b * words + w) * kCodeBlock + j].
// A SIMD register then holds the same word of 8 codes, so the kernels compute 8
// results per instruction with no branches and no horizontal sums. A partial
// last block is padded with zero codes whose results the caller ignores.
#pragma once

#include "core/common.h"

namespace vectordb {

constexpr std::size_t kCodeBlock = 8;
constexpr int kQueryBits = 4;  // RaBitQ query precision: 4 bit planes

// Number of blocks needed for `count` codes.
inline std::size_t code_blocks(std::size_t count) { return (count + kCodeBlock - 1) / kCodeBlock; }

// Copies one code (words uint64s) into / out of position `index` of a block array.
void store_code(uint64_t* blocks, std::size_t index, std::size_t words, const uint64_t* code);
void load_code(const uint64_t* blocks, std::size_t index, std::size_t words, uint64_t* code);

// For every code i of nblocks blocks: out[i] = sum_j 2^j * popcount(code_i & plane_j),
// where plane j is planes[j * words .. (j + 1) * words), j < kQueryBits.
void scan_weighted_popcount(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* planes,
                            uint32_t* out);

// For every code i of nblocks blocks: out[i] = popcount(code_i ^ query).
void scan_hamming(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* query, uint32_t* out);

// The level quantize_query gives x: round((x - low) * inv_delta), half up (x >=
// low, so truncation after adding 0.5), capped at 15 against float slop. Every
// kernel rounds exactly so (unit-tested), so callers may compute levels with it.
inline uint32_t query_level(float x, float low, float inv_delta) {
    constexpr uint32_t top = (1u << kQueryBits) - 1;
    const auto level = static_cast<uint32_t>((x - low) * inv_delta + 0.5f);
    return level < top ? level : top;
}

// Quantises x[0 .. words*64) to levels query_level(x, low, inv_delta) and
// stores bit p of every level in planes[p * words ..], the query side of
// scan_weighted_popcount.
void quantize_query(const float* x, std::size_t words, float low, float inv_delta, uint64_t* planes);

// Name of the scan implementation in use: "avx512", "avx2" or "scalar".
const char* code_scan_isa();

namespace detail {
struct CodeScanKernels {
    const char* name;
    void (*weighted_popcount)(const uint64_t*, std::size_t, std::size_t, const uint64_t*, uint32_t*);
    void (*hamming)(const uint64_t*, std::size_t, std::size_t, const uint64_t*, uint32_t*);
    void (*quantize)(const float*, std::size_t, float, float, uint64_t*);
};
// The portable quantize_query, shared by the tables without a faster one.
void quantize_query_scalar(const float* x, std::size_t words, float low, float inv_delta, uint64_t* planes);
extern const CodeScanKernels kScalarCodeScan;  // code_scan.cpp
extern const CodeScanKernels kAvx2CodeScan;    // code_scan_avx2.cpp (uses POPCNT)
extern const CodeScanKernels kAvx512CodeScan;  // code_scan_avx512.cpp (needs VPOPCNTDQ)
// Every implementation this CPU can run, scalar first (for tests and benchmarks).
std::size_t code_scan_implementations(const CodeScanKernels** out, std::size_t max);
}  // namespace detail

}  // namespace vectordb
