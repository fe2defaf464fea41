#include "placement/pool_limits.hpp"

#include <gtest/gtest.h>

namespace spotfit::placement {
namespace {

Resources usage(int64_t cpuMilli, int64_t memory, int64_t gpus) {
  Resources r;
  r.cpuMilli = cpuMilli;
  r.memory = memory;
  r.pods = 10;
  if (gpus > 0) r.set(kResourceNvidiaGpu, gpus);
  return r;
}

TEST(PoolLimits, ZeroLimitsAreUnlimited) {
  EXPECT_TRUE(withinLimits(usage(1'000'000, 1LL << 40, 64), Resources{}));
  EXPECT_EQ(exceededLimit(usage(1'000'000, 1LL << 40, 64), Resources{}), std::nullopt);
}

TEST(PoolLimits, ReachingALimitIsWithinGoingOverIsNot) {
  Resources limits;
  limits.cpuMilli = 4000;
  EXPECT_TRUE(withinLimits(usage(4000, 0, 0), limits));
  EXPECT_FALSE(withinLimits(usage(4001, 0, 0), limits));
  EXPECT_EQ(exceededLimit(usage(4001, 0, 0), limits), "cpu");
}

TEST(PoolLimits, NamesTheFirstExceededResourceInFixedOrder) {
  Resources limits;
  limits.cpuMilli = 1000;
  limits.memory = 1000;
  limits.pods = 5;
  limits.set(kResourceNvidiaGpu, 1);
  EXPECT_EQ(exceededLimit(usage(2000, 2000, 2), limits), "cpu");
  EXPECT_EQ(exceededLimit(usage(500, 2000, 2), limits), "memory");
  EXPECT_EQ(exceededLimit(usage(500, 500, 2), limits), "pods");
  limits.pods = 0;
  EXPECT_EQ(exceededLimit(usage(500, 500, 2), limits), "nvidia.com/gpu");
  EXPECT_FALSE(withinLimits(usage(500, 500, 2), limits));
  EXPECT_TRUE(withinLimits(usage(500, 500, 1), limits));
}

TEST(PoolLimits, AnExtendedLimitCountsOnlyItsOwnResource) {
  Resources limits;
  limits.set("nvidia.com/mig-1g.5gb", 7);
  Resources u = usage(0, 0, 8);
  EXPECT_TRUE(withinLimits(u, limits));
  u.set("nvidia.com/mig-1g.5gb", 8);
  EXPECT_EQ(exceededLimit(u, limits), "nvidia.com/mig-1g.5gb");
}

}  // namespace
}  // namespace spotfit::placement
