#include "placement/cron.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.hpp"

namespace spotfit::placement {
namespace {

int64_t fire(const std::string& spec, int64_t after) {
  auto s = parseCron(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << (s.ok() ? "" : s.error().message);
  if (!s.ok()) return -1;
  return nextFire(*s, after).value_or(-2);
}

// 2024-03-01T00:00:00Z was a Friday.
constexpr int64_t kMar1 = 1709251200;
constexpr int64_t kDay = 86400;

// testdata/cron_robfig.tsv holds what Kubernetes' own cron library answers: robfig/cron v3.0.1
// `cron.ParseStandard(spec)` and `.Next(time.Unix(after, 0).UTC())`, run with TZ=UTC by a throwaway Go
// program over ~360 schedules (hand-picked edge cases and random combinations of every field form) and
// four start times each (leap days, year ends, the epoch). Every row must agree: same parse verdict, same
// next fire time or the same "never" (nothing within five years).
TEST(Cron, AgreesWithRobfigCronOnEveryRecordedCase) {
  std::ifstream in(spotfit::testpaths::sourceDir() + "/tests/placement/testdata/cron_robfig.tsv");
  ASSERT_TRUE(in.good());
  std::string line;
  int rows = 0, errors = 0, nevers = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    const auto t1 = line.find('\t');
    const auto t2 = line.find('\t', t1 + 1);
    ASSERT_NE(t2, std::string::npos) << line;
    const std::string spec = line.substr(0, t1);
    const int64_t after = std::stoll(line.substr(t1 + 1, t2 - t1 - 1));
    const std::string want = line.substr(t2 + 1);
    ++rows;
    auto s = parseCron(spec);
    if (want.rfind("ERR", 0) == 0) {
      ++errors;
      EXPECT_FALSE(s.ok()) << "\"" << spec << "\" should be refused: " << want;
      continue;
    }
    ASSERT_TRUE(s.ok()) << "\"" << spec << "\": " << s.error().message;
    auto next = nextFire(*s, after);
    if (want == "NEVER") {
      ++nevers;
      EXPECT_FALSE(next.has_value()) << spec << " after " << after;
    } else {
      ASSERT_TRUE(next.has_value()) << spec << " after " << after;
      EXPECT_EQ(*next, std::stoll(want)) << "\"" << spec << "\" after " << after;
    }
  }
  EXPECT_GT(rows, 1000);
  EXPECT_GT(errors, 50);
  EXPECT_GT(nevers, 3);
}

TEST(Cron, DayOfMonthAndDayOfWeekBothRestrictedFireOnEither) {
  // "0 0 13 * fri": the 13th OR any Friday. From Fri 2024-03-01: Fri 8th, then Wed 13th, then Fri 15th.
  EXPECT_EQ(fire("0 0 13 * fri", kMar1), kMar1 + 7 * kDay);
  EXPECT_EQ(fire("0 0 13 * fri", kMar1 + 7 * kDay), kMar1 + 12 * kDay);
  EXPECT_EQ(fire("0 0 13 * fri", kMar1 + 12 * kDay), kMar1 + 14 * kDay);
  // With one side `*` both must match: "0 0 13 * *" is only the 13th, "0 0 * * fri" only Fridays.
  EXPECT_EQ(fire("0 0 13 * *", kMar1), kMar1 + 12 * kDay);
  EXPECT_EQ(fire("0 0 * * fri", kMar1), kMar1 + 7 * kDay);
  // `?` and `*/1` count as `*`; `*/2` does not.
  EXPECT_EQ(fire("0 0 13 * ?", kMar1), kMar1 + 12 * kDay);
  EXPECT_EQ(fire("0 0 13 * */1", kMar1), kMar1 + 12 * kDay);
  EXPECT_EQ(fire("0 0 13 * */2", kMar1), kMar1 + 1 * kDay);  // Sat 2nd is weekday 6, even
}

TEST(Cron, DescriptorsAndStrictlyAfter) {
  EXPECT_EQ(fire("@hourly", kMar1), kMar1 + 3600);
  EXPECT_EQ(fire("@hourly", kMar1 - 1), kMar1);
  EXPECT_EQ(fire("@daily", kMar1), kMar1 + kDay);
  EXPECT_EQ(fire("@midnight", kMar1 + 1), kMar1 + kDay);
  EXPECT_EQ(fire("@weekly", kMar1), kMar1 + 2 * kDay);  // Sunday 3rd
  EXPECT_EQ(fire("@monthly", kMar1), 1711929600);       // 2024-04-01
  EXPECT_EQ(fire("@yearly", kMar1), 1735689600);        // 2025-01-01
  EXPECT_EQ(fire("@annually", kMar1), 1735689600);
  EXPECT_EQ(fire("* * * * *", kMar1 + 59), kMar1 + 60);  // the next whole minute, never `after` itself
  EXPECT_EQ(fire("@every 90s", kMar1 + 7), kMar1 + 97);
  EXPECT_EQ(fire("0 0 29 2 *", kMar1), 1835395200);  // next leap day: 2028-02-29
}

TEST(Cron, KubernetesRefusalsAreClearErrors) {
  for (const char* spec : {"TZ=UTC 0 * * * *", "CRON_TZ=Europe/Berlin 0 * * * *"}) {
    auto s = parseCron(spec);
    ASSERT_FALSE(s.ok()) << spec;
    EXPECT_NE(s.error().message.find("cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
              std::string::npos);
  }
  auto seven = parseCron("0 0 * * 7");
  ASSERT_FALSE(seven.ok());
  EXPECT_NE(seven.error().message.find("end of range above maximum: 7"), std::string::npos);
  auto four = parseCron("* * * *");
  ASSERT_FALSE(four.ok());
  EXPECT_NE(four.error().message.find("expected exactly 5 fields, found 4"), std::string::npos);
  // Bounded input: a huge schedule is refused up front, not scanned.
  std::string huge(1 << 20, ',');
  huge += " * * * *";
  auto h = parseCron(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("longer than 1024 bytes"), std::string::npos);
  // Numbers too long for an int are an error, not an overflow into a valid value.
  EXPECT_FALSE(parseCron("4294967296 * * * *").ok());
  EXPECT_FALSE(parseCron("*/99999999999 * * * *").ok());
}

// testdata/cron_robfig_tz.tsv: what the CronJob controller computes for a CronJob with .spec.timeZone,
// robfig/cron v3.0.1 `ParseStandard("TZ=" + zone + " " + spec).Next(time.Unix(after, 0))`, recorded by a
// throwaway Go program (module github.com/robfig/cron/v3 v3.0.1 from the Go proxy, Debian's zoneinfo) over
// 18 schedules × 8 zones (DST north and south, half-hour and 45-minute offsets, Lord Howe's 30-minute DST)
// × 17 start times around the 2024-2025 transitions.
TEST(Cron, AgreesWithRobfigCronInTimeZonesAcrossDst) {
  std::ifstream in(spotfit::testpaths::sourceDir() + "/tests/placement/testdata/cron_robfig_tz.tsv");
  ASSERT_TRUE(in.good());
  std::map<std::string, base::TimeZone> zones;
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    std::vector<std::string> f;
    for (size_t at = 0;;) {
      size_t tab = line.find('\t', at);
      f.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos) break;
      at = tab + 1;
    }
    ASSERT_EQ(f.size(), 4U) << line;
    auto it = zones.find(f[1]);
    if (it == zones.end()) {
      auto z = base::TimeZone::load(f[1]);
      ASSERT_TRUE(z.ok()) << f[1] << ": " << z.error().message;
      it = zones.emplace(f[1], *z).first;
    }
    auto s = parseCron(f[0]);
    ASSERT_TRUE(s.ok()) << f[0];
    auto next = nextFire(*s, std::stoll(f[2]), it->second);
    ASSERT_TRUE(next.has_value()) << line;
    EXPECT_EQ(*next, std::stoll(f[3])) << "\"" << f[0] << "\" in " << f[1] << " after " << f[2];
    ++rows;
  }
  EXPECT_GT(rows, 2000);
}

TEST(Cron, SpringForwardSkipsTheMissingTimeAndFallBackFiresAtBothOccurrences) {
  auto ny = base::TimeZone::load("America/New_York");
  ASSERT_TRUE(ny.ok()) << ny.error().message;
  auto s = parseCron("30 2 * * *");
  ASSERT_TRUE(s.ok());
  // 2024-03-10: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist; the next run is 2024-03-11 02:30 EDT.
  EXPECT_EQ(nextFire(*s, 1710028800, *ny), 1710138600);  // after 2024-03-10T00:00Z
  auto one = parseCron("30 1 * * *");
  ASSERT_TRUE(one.ok());
  // 2024-11-03: 01:30 happens twice, at 05:30Z (EDT) and 06:30Z (EST); robfig fires at both, then on the
  // 4th at 06:30Z.
  const int64_t first = 1730611800;
  EXPECT_EQ(nextFire(*one, first - 60, *ny), first);
  EXPECT_EQ(nextFire(*one, first, *ny), first + 3600);
  EXPECT_EQ(nextFire(*one, first + 3600, *ny), 1730701800);
  // UTC is the old behaviour.
  EXPECT_EQ(nextFire(*s, 1710028800, base::TimeZone::utc()), nextFire(*s, 1710028800));
}

TEST(Cron, StartingDeadline) {
  EXPECT_EQ(startDeadline(kMar1, 120), kMar1 + 120);
  EXPECT_FALSE(startDeadline(kMar1, std::nullopt).has_value());
}

}  // namespace
}  // namespace spotfit::placement
