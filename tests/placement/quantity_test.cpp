#include "placement/quantity.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace spotfit::placement {
namespace {

int64_t milli(std::string_view s) {
  auto r = parseMilli(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
  return r.valueOr(-424242);
}

int64_t value(std::string_view s) {
  auto r = parseValue(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
  return r.valueOr(-424242);
}

TEST(Quantity, DecimalSuffixes) {
  EXPECT_EQ(milli("100m"), 100);
  EXPECT_EQ(milli("1"), 1000);
  EXPECT_EQ(milli("1.5"), 1500);
  EXPECT_EQ(milli("0.1"), 100);
  EXPECT_EQ(milli("2k"), 2000000);
  EXPECT_EQ(value("3M"), 3000000);
  EXPECT_EQ(value("4G"), 4000000000);
  EXPECT_EQ(value("5T"), 5000000000000);
  EXPECT_EQ(value("6P"), 6000000000000000);
  EXPECT_EQ(value("7E"), 7000000000000000000);
  EXPECT_EQ(milli("500u"), 1);  // 0.0005 rounds up to one milli
  EXPECT_EQ(milli("1n"), 1);
  EXPECT_EQ(value("1n"), 1);
  EXPECT_EQ(value("0"), 0);
  EXPECT_EQ(milli("0m"), 0);
  EXPECT_EQ(milli("+5"), 5000);
  EXPECT_EQ(milli(".5"), 500);
  EXPECT_EQ(milli("1."), 1000);
  EXPECT_EQ(milli("007"), 7000);
}

TEST(Quantity, BinarySuffixes) {
  EXPECT_EQ(value("1Ki"), 1024);
  EXPECT_EQ(value("1Mi"), 1048576);
  EXPECT_EQ(value("1Gi"), 1073741824);
  EXPECT_EQ(value("1.5Gi"), 1610612736);
  EXPECT_EQ(value("1Ti"), int64_t{1} << 40);
  EXPECT_EQ(value("1Pi"), int64_t{1} << 50);
  EXPECT_EQ(value("7Ei"), int64_t{7} << 60);
  EXPECT_EQ(value("0.5Ki"), 512);
  EXPECT_EQ(value("1.1Ki"), 1127);  // 1126.4 rounds up
  EXPECT_EQ(milli("1.1Ki"), 1126400);
}

TEST(Quantity, Exponents) {
  EXPECT_EQ(value("1e3"), 1000);
  EXPECT_EQ(value("1E3"), 1000);
  EXPECT_EQ(value("1e+3"), 1000);
  EXPECT_EQ(milli("5e-3"), 5);
  EXPECT_EQ(milli("12e-1"), 1200);
  EXPECT_EQ(milli("1e-1000000000"), 1);
  EXPECT_EQ(value("123456789012345678901234567890e-20"), 1234567891);
}

TEST(Quantity, RoundsAwayFromZeroLikeKubernetes) {
  EXPECT_EQ(value("100m"), 1);
  EXPECT_EQ(value("1001m"), 2);
  EXPECT_EQ(value("-100m"), -1);
  EXPECT_EQ(milli("-1n"), -1);
  EXPECT_EQ(value("-1.5"), -2);
}

TEST(Quantity, NanoFractionIsWhatRoundingLoses) {
  const std::pair<const char*, int64_t> cases[] = {
      {"2", 0},
      {"1.5", 500000000},
      {"100m", 100000000},
      {"333.3m", 333300000},
      {"1n", 1},
      {"0.1Gi", 400000000},
      {"1Ki", 0},
      {"1e-10", 1},
      {"1.0000000001", 1},
      {"5E-1", 500000000},
      {"1500m", 500000000},
      {"1k", 0},
  };
  for (const auto& [text, nanos] : cases) {
    auto v = parseNanoFraction(text);
    ASSERT_TRUE(v) << text;
    EXPECT_EQ(*v, nanos) << text;
  }
  EXPECT_FALSE(parseNanoFraction("1x"));
  EXPECT_FALSE(parseNanoFraction("99E18"));
}

TEST(Quantity, Limits) {
  EXPECT_EQ(value("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(value("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(value("-8Ei"), std::numeric_limits<int64_t>::min());
  for (const char* s : {"9223372036854775808", "8Ei", "10E", "1e19", "1e999999999999999999999", "99999999999Gi"}) {
    auto r = parseValue(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.error().code, "overflow") << s;
  }
  auto m = parseMilli("9223372036854775807");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "overflow");
  EXPECT_EQ(milli("9223372036854775m"), 9223372036854775);
}

TEST(Quantity, GarbageIsAnError) {
  for (const char* s : {"",    "abc",  "1 ", " 1", "1K", "1i",  "1e",    "1e+", "1.2.3", "--1",  "1Mi1",
                        "1kk", "0x10", ".",  "-",  "+",  "1m3", "1E3.5", "Gi",  "1gi",   "1 Gi", "1e3m"}) {
    auto r = parseMilli(s);
    ASSERT_FALSE(r.ok()) << '"' << s << '"';
    EXPECT_EQ(r.error().code, "invalid") << s;
    EXPECT_FALSE(r.error().message.empty());
  }
  EXPECT_FALSE(parseValue(std::string(300, '1')).ok());
}

TEST(Quantity, Formatting) {
  EXPECT_EQ(formatMilliCpu(1500), "1500m");
  EXPECT_EQ(formatMilliCpu(2000), "2");
  EXPECT_EQ(formatMilliCpu(0), "0");
  EXPECT_EQ(formatMilliCpu(100), "100m");
  EXPECT_EQ(formatMilliCpu(2000000), "2k");
  EXPECT_EQ(formatMilliCpu(1234567), "1234567m");
  EXPECT_EQ(formatMilliCpu(-500), "-500m");
  EXPECT_EQ(formatBytes(int64_t{1} << 30), "1Gi");
  EXPECT_EQ(formatBytes(int64_t{1536} << 20), "1536Mi");
  EXPECT_EQ(formatBytes(1000), "1k");
  EXPECT_EQ(formatBytes(512), "512");
  EXPECT_EQ(formatBytes(1500), "1500");
  EXPECT_EQ(formatBytes(2000), "2000");
  EXPECT_EQ(formatBytes(1024), "1Ki");
  EXPECT_EQ(formatBytes(0), "0");
  EXPECT_EQ(formatBytes(int64_t{3} << 60), "3Ei");
  EXPECT_EQ(formatDecimal(1000), "1k");
  EXPECT_EQ(formatDecimal(1500), "1500");
  EXPECT_EQ(formatDecimal(110), "110");
  EXPECT_EQ(formatDecimal(1000000), "1M");
  EXPECT_EQ(formatExponent(1000), "1e3");
  EXPECT_EQ(formatExponent(1500), "1500");
}

TEST(Quantity, CanonicalizeLikeKubernetes) {
  auto c = [](std::string_view s) {
    auto r = canonicalize(s);
    return r.ok() ? *r : "error: " + r.error().message;
  };
  EXPECT_EQ(c("1.5Gi"), "1536Mi");
  EXPECT_EQ(c("0.1"), "100m");
  EXPECT_EQ(c("1000Mi"), "1000Mi");
  EXPECT_EQ(c("1024Mi"), "1Gi");
  EXPECT_EQ(c("1e3"), "1e3");
  EXPECT_EQ(c("0.5Ki"), "512");
  EXPECT_EQ(c("1.5Ki"), "1536");
  EXPECT_EQ(c("1000m"), "1");
  EXPECT_EQ(c("1.1Ki"), "1126400m");
  EXPECT_EQ(c("100e-3"), "100e-3");
  EXPECT_EQ(c("1000k"), "1M");
  EXPECT_FALSE(canonicalize("1Q").ok());
}

TEST(Quantity, RoundTripProperty) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    int64_t v = static_cast<int64_t>(rng() >> (1 + rng() % 63));
    if (rng() % 2) v = -v;
    auto b = parseValue(formatBytes(v));
    ASSERT_TRUE(b.ok()) << formatBytes(v);
    EXPECT_EQ(*b, v) << formatBytes(v);
    auto d = parseValue(formatDecimal(v));
    ASSERT_TRUE(d.ok()) << formatDecimal(v);
    EXPECT_EQ(*d, v);
    auto e = parseValue(formatExponent(v));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, v);
    auto m = parseMilli(formatMilliCpu(v));
    ASSERT_TRUE(m.ok()) << formatMilliCpu(v);
    EXPECT_EQ(*m, v) << formatMilliCpu(v);
    // Canonical strings are fixed points.
    auto canon = canonicalize(formatMilliCpu(v));
    ASSERT_TRUE(canon.ok());
    EXPECT_EQ(*canon, formatMilliCpu(v));
  }
}

}  // namespace
}  // namespace spotfit::placement
