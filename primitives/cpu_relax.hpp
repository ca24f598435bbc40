// A spin-wait hint for busy-wait loops: the pause instruction on x86 (it
// saves power and lets a hyperthread sibling run), a yield elsewhere.
#pragma once

#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace parbench {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace parbench
