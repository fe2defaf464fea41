#include "placement/resources.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;
using testing::kMi;

TEST(Resources, FromMapParsesEveryKind) {
  auto r = Resources::fromMap({{"cpu", "500m"},
                               {"memory", "1Gi"},
                               {"ephemeral-storage", "10G"},
                               {"pods", "110"},
                               {"nvidia.com/gpu", "2"},
                               {"nvidia.com/mig-1g.5gb", "7"},
                               {"vendor/x", "1k"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cpuMilli, 500);
  EXPECT_EQ(r->memory, kGi);
  EXPECT_EQ(r->ephemeralStorage, 10000000000);
  EXPECT_EQ(r->pods, 110);
  EXPECT_EQ(r->get("nvidia.com/gpu"), 2);
  EXPECT_EQ(r->get("nvidia.com/mig-1g.5gb"), 7);
  EXPECT_EQ(r->get("vendor/x"), 1000);
  EXPECT_EQ(r->get("cpu"), 500);
  EXPECT_EQ(r->get("absent/thing"), 0);
  EXPECT_EQ(r->gpus(), 9);  // whole GPUs and MIG slices are both scarce GPU resources
  auto m = r->toMap();
  EXPECT_EQ(m["cpu"], "500m");
  EXPECT_EQ(m["memory"], "1Gi");
  EXPECT_EQ(m["ephemeral-storage"], "9765625Ki");  // bytes are rendered BinarySI
  EXPECT_EQ(m["pods"], "110");
  EXPECT_EQ(m["vendor/x"], "1k");
  auto back = Resources::fromMap(m);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *r);
}

TEST(Resources, RoundingFromMapIsWhatFromMapAdds) {
  auto r = Resources::roundingFromMap({{"cpu", "333.3m"},
                                       {"memory", "0.1Gi"},
                                       {"ephemeral-storage", "1Gi"},
                                       {"vendor.com/x", "1.25"},
                                       {"nvidia.com/gpu", "1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cpuMilli, 700'000'000);  // 334m counted for 333.3m: 0.7 of a millicore too many
  EXPECT_EQ(r->memory, 600'000'000);    // 107374183 counted for 107374182.4
  EXPECT_EQ(r->ephemeralStorage, 0);
  EXPECT_EQ(r->get("vendor.com/x"), 750'000'000);
  EXPECT_EQ(r->get("nvidia.com/gpu"), 0);
  EXPECT_EQ(Resources::roundingFromMap({{"cpu", "1.5"}})->cpuMilli, 0);  // 1500m is whole
  EXPECT_FALSE(Resources::roundingFromMap({{"memory", "1.5x"}}).ok());
}

TEST(Resources, BadInputNamesTheResource) {
  auto bad = Resources::fromMap({{"memory", "lots"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("memory"), std::string::npos);
  auto neg = Resources::fromMap({{"cpu", "-1"}});
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.error().message.find("negative"), std::string::npos);
  auto huge = Resources::fromMap({{"cpu", "9223372036854775807"}});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, "overflow");
  EXPECT_FALSE(Resources::fromMap({{"", "1"}}).ok());
}

TEST(Resources, ArithmeticKeepsExtendedSortedWithoutZeros) {
  Resources a = testing::res(1000, kGi, 1);
  a.set("vendor/z", 3);
  Resources b = testing::res(500, 512 * kMi, 1);
  b.set("vendor/a", 2);
  Resources sum = a + b;
  EXPECT_EQ(sum.cpuMilli, 1500);
  EXPECT_EQ(sum.memory, kGi + 512 * kMi);
  ASSERT_EQ(sum.extended.size(), 3u);
  EXPECT_EQ(sum.extended[0].first, "nvidia.com/gpu");
  EXPECT_EQ(sum.extended[0].second, 2);
  EXPECT_EQ(sum.extended[1].first, "vendor/a");
  EXPECT_EQ(sum.extended[2].first, "vendor/z");
  Resources back = sum - b;
  EXPECT_EQ(back, a);  // vendor/a dropped because it went to zero
  Resources none = a - a;
  EXPECT_TRUE(none.isZero());
  Resources mx = Resources::max(a, b);
  EXPECT_EQ(mx.cpuMilli, 1000);
  EXPECT_EQ(mx.get("vendor/a"), 2);
  EXPECT_EQ(mx.get("vendor/z"), 3);
  a.set("vendor/z", 0);
  EXPECT_EQ(a.get("vendor/z"), 0);
  EXPECT_EQ(a.extended.size(), 1u);
}

TEST(Resources, FitsLikeNodeResourcesFit) {
  Resources free = testing::res(1000, kGi, 1, 10);
  EXPECT_TRUE(fits(testing::res(1000, kGi, 1, 1), free));
  EXPECT_FALSE(fits(testing::res(1001, kGi, 0, 1), free));
  EXPECT_FALSE(fits(testing::res(0, 0, 2, 1), free));
  Resources mig;
  mig.set("nvidia.com/mig-1g.5gb", 1);
  EXPECT_FALSE(fits(mig, free));  // the node has no such resource
  // A zero request is never checked, even when the node is overcommitted (kube semantics).
  Resources over = testing::res(-5, kGi);
  EXPECT_TRUE(fits(testing::res(0, 1), over));
  EXPECT_EQ(insufficient(testing::res(2000, 2 * kGi, 2, 1), free),
            (std::vector<std::string>{"cpu", "memory", "nvidia.com/gpu"}));
  Resources alloc = testing::res(4000, 4 * kGi, 0, 110);
  Resources used = testing::res(3500, kGi, 0, 109);
  EXPECT_TRUE(fits(testing::res(500, kGi, 0, 1), alloc, used));
  EXPECT_FALSE(fits(testing::res(501, kGi, 0, 1), alloc, used));
  EXPECT_FALSE(fits(testing::res(1, 1, 0, 2), alloc, used));
  EXPECT_EQ(insufficient(testing::res(501, kGi, 0, 2), alloc, used), (std::vector<std::string>{"cpu", "pods"}));
}

TEST(Resources, SumsOfHugeRequestsSaturateInsteadOfWrapping) {
  auto huge = Resources::fromMap({{"memory", "8E"}, {"cpu", "9000000000000"}, {"nvidia.com/gpu", "8E"}});
  ASSERT_TRUE(huge.ok()) << huge.error().message;
  Resources sum = *huge;
  sum += *huge;
  EXPECT_EQ(sum.memory, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(sum.get("nvidia.com/gpu"), std::numeric_limits<int64_t>::max());
  // Still far too big for any node: an impossible request never turns into a small one.
  auto node = Resources::fromMap({{"cpu", "64"}, {"memory", "256Gi"}, {"nvidia.com/gpu", "8"}, {"pods", "110"}});
  ASSERT_TRUE(node.ok());
  EXPECT_FALSE(fits(sum, *node));
  Resources negative;
  negative -= sum;
  EXPECT_EQ(negative.memory, -std::numeric_limits<int64_t>::max());
}

TEST(Resources, LessOrEqual) {
  EXPECT_TRUE(lessOrEqual(testing::res(1, 1), testing::res(1, 1)));
  EXPECT_FALSE(lessOrEqual(testing::res(2, 1), testing::res(1, 1)));
  EXPECT_FALSE(lessOrEqual(testing::res(1, 1, 1), testing::res(1, 1)));
  EXPECT_TRUE(lessOrEqual(testing::res(1, 1), testing::res(1, 1, 1)));
  EXPECT_EQ(toString(testing::res(1500, kGi, 1)), "cpu=1500m, memory=1Gi, nvidia.com/gpu=1");
  EXPECT_EQ(toString(Resources{}), "none");
}

TEST(Resources, GpuResourceNames) {
  EXPECT_TRUE(isGpuResource("nvidia.com/gpu"));
  EXPECT_TRUE(isGpuResource("amd.com/gpu"));
  EXPECT_TRUE(isGpuResource("nvidia.com/mig-3g.20gb"));
  EXPECT_FALSE(isGpuResource("vendor/x"));
  EXPECT_TRUE(isGpuResource("nvidia.com/gpu.shared"));  // time-sliced GPUs
  EXPECT_FALSE(isGpuResource("nvidia.com/gpux"));
}

}  // namespace
}  // namespace spotfit::placement
