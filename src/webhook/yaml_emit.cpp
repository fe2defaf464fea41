#include "webhook/yaml_emit.hpp"

#include <yaml-cpp/yaml.h>

#include <array>
#include <string_view>

namespace spotfit::webhook {
namespace {

// Plain scalars YAML 1.1 or 1.2 decoders resolve to null, a boolean or a number.
bool needsQuotes(std::string_view s) {
  if (s.empty()) return true;
  static constexpr std::array<std::string_view, 27> kWords = {
      "~",   "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y",   "Y",   "yes", "Yes",
      "YES", "n",    "N",    "no",   "No",   "NO",   "on",   "On",    "ON",    "off",   "Off", "OFF", "<<"};
  for (std::string_view w : kWords) {
    if (s == w) return true;
  }
  const char c = s.front();
  // Numbers in any spelling (1, -1, +1, .5, 0755, 0x1f, 1e3, 1_000, 12:30, 2024-01-01) start like this.
  if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') return true;
  return s == ".inf" || s == ".nan";
}

void emit(YAML::Emitter& out, const json::Value& v, int depth) {
  if (depth > 200) {  // json::Documents from our decoders nest less deeply than this
    out << YAML::Null;
    return;
  }
  switch (v.GetType()) {
    case rapidjson::kNullType:
      out << YAML::Null;
      return;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      out << YAML::TrueFalseBool << v.GetBool();
      return;
    case rapidjson::kNumberType:
      out << json::serialize(v);
      return;
    case rapidjson::kStringType: {
      const std::string s(json::view(v));
      if (needsQuotes(s)) out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case rapidjson::kArrayType:
      if (v.Empty()) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : v.GetArray()) emit(out, item, depth + 1);
      out << YAML::EndSeq;
      return;
    case rapidjson::kObjectType:
      if (v.MemberCount() == 0) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& m : v.GetObject()) {
        out << YAML::Key;
        emit(out, m.name, depth + 1);
        out << YAML::Value;
        emit(out, m.value, depth + 1);
      }
      out << YAML::EndMap;
      return;
  }
}

}  // namespace

std::string jsonToYaml(const json::Value& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, value, 0);
  std::string s = out.c_str();
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

}  // namespace spotfit::webhook
