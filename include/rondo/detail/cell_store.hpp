// One store instruction per tier-0 cell: how record() publishes a cell.
//
// Why one instruction: SIGKILL (or any crash of the process) stops it between
// two instructions. A store instruction either retired, and its bytes reach
// the shared mapping (the store buffer drains whatever happens to the
// process), or it did not, and the cell is untouched; a fault on the store
// (the first write to a page) is taken before any byte is written and the
// instruction is restarted. So a cell written by one aligned store can be
// old or new after a crash, never half of each, and needs no undo copy.
// docs/design.md ("Writing") gives the full argument.
//
// These are inline asm, not intrinsics, so the optimizer can neither split a
// store in two nor merge it with others: the one instruction is a property of
// the code, checked by tests/core/record_code_test.cpp with objdump.
// A reader in another process still uses the slot's seqlock, so no atomicity
// of the store towards other CPUs is assumed (Intel guarantees it for aligned
// 16-byte SSE/AVX accesses on CPUs with AVX, not for 32 or 64 bytes).
//
// Each asm clobbers "memory": it is a compiler barrier, so the seqlock's odd
// and even counter stores stay on either side of it.
#pragma once

#include <bit>
#include <cstdint>

#if !defined(__x86_64__)
#error "rondo's tier-0 write path is written for x86-64 (see docs/design.md)"
#endif

#include <immintrin.h>

namespace rondo::detail {

// The CPU can store 32 bytes (AVX) / 64 bytes (AVX-512F) in one instruction,
// and the OS saves those registers. Checked once per ring, at open.
bool cpu_stores_32_bytes() noexcept;
bool cpu_stores_64_bytes() noexcept;
// Tests only: behave as a CPU whose widest single store is `bytes` (16, 32
// or 64) for rings opened from now on, so the fallback paths run here too.
void limit_cell_store_width_for_testing(unsigned bytes) noexcept;

// 16 bytes {w0, w1} at p (16-byte aligned): SSE2, every x86-64 CPU.
[[gnu::always_inline]] inline void store_cell_2(std::uint64_t* p, std::uint64_t w0, std::uint64_t w1) noexcept {
  const __m128i v = _mm_set_epi64x(static_cast<long long>(w1), static_cast<long long>(w0));
  asm volatile("movdqa %1, %0" : "=m"(*reinterpret_cast<__m128i*>(p)) : "x"(v) : "memory");
}

// 32 bytes {w0, a, b, c} at p (32-byte aligned): AVX. Only when cpu_stores_32_bytes().
[[gnu::always_inline]] inline void store_cell_4(std::uint64_t* p, std::uint64_t w0, double a, double b,
                                                double c) noexcept {
  const __m128i low = _mm_set_epi64x(static_cast<long long>(std::bit_cast<std::uint64_t>(a)),
                                     static_cast<long long>(w0));
  const __m128d high = _mm_set_pd(c, b);
#if defined(__AVX__)
  const __m256i v = _mm256_set_m128i(_mm_castpd_si128(high), low);
  asm volatile("vmovdqa %1, %0" : "=m"(*reinterpret_cast<__m256i*>(p)) : "x"(v) : "memory");
#else
  // The compiler does not know ymm registers here, so none of its values live
  // in an upper half; vzeroupper avoids the SSE/AVX transition penalty after.
  asm volatile(
      "vinsertf128 $1, %2, %t1, %%ymm15\n\t"
      "vmovdqa %%ymm15, %0\n\t"
      "vzeroupper"
      : "=m"(*reinterpret_cast<__m256i*>(p))
      : "x"(low), "x"(high)
      : "xmm15", "memory");
#endif
}

// Copies the cell image at src to p, both aligned to their size, with one
// load and ONE store of `words` words (2, 4 or 8). 4 needs
// cpu_stores_32_bytes(), 8 cpu_stores_64_bytes().
inline void store_cell_image(std::uint64_t* p, const std::uint64_t* src, unsigned words) noexcept {
  switch (words) {
    case 2:
      asm volatile("movdqa (%1), %%xmm15\n\tmovdqa %%xmm15, (%0)" : : "r"(p), "r"(src) : "xmm15", "memory");
      break;
    case 4:
#if defined(__AVX__)
      asm volatile("vmovdqa (%1), %%ymm15\n\tvmovdqa %%ymm15, (%0)" : : "r"(p), "r"(src) : "xmm15", "memory");
#else
      asm volatile("vmovdqa (%1), %%ymm15\n\tvmovdqa %%ymm15, (%0)\n\tvzeroupper" : : "r"(p), "r"(src)
                   : "xmm15", "memory");
#endif
      break;
    default:
#if defined(__AVX512F__)
      asm volatile("vmovdqa64 (%1), %%zmm15\n\tvmovdqa64 %%zmm15, (%0)" : : "r"(p), "r"(src) : "xmm15", "memory");
#else
      asm volatile("vmovdqa64 (%1), %%zmm15\n\tvmovdqa64 %%zmm15, (%0)\n\tvzeroupper" : : "r"(p), "r"(src)
                   : "xmm15", "memory");
#endif
  }
}

}  // namespace rondo::detail
