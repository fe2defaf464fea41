#include "server/allocator.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

long minorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// One "request": 4 MiB in 16 KiB blocks from the heap, written, then all freed (the top of the heap is free).
void burst() {
  std::vector<void*> blocks;
  for (int i = 0; i < 256; ++i) {
    void* p = std::malloc(16 << 10);
    ASSERT_NE(p, nullptr);
    std::memset(p, i, 16 << 10);
    blocks.push_back(p);
  }
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
}

}  // namespace

// glibc's default trim threshold (128 KiB) hands the freed 4 MiB back to the kernel after each burst and the
// next burst faults all 1,024 pages in again; tuned, the pages stay and later bursts fault (almost) none.
TEST(Allocator, KeepsFreedHeapPagesBetweenBursts) {
  if (!spotfit::server::tuneAllocator()) GTEST_SKIP() << "not glibc's malloc (sanitizer build or other libc)";
  burst();  // grows the heap once
  const long before = minorFaults();
  for (int i = 0; i < 10; ++i) burst();
  const long faults = minorFaults() - before;
  EXPECT_LT(faults, 200) << "freed heap memory was returned to the kernel and faulted in again";
}
