#include "kube/json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

#include "base/json_escape.hpp"

namespace spotfit::kube::json {

std::string joinPath(std::string_view path, std::string_view key) {
  std::string p(path);
  if (!p.empty()) p += '.';
  p += key;
  return p;
}

std::string indexPath(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

namespace {

const char* typeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
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

namespace {

// Forwards SAX events to a Document while enforcing ParseLimits; a refusal stops the reader (which then
// reports kParseErrorTermination at the offending byte) and leaves the reason in `refusal`.
class BoundedHandler {
 public:
  BoundedHandler(Document& d, const ParseLimits& limits) : d_(d), limits_(limits) {}

  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned u) { return d_.Uint(u); }
  bool Int64(int64_t i) { return d_.Int64(i); }
  bool Uint64(uint64_t u) { return d_.Uint64(u); }
  bool Double(double v) { return d_.Double(v); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return d_.RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    if (!validUtf8({s, n})) return refuse("string is not valid UTF-8 (or holds an unpaired surrogate)");
    return d_.String(s, n, copy);
  }
  bool StartObject() {
    if (!enter()) return false;
    frames_.push_back(Frame{keys_.size(), nullptr});
    return d_.StartObject();
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    std::string_view key(s, n);
    if (!validUtf8(key)) return refuse("object key is not valid UTF-8 (or holds an unpaired surrogate)");
    Frame& f = frames_.back();
    const size_t count = keys_.size() - f.firstKey;
    if (count >= limits_.maxMembers) {
      return refuse("object has more than " + std::to_string(limits_.maxMembers) + " members");
    }
    // Small objects compare linearly; from kIndexFrom members on, a hash set keeps the check linear.
    bool duplicate = false;
    if (f.index) {
      duplicate = f.index->count(key) != 0;
    } else {
      for (size_t i = f.firstKey; i < keys_.size() && !duplicate; ++i) duplicate = keys_[i] == key;
    }
    if (duplicate) return refuse("duplicate object key " + quoted(key.substr(0, 64)));
    keys_.emplace_back(key);  // a deque: earlier keys (and views of them) stay where they are
    if (f.index) {
      f.index->insert(keys_.back());
    } else if (count + 1 >= kIndexFrom) {
      f.index = std::make_unique<std::unordered_set<std::string_view>>();
      for (size_t i = f.firstKey; i < keys_.size(); ++i) f.index->insert(keys_[i]);
    }
    return d_.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType members) {
    keys_.resize(frames_.back().firstKey);
    frames_.pop_back();
    --depth_;
    return d_.EndObject(members);
  }
  bool StartArray() { return enter() && d_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return d_.EndArray(elements);
  }

  std::string refusal;

 private:
  static constexpr size_t kIndexFrom = 16;
  struct Frame {
    size_t firstKey;  // index in keys_ of this object's first key
    std::unique_ptr<std::unordered_set<std::string_view>> index;
  };

  bool enter() {
    if (++depth_ > limits_.maxDepth)
      return refuse("nested deeper than " + std::to_string(limits_.maxDepth) + " levels");
    return true;
  }
  bool refuse(std::string why) {
    refusal = std::move(why);
    return false;
  }

  Document& d_;
  const ParseLimits& limits_;
  int depth_ = 0;
  std::vector<Frame> frames_;     // open objects (arrays need no frame)
  std::deque<std::string> keys_;  // keys of the open objects, innermost last
};

template <unsigned Flags, typename Stream>
Status parseStream(Document& d, Stream& in, const ParseLimits& limits) {
  constexpr unsigned kFlags = Flags | rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  d.SetNull();
  rapidjson::ParseResult result;
  std::string refusal;
  auto generate = [&](Document& target) {
    BoundedHandler h(target, limits);
    spotfit::kube::json::Reader reader;
    result = reader.Parse<kFlags>(in, h);
    refusal = std::move(h.refusal);
    return !result.IsError();
  };
  d.Populate(generate);
  if (!result.IsError()) return {};
  d.SetNull();
  const std::string why = !refusal.empty() ? refusal : rapidjson::GetParseError_En(result.Code());
  return makeError("invalid", "malformed JSON at offset " + std::to_string(result.Offset()) + ": " + why);
}

}  // namespace

Status parseInto(Document& d, std::string_view text, const ParseLimits& limits) {
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(ms);
  return parseStream<rapidjson::kParseNoFlags>(d, in, limits);
}

Status parseInsituInto(Document& d, std::string& buffer, const ParseLimits& limits) {
  buffer.append(kInsituPadding, '\0');
  rapidjson::InsituStringStream in(buffer.data());
  return parseStream<rapidjson::kParseInsituFlag>(d, in, limits);
}

Result<Document> parse(std::string_view text, const ParseLimits& limits) {
  Document d;
  if (Status s = parseInto(d, text, limits); !s) return s.error();
  return d;
}

Result<Document> parseInsitu(std::string& buffer, const ParseLimits& limits) {
  Document d;
  if (Status s = parseInsituInto(d, buffer, limits); !s) return s.error();
  return d;
}

bool validUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte without a lead, or 0xF8..0xFF
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

std::string_view view(const Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

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
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void appendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  base::appendJsonEscaped(out, s);
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
