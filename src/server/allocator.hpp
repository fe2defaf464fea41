// Process-wide heap tuning for a long-running server, applied once at startup (src/main.cpp).
#pragma once

#include <cstddef>

namespace spotfit::server {

// What tuneAllocator() sets: freed heap memory is kept up to kTrimThreshold instead of being returned to
// the kernel after every burst, and blocks below kMmapThreshold come from the heap instead of their own
// mmap. With glibc's defaults (128 KiB, adapted upwards only when an mmapped block is freed) the webhook
// trimmed and re-faulted the same heap pages between requests: 13% of its CPU in issue 22's profile.
inline constexpr std::size_t kTrimThreshold = 64u << 20;
inline constexpr std::size_t kMmapThreshold = 4u << 20;

// Sets the thresholds with mallopt(3) on glibc; returns false when the allocator is not glibc's (another
// libc, or a sanitizer's interposed malloc), where there is nothing to set.
bool tuneAllocator();

}  // namespace spotfit::server
