#include "kube/json.hpp"

#include <rapidjson/error/en.h>

#include <charconv>
#include <cstring>

namespace spotfit::kube::json {

std::string joinPath(std::string_view path, std::string_view key) {
  std::string p(path);
  if (!p.empty()) p += '.';
  p += key;
  return p;
}

std::string indexPath(std::string_view path, size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

namespace {

const char* typeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
  }
  return "unknown";
}

Error wrongType(std::string_view path, std::string_view key, const char* want, const Value& got) {
  return invalid(joinPath(path, key), std::string("expected ") + want + ", got " + typeName(got));
}
}  // namespace

Error invalid(std::string_view path, std::string_view what) {
  return makeError("invalid", std::string(path) + ": " + std::string(what));
}

Result<Document> parse(std::string_view text) {
  Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) {
    return makeError("invalid", std::string("malformed JSON at offset ") + std::to_string(d.GetErrorOffset()) +
                                    ": " + rapidjson::GetParseError_En(d.GetParseError()));
  }
  return d;
}

Result<Document> parseInsitu(char* buffer) {
  Document d;
  d.ParseInsitu(buffer);
  if (d.HasParseError()) {
    return makeError("invalid", std::string("malformed JSON at offset ") + std::to_string(d.GetErrorOffset()) +
                                    ": " + rapidjson::GetParseError_En(d.GetParseError()));
  }
  return d;
}

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

const Value* find(const Value& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Result<std::optional<std::string_view>> optString(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = find(obj, key);
  if (v == nullptr) return std::optional<std::string_view>{};
  if (!v->IsString()) return wrongType(path, key, "string", *v);
  return std::optional<std::string_view>{view(*v)};
}

Result<std::optional<int64_t>> optInt(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = find(obj, key);
  if (v == nullptr) return std::optional<int64_t>{};
  if (!v->IsInt64()) return wrongType(path, key, "integer", *v);
  return std::optional<int64_t>{v->GetInt64()};
}

Result<std::optional<bool>> optBool(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = find(obj, key);
  if (v == nullptr) return std::optional<bool>{};
  if (!v->IsBool()) return wrongType(path, key, "boolean", *v);
  return std::optional<bool>{v->GetBool()};
}

Result<const Value*> optObject(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = find(obj, key);
  if (v == nullptr) return static_cast<const Value*>(nullptr);
  if (!v->IsObject()) return wrongType(path, key, "object", *v);
  return v;
}

Result<const Value*> optArray(const Value& obj, std::string_view key, std::string_view path) {
  const Value* v = find(obj, key);
  if (v == nullptr) return static_cast<const Value*>(nullptr);
  if (!v->IsArray()) return wrongType(path, key, "array", *v);
  return v;
}

Result<std::string_view> reqString(const Value& obj, std::string_view key, std::string_view path) {
  auto r = optString(obj, key, path);
  if (!r.ok()) return r.error();
  if (!r->has_value()) return invalid(joinPath(path, key), "missing field");
  return **r;
}

Result<const Value*> reqObject(const Value& obj, std::string_view key, std::string_view path) {
  auto r = optObject(obj, key, path);
  if (!r.ok()) return r.error();
  if (*r == nullptr) return invalid(joinPath(path, key), "missing field");
  return *r;
}

Result<IntOrString> intOrString(const Value& v, std::string_view path) {
  IntOrString out;
  if (v.IsInt64()) {
    out.value = v.GetInt64();
    if (out.value < 0) return invalid(path, "must not be negative");
    return out;
  }
  if (!v.IsString()) return invalid(path, std::string("expected integer or string, got ") + typeName(v));
  std::string_view s = view(v);
  out.isString = true;
  if (!s.empty() && s.back() == '%') {
    out.isPercent = true;
    s.remove_suffix(1);
  }
  if (s.empty()) return invalid(path, "empty value");
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out.value);
  if (ec != std::errc() || ptr != s.data() + s.size() || out.value < 0) {
    return invalid(path, "not a non-negative integer or percentage: \"" + std::string(view(v)) + "\"");
  }
  return out;
}

std::string toString(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void appendQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  appendQuoted(out, s);
  return out;
}

std::string escapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace spotfit::kube::json
