#include "server/allocator.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// A sanitizer's malloc ignores glibc's thresholds (GCC defines __SANITIZE_ADDRESS__, clang has __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define SPOTFIT_FOREIGN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define SPOTFIT_FOREIGN_MALLOC 1
#endif
#endif

namespace spotfit::server {

bool tuneAllocator() {
#if defined(__GLIBC__) && !defined(SPOTFIT_FOREIGN_MALLOC)
  // Setting either threshold also turns off glibc's dynamic adjustment of both, so they stay put.
  const bool trim = mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold)) == 1;
  const bool mmap = mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)) == 1;
  return trim && mmap;
#else
  return false;
#endif
}

}  // namespace spotfit::server
