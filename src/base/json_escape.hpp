#pragma once
// JSON string escaping for the hand-written JSON spotfit emits (log lines, status pages, reports, the
// RapidJSON-free encoders): quotes, backslash and control characters are escaped, other bytes are copied.

#include <string>
#include <string_view>

namespace spotfit::base {

// Appends `s` escaped, without surrounding quotes.
void appendJsonEscaped(std::string& out, std::string_view s);
// `s` escaped, without quotes.
std::string jsonEscaped(std::string_view s);
// `s` escaped and quoted: "\"...\"".
std::string jsonQuoted(std::string_view s);

}  // namespace spotfit::base
