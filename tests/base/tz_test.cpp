// The bounded TZif reader (base/tz.hpp) against the system's real zoneinfo files and hostile bytes.
#include "base/tz.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace spotfit::base {
namespace {

using namespace std::chrono_literals;

WallTime at(const char* rfc3339) {
  auto t = parseTime(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.valueOr(WallTime{});
}

LocalSeconds local(int y, unsigned m, unsigned d, int hh, int mm = 0) {
  using namespace std::chrono;
  return LocalSeconds(sys_days{year{y} / month{m} / day{d}}.time_since_epoch() + hours(hh) + minutes(mm));
}

TimeZone zone(const char* name) {
  auto z = TimeZone::load(name);
  EXPECT_TRUE(z.ok()) << name << ": " << (z.ok() ? "" : z.error().message);
  return z.ok() ? *z : TimeZone::utc();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TimeZone, NewYorkSwitchesAtTheDstTransitionsToTheSecond) {
  auto ny = zone("America/New_York");
  EXPECT_EQ(ny.name(), "America/New_York");
  EXPECT_EQ(ny.offsetAt(at("2024-01-15T12:00:00Z")), -5h);
  EXPECT_EQ(ny.offsetAt(at("2024-03-10T06:59:59Z")), -5h);
  EXPECT_EQ(ny.offsetAt(at("2024-03-10T07:00:00Z")), -4h);  // 02:00 EST -> 03:00 EDT
  EXPECT_EQ(ny.offsetAt(at("2024-11-03T05:59:59Z")), -4h);
  EXPECT_EQ(ny.offsetAt(at("2024-11-03T06:00:00Z")), -5h);  // 02:00 EDT -> 01:00 EST
  // Past the file's last transition the footer (EST5EDT,M3.2.0,M11.1.0) decides.
  EXPECT_EQ(ny.offsetAt(at("2100-07-01T00:00:00Z")), -4h);
  EXPECT_EQ(ny.offsetAt(at("2100-12-01T00:00:00Z")), -5h);
  EXPECT_EQ(ny.offsetAt(at("2100-03-14T06:59:59Z")), -5h);  // second Sunday of March 2100 is the 14th
  EXPECT_EQ(ny.offsetAt(at("2100-03-14T07:00:00Z")), -4h);
}

TEST(TimeZone, NewYorkWallClockReadingsInGapsAndOverlaps) {
  auto ny = zone("America/New_York");
  EXPECT_EQ(ny.toUtc(local(2024, 1, 1, 0)), at("2024-01-01T05:00:00Z"));
  EXPECT_EQ(ny.toUtc(local(2024, 7, 1, 0)), at("2024-07-01T04:00:00Z"));
  // 02:30 on 10 March 2024 never shows: the first instant after the gap.
  EXPECT_EQ(ny.toUtc(local(2024, 3, 10, 2, 30)), at("2024-03-10T07:00:00Z"));
  // 01:30 on 3 November 2024 shows twice: the earlier (EDT) one.
  EXPECT_EQ(ny.toUtc(local(2024, 11, 3, 1, 30)), at("2024-11-03T05:30:00Z"));
  EXPECT_EQ(ny.toLocal(at("2024-11-03T06:30:00Z")), local(2024, 11, 3, 1, 30));
}

TEST(TimeZone, KolkataIsFiveThirtyAllYear) {
  auto k = zone("Asia/Kolkata");
  for (const char* t : {"2024-01-01T00:00:00Z", "2024-07-01T00:00:00Z", "2099-03-01T00:00:00Z"}) {
    EXPECT_EQ(k.offsetAt(at(t)), 5h + 30min) << t;
  }
  EXPECT_EQ(k.toUtc(local(2024, 1, 1, 0)), at("2023-12-31T18:30:00Z"));
}

TEST(TimeZone, LordHoweHasAHalfHourDst) {
  auto lh = zone("Australia/Lord_Howe");
  // DST (+11) ends on the first Sunday of April at 02:00 local: 2024-04-07 02:00 +11 = 04-06 15:00Z.
  EXPECT_EQ(lh.offsetAt(at("2024-04-06T14:59:59Z")), 11h);
  EXPECT_EQ(lh.offsetAt(at("2024-04-06T15:00:00Z")), 10h + 30min);
  // DST starts on the first Sunday of October at 02:00 local: 2024-10-06 02:00 +10:30 = 10-05 15:30Z.
  EXPECT_EQ(lh.offsetAt(at("2024-10-05T15:29:59Z")), 10h + 30min);
  EXPECT_EQ(lh.offsetAt(at("2024-10-05T15:30:00Z")), 11h);
  // Southern summer spans New Year, in the footer's range too.
  EXPECT_EQ(lh.offsetAt(at("2099-01-01T00:00:00Z")), 11h);
  EXPECT_EQ(lh.offsetAt(at("2099-07-01T00:00:00Z")), 10h + 30min);
  // 02:10 on 6 October 2024 is in the half-hour gap.
  EXPECT_EQ(lh.toUtc(local(2024, 10, 6, 2, 10)), at("2024-10-05T15:30:00Z"));
}

TEST(TimeZone, UtcAndFixedOffsetsNeedNoFile) {
  for (const char* n : {"UTC", "Etc/UTC", "Z", "GMT"}) {
    auto z = TimeZone::load(n, "/nonexistent");
    ASSERT_TRUE(z.ok()) << n;
    EXPECT_EQ(z->offsetAt(at("2024-06-01T00:00:00Z")), 0s);
  }
  auto plus = TimeZone::load("+05:30", "/nonexistent");
  ASSERT_TRUE(plus.ok());
  EXPECT_EQ(plus->offsetAt(at("2024-06-01T00:00:00Z")), 5h + 30min);
  EXPECT_EQ(plus->name(), "+05:30");
  auto minus = TimeZone::load("UTC-03:00", "/nonexistent");
  ASSERT_TRUE(minus.ok());
  EXPECT_EQ(minus->toUtc(local(2024, 1, 1, 0)), at("2024-01-01T03:00:00Z"));
  for (const char* bad : {"+27:00", "+5", "+05:3x", "UTC+", "-", "+05:30:00:00"}) {
    auto z = TimeZone::load(bad, "/nonexistent");
    EXPECT_FALSE(z.ok()) << bad;
  }
}

TEST(TimeZone, NamesCannotLeaveTheZoneinfoDirectory) {
  for (const char* bad : {"../../etc/passwd", "/etc/passwd", "America/../../etc/passwd", "a b", "", "America//X",
                          "Europe/Berlin/", ".hidden"}) {
    auto z = TimeZone::load(bad);
    ASSERT_FALSE(z.ok()) << bad;
    EXPECT_EQ(z.error().code, "invalid") << bad;
  }
  auto missing = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");
  EXPECT_NE(missing.error().message.find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(TimeZone, RefusesEveryTruncationAndCorruptionOfARealFile) {
  const std::string ny = readFile(std::string(kZoneinfoDir) + "/America/New_York");
  ASSERT_GT(ny.size(), 1000u);
  ASSERT_TRUE(TimeZone::fromTzif(ny, "ny").ok());
  for (size_t n = 0; n < ny.size(); ++n) {
    auto z = TimeZone::fromTzif(std::string_view(ny).substr(0, n), "ny");
    ASSERT_FALSE(z.ok()) << "prefix of " << n << " bytes";
    EXPECT_EQ(z.error().code, "invalid");
    EXPECT_NE(z.error().message.find("\"ny\""), std::string::npos) << z.error().message;
  }
  std::string magic = ny;
  magic[0] = 'X';
  EXPECT_FALSE(TimeZone::fromTzif(magic, "ny").ok());
  std::string version = ny;
  version[4] = '9';
  EXPECT_FALSE(TimeZone::fromTzif(version, "ny").ok());
  // Every single-byte flip either parses or is refused; none crashes or reads out of bounds (ASan).
  for (size_t i = 0; i < ny.size(); ++i) {
    std::string flipped = ny;
    flipped[i] = static_cast<char>(flipped[i] ^ 0xff);
    auto z = TimeZone::fromTzif(flipped, "ny");
    if (z.ok()) (void)z->offsetAt(at("2024-03-10T07:00:00Z"));
  }
}

TEST(TimeZone, RefusesOversizedFilesAndCounts) {
  const std::string big(kMaxTzifBytes + 1, 'T');
  auto z = TimeZone::fromTzif(big, "big");
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.error().message.find("over the limit"), std::string::npos);
  // A v1 header that claims a million transitions.
  std::string h = "TZif";
  h += std::string(16, '\0');
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((v >> s) & 0xff);
  };
  be32(0);
  be32(0);
  be32(0);
  be32(1000000);
  be32(1);
  be32(4);
  auto many = TimeZone::fromTzif(h, "many");
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().message.find("transitions"), std::string::npos) << many.error().message;
}

TEST(TimeZone, ParsesPosixFooters) {
  auto ny = TimeZone::parsePosixTz("EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(ny->stdOffset, -5 * 3600);
  EXPECT_EQ(ny->dstOffset, -4 * 3600);
  EXPECT_EQ(ny->start.month, 3);
  EXPECT_EQ(ny->start.week, 2);
  EXPECT_EQ(ny->start.timeOfDay, 7200);
  auto lh = TimeZone::parsePosixTz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  ASSERT_TRUE(lh.ok());
  EXPECT_EQ(lh->stdOffset, 10 * 3600 + 1800);
  EXPECT_EQ(lh->dstOffset, 11 * 3600);
  auto v3 = TimeZone::parsePosixTz("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");  // America/Nuuk style, negative time
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->start.timeOfDay, -3600);
  EXPECT_TRUE(TimeZone::parsePosixTz("IST-5:30").ok());
  EXPECT_TRUE(TimeZone::parsePosixTz("XXX3YYY,J60/2,300").ok());
  for (const char* bad :
       {"", "E5", "EST", "EST5EDT", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0",
        "EST5EDT,M3.2.0", "EST5EDT,M3.2.0,M11.1.0x", "<+1030-10:30", "EST99", "EST5EDT,J0,J400"}) {
    EXPECT_FALSE(TimeZone::parsePosixTz(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace spotfit::base
