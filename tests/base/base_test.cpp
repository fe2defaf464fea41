// The std-only base module: base64, RFC 3339 time, the one duration grammar, JSON string escaping.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/base64.hpp"
#include "base/duration.hpp"
#include "base/json_escape.hpp"
#include "base/time.hpp"

namespace spotfit::base {
namespace {

using namespace std::chrono_literals;

TEST(Base64, EncodesPadded) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode("[]"), "W10=");
}

TEST(Base64, StrictRoundTripsAllLengthsAndRefusesSloppyInput) {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    auto enc = base64Encode(s);
    EXPECT_EQ(enc.size() % 4, 0u);
    auto dec = base64Decode(enc);
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, s);
    s += static_cast<char>(i * 37);
  }
  for (const char* bad : {"Zm9", "Zm=v", "Zm9*", "aGVs\nbG8=", "-_-_", "aGVsbG8"}) {
    auto r = base64Decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid");
  }
}

TEST(Base64, LenientTakesWhitespaceUrlAlphabetAndMissingPadding) {
  EXPECT_EQ(*base64Decode("aGVsbG8=", Base64::kLenient), "hello");
  EXPECT_EQ(*base64Decode("aGVs\nbG8", Base64::kLenient), "hello");
  EXPECT_EQ(*base64Decode("-_-_", Base64::kLenient), *base64Decode("+/+/", Base64::kLenient));
  EXPECT_FALSE(base64Decode("a$b", Base64::kLenient).ok());
  EXPECT_FALSE(base64Decode("aGVsbG8=x", Base64::kLenient).ok());
}

TEST(Time, ParsesRfc3339VariantsAndRejectsGarbage) {
  auto t = parseTime("2024-05-01T10:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(), 1714557600);
  auto off = parseTime("2024-05-01T12:00:00+02:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, *t);
  auto micro = parseTime("2024-05-01T10:00:00.5Z");
  ASSERT_TRUE(micro.ok());
  EXPECT_EQ(formatMicroTime(*micro), "2024-05-01T10:00:00.500000Z");
  EXPECT_EQ(formatTime(WallTime{}), "1970-01-01T00:00:00Z");
  for (const char* bad : {"", "2024-05-01", "2024-13-01T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01T10:00:00.Z",
                          "2024-05-01T10:00:00Zjunk", "abcd-05-01T10:00:00Z"}) {
    EXPECT_FALSE(parseTime(bad).ok()) << bad;
  }
}

// Go's time.ParseDuration, plus "d", to the millisecond.
TEST(Duration, ParsesGoGrammar) {
  EXPECT_EQ(parseDuration("0").value(), 0ms);
  EXPECT_EQ(parseDuration("1s").value(), 1s);
  EXPECT_EQ(parseDuration("90s").value(), 90s);
  EXPECT_EQ(parseDuration("1h30m").value(), 90min);
  EXPECT_EQ(parseDuration("500ms").value(), 500ms);
  EXPECT_EQ(parseDuration("1.5s").value(), 1500ms);
  EXPECT_EQ(parseDuration(".5s").value(), 500ms);
  EXPECT_EQ(parseDuration("1.5h").value(), 90min);
  EXPECT_EQ(parseDuration("2d").value(), 48h);
  EXPECT_EQ(parseDuration("1500us").value(), 1ms);
  EXPECT_EQ(parseDuration("1500us1500us").value(), 3ms);
  EXPECT_EQ(parseDuration("2000000ns").value(), 2ms);
  EXPECT_EQ(parseDuration("1\xC2\xB5s").value(), 0ms);
  EXPECT_EQ(parseDuration("1h0m0.25s").value(), 1h + 250ms);
}

TEST(Duration, RefusesWhatGoRefuses) {
  // A bare number other than "0" has no unit in Go either; signs, spaces, unknown units, overflow.
  for (const char* bad : {"", "10", "1.5", "-1s", "+1s", "1x", "s", "h", "1s2", "1..5s", ".s", "1 s", " 1s",
                          "5 minutes", "99999999999999999999h", "9223372036854775807d"}) {
    auto r = parseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid");
    EXPECT_NE(r.error().message.find("invalid duration"), std::string::npos) << r.error().message;
  }
}

TEST(Duration, FormatRoundTrips) {
  for (auto d : {Millis(0), Millis(1500), Millis(90000), Millis(3600000 + 1), Millis(49 * 3600 * 1000)}) {
    EXPECT_EQ(parseDuration(formatDuration(d)).value(), d) << formatDuration(d);
  }
  EXPECT_EQ(formatDuration(90s), "1m30s");
  EXPECT_EQ(formatDuration(1500ms), "1s500ms");
  EXPECT_EQ(formatDuration(0ms), "0s");
}

TEST(JsonEscape, EscapesQuotesBackslashAndControlCharacters) {
  std::string out;
  appendJsonEscaped(out, std::string("a\x01"
                                     "b\\c\t\"\b\f\r\n"));
  EXPECT_EQ(out, "a\\u0001b\\\\c\\t\\\"\\b\\f\\r\\n");
  EXPECT_EQ(jsonQuoted("x\x1f"), "\"x\\u001f\"");
  EXPECT_EQ(jsonEscaped("caf\xC3\xA9"), "caf\xC3\xA9");  // bytes >= 0x20 are copied
}

}  // namespace
}  // namespace spotfit::base
