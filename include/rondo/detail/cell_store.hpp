// One store instruction per tier-0 cell: how record() publishes a cell.
//
// Why one instruction: SIGKILL (or any crash of the process) stops it between
// two instructions. A store instruction either retired, and its bytes reach
// the shared mapping (the store buffer drains whatever happens to the
// process), or it did not, and the cell is untouched; a fault on the store
// (the first write to a page) is taken before any byte is written and the
// instruction is restarted. So a cell written by one aligned store can be
// old or new after a crash, never half of each, and needs no undo copy.
// docs/design.md ("How a record is published") gives the full argument.
//
// These are inline asm, not intrinsics, so the optimizer can neither split a
// store in two nor merge it with others: the one instruction is a property of
// the code, checked by tests/core/record_code_test.cpp with objdump.
// For readers in other processes, a 32- or 64-byte cell is published inside
// its seqlock, so no atomicity of the store towards other CPUs is assumed
// (Intel guarantees it only for aligned 16-byte SSE/AVX accesses on CPUs
// with AVX; store_cell_2 relies on exactly that, and nothing more).
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
// AVX-512VL: EVEX-encoded 256-bit instructions, and with them ymm16-31.
bool cpu_has_evex_256() noexcept;
// Tests only: behave as a CPU whose widest single store is `bytes` (16, 32
// or 64) for rings opened from now on, so the fallback paths run here too.
void limit_cell_store_width_for_testing(unsigned bytes) noexcept;

// Each function publishes one cell inside its slot's seqlock, in one asm
// block: the counter made odd, the cell written by ONE store, the counter made
// even. The asm names exactly the memory it writes (the counter and the cell),
// so it is no barrier for anything else the compiler keeps in registers, and
// the three stores stay in this order (x86-64 makes them visible in it, too).
namespace cell_bytes {
struct B16 { std::uint64_t w[2]; };
struct B32 { std::uint64_t w[4]; };
struct B64 { std::uint64_t w[8]; };
}  // namespace cell_bytes

// 16 bytes {w0, w1} at p (16-byte aligned), with no seqlock: on a CPU with
// AVX an aligned 16-byte SSE store is single-copy atomic (Intel SDM vol. 3A
// 9.1.1; AMD documents the same; GCC's libatomic builds its 16-byte atomics on
// it), so a reader's load_cell_2 sees it whole. Only when cpu_stores_32_bytes().
[[gnu::always_inline]] inline void store_cell_2(std::uint64_t* p, std::uint64_t w0, std::uint64_t w1) noexcept {
  const __m128i v = _mm_set_epi64x(static_cast<long long>(w1), static_cast<long long>(w0));
  asm volatile("movdqa %[v], %[cell]" : [cell] "=m"(*reinterpret_cast<cell_bytes::B16*>(p)) : [v] "x"(v));
}

// The reader's side: 16 bytes at p in one load, into out[0..1].
[[gnu::always_inline]] inline void load_cell_2(const std::uint64_t* p, std::uint64_t* out) noexcept {
  __m128i v;
  asm volatile("movdqa %[cell], %[v]" : [v] "=x"(v) : [cell] "m"(*reinterpret_cast<const cell_bytes::B16*>(p)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
}

// 32 bytes {w0, a, b, c} at p (32-byte aligned): AVX. Only when cpu_stores_32_bytes().
[[gnu::always_inline]] inline void publish_cell_4(std::uint64_t* seq, std::uint64_t* p, std::uint64_t w0, double a,
                                                  double b, double c) noexcept {
  const __m128i low = _mm_set_epi64x(static_cast<long long>(std::bit_cast<std::uint64_t>(a)),
                                     static_cast<long long>(w0));
  const __m128d high = _mm_set_pd(c, b);
  std::uint64_t n = *seq + 1;
#if defined(__AVX__)
  const __m256i v = _mm256_set_m128i(_mm_castpd_si128(high), low);
  asm volatile(
      "movq %[n], %[seq]\n\t"
      "vmovdqa %[v], %[cell]\n\t"
      "addq $1, %[n]\n\t"
      "movq %[n], %[seq]"
      : [seq] "+m"(*seq), [cell] "=m"(*reinterpret_cast<cell_bytes::B32*>(p)), [n] "+r"(n)
      : [v] "x"(v));
#else
  // The compiler does not use ymm registers here, so none of its values live
  // in an upper half; vzeroupper avoids the SSE/AVX transition penalty after.
  asm volatile(
      "vinsertf128 $1, %[high], %t[low], %%ymm15\n\t"
      "movq %[n], %[seq]\n\t"
      "vmovdqa %%ymm15, %[cell]\n\t"
      "addq $1, %[n]\n\t"
      "movq %[n], %[seq]\n\t"
      "vzeroupper"
      : [seq] "+m"(*seq), [cell] "=m"(*reinterpret_cast<cell_bytes::B32*>(p)), [n] "+r"(n)
      : [low] "x"(low), [high] "x"(high)
      : "xmm15");
#endif
}

// {stamp, sum, count, max} at p (32-byte aligned) already holding stamp
// `bucket`: one more value folded in, in one asm block. The new values are
// computed from the old cell read straight from memory, the 32-byte image is
// assembled in a ymm register and published inside the cell's counter at seq
// by one store. max keeps the fold's rule: value > max ? value : max
// (vmaxsd with value first). Needs cpu_stores_32_bytes().
//
// Evex (cpu_has_evex_256(): AVX-512VL): the image is built in ymm16, which
// only EVEX code can name. The code around is SSE, and an SSE instruction
// after a ymm0-15 register was written in full costs a state transition
// (measured on the build machine: ~100 ns) unless a vzeroupper (~0.3 ns, a
// third of the fold) clears it; ymm16 leaves no such state. It also needs
// fewer shuffles, which all go to one execution port: {sum, count} are
// added as a pair (the addend {value, 1} is a blend, any vector port), the
// stamp is broadcast by the load itself, and one valignq lines the lanes up.
// Without AVX-512VL: ymm15, the scalar fold and vzeroupper.
template <bool Evex>
[[gnu::always_inline]] inline void fold_sum_count_max(std::uint64_t* seq, std::uint64_t* p, std::uint64_t bucket,
                                                      double value) noexcept {
  __m128d lo, hi, mx, stamp;
  std::uint64_t n = *seq + 1;  // only this thread writes it
#define RONDO_FOLD_OPERANDS                                                                                    \
  : [seq] "+m"(*seq), [cell] "+m"(*reinterpret_cast<cell_bytes::B32*>(p)), [n] "+r"(n), [lo] "=&x"(lo),        \
    [hi] "=&x"(hi), [mx] "=&x"(mx), [stamp] "=&x"(stamp)                                                       \
  : [p] "r"(p), [v] "x"(value), [one] "x"(_mm_set1_pd(1.0)), [b] "r"(bucket)
  if constexpr (Evex) {
    asm volatile(
        "vmovupd 8(%[p]), %[lo]\n\t"                    // lo = {sum, count}
        "vblendpd $2, %[one], %[v], %[hi]\n\t"          // hi = {value, 1}
        "vaddpd %[hi], %[lo], %[lo]\n\t"                // lo = {sum + value, count + 1}
        "vmaxsd 24(%[p]), %[v], %[mx]\n\t"              // mx[0] = value > max ? value : max
        "vinsertf32x4 $1, %[mx], %t[lo], %%ymm16\n\t"   // {sum', count', max', -}
        "vbroadcastsd (%[p]), %%ymm17\n\t"              // the stamp (== bucket) in every lane
        "valignq $3, %%ymm17, %%ymm16, %%ymm16\n\t"     // {stamp, sum', count', max'}
        "movq %[n], %[seq]\n\t"
        "vmovdqa64 %%ymm16, %[cell]\n\t"
        "addq $1, %[n]\n\t"
        "movq %[n], %[seq]"
        RONDO_FOLD_OPERANDS
#if defined(__AVX512F__)
        : "xmm16", "xmm17"  // only code built for AVX-512 can hold a value there
#endif
    );
  } else {
    asm volatile(
        "vaddsd 8(%[p]), %[v], %[lo]\n\t"          // lo[0] = sum + value
        "vaddsd 16(%[p]), %[one], %[hi]\n\t"       // hi[0] = count + 1
        "vmaxsd 24(%[p]), %[v], %[mx]\n\t"         // mx[0] = value > max ? value : max
        "vmovq %[b], %[stamp]\n\t"                 // stamp = {bucket, 0}
        "vunpcklpd %[mx], %[hi], %[hi]\n\t"        // hi = {count + 1, max'}
        "vunpcklpd %[lo], %[stamp], %[lo]\n\t"     // lo = {bucket, sum + value}
        "vinsertf128 $1, %[hi], %t[lo], %%ymm15\n\t"
        "movq %[n], %[seq]\n\t"
        "vmovdqa %%ymm15, %[cell]\n\t"
        "addq $1, %[n]\n\t"
        "movq %[n], %[seq]\n\t"
        "vzeroupper"
        RONDO_FOLD_OPERANDS
        : "xmm15");
  }
#undef RONDO_FOLD_OPERANDS
}

// The cell image at src (`words` words: 2, 4 or 8, aligned to its size) to p.
// 4 needs cpu_stores_32_bytes(), 8 cpu_stores_64_bytes().
inline void publish_cell_image(std::uint64_t* seq, std::uint64_t* p, const std::uint64_t* src,
                               unsigned words) noexcept {
  using namespace cell_bytes;
  std::uint64_t n = *seq + 1;
  switch (words) {
    case 2:
      asm volatile(
          "movdqa %[src], %%xmm15\n\t"
          "movq %[n], %[seq]\n\t"
          "movdqa %%xmm15, %[cell]\n\t"
          "addq $1, %[n]\n\t"
          "movq %[n], %[seq]"
          : [seq] "+m"(*seq), [cell] "=m"(*reinterpret_cast<B16*>(p)), [n] "+r"(n)
          : [src] "m"(*reinterpret_cast<const B16*>(src))
          : "xmm15");
      return;
    case 4:
      asm volatile(
          "vmovdqa %[src], %%ymm15\n\t"
          "movq %[n], %[seq]\n\t"
          "vmovdqa %%ymm15, %[cell]\n\t"
          "addq $1, %[n]\n\t"
          "movq %[n], %[seq]\n\t"
#if !defined(__AVX__)
          "vzeroupper"
#endif
          : [seq] "+m"(*seq), [cell] "=m"(*reinterpret_cast<B32*>(p)), [n] "+r"(n)
          : [src] "m"(*reinterpret_cast<const B32*>(src))
          : "xmm15");
      return;
    default:
      asm volatile(
          "vmovdqa64 %[src], %%zmm15\n\t"
          "movq %[n], %[seq]\n\t"
          "vmovdqa64 %%zmm15, %[cell]\n\t"
          "addq $1, %[n]\n\t"
          "movq %[n], %[seq]\n\t"
#if !defined(__AVX512F__)
          "vzeroupper"
#endif
          : [seq] "+m"(*seq), [cell] "=m"(*reinterpret_cast<B64*>(p)), [n] "+r"(n)
          : [src] "m"(*reinterpret_cast<const B64*>(src))
          : "xmm15");
  }
}

}  // namespace rondo::detail
