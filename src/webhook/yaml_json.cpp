#include "webhook/yaml_json.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "kube/json.hpp"
#include "kube/yaml.hpp"

namespace spotfit::webhook {
namespace {

struct Converting {
  std::string message;
};

bool isInt(const std::string& s, int64_t& v) {
  std::string_view t = s;
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  if (t.empty()) return false;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && end == t.data() + t.size();
}

bool isFloat(const std::string& s, double& v) {
  // YAML 1.2 core schema floats: digits with a '.' or an exponent (not "1_000", ".inf" is left a string).
  bool digit = false, marker = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' || c == 'e' || c == 'E') {
      marker = true;
    } else if (c != '-' && c != '+') {
      return false;
    }
  }
  if (!digit || !marker) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

json::Value convert(const YAML::Node& n, json::Allocator& a, int depth) {
  if (depth > 200) throw Converting{"document nests deeper than 200 levels"};
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json::Value(rapidjson::kNullType);
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (!kube::json::validUtf8(s)) {
        throw Converting{"text is not valid UTF-8 (line " + std::to_string(n.Mark().line + 1) + ")"};
      }
      if (n.Tag() == "?") {  // plain (unquoted) scalar: resolve its type
        if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
          return json::Value(rapidjson::kNullType);
        if (s == "true" || s == "True" || s == "TRUE") return json::Value(true);
        if (s == "false" || s == "False" || s == "FALSE") return json::Value(false);
        int64_t i = 0;
        if (isInt(s, i)) return json::Value(i);
        double d = 0;
        if (isFloat(s, d)) return json::Value(d);
      }
      return json::str(s, a);
    }
    case YAML::NodeType::Sequence: {
      json::Value arr(rapidjson::kArrayType);
      for (const auto& item : n) arr.PushBack(convert(item, a, depth + 1), a);
      return arr;
    }
    case YAML::NodeType::Map: {
      json::Value obj(rapidjson::kObjectType);
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          throw Converting{"mapping keys must be scalars (line " + std::to_string(kv.first.Mark().line + 1) + ")"};
        // kube::yaml::loadAll refused repeated keys already (in linear time).
        const std::string& key = kv.first.Scalar();
        if (!kube::json::validUtf8(key)) {
          throw Converting{"key is not valid UTF-8 (line " + std::to_string(kv.first.Mark().line + 1) + ")"};
        }
        obj.AddMember(json::str(key, a), convert(kv.second, a, depth + 1), a);
      }
      return obj;
    }
  }
  return json::Value(rapidjson::kNullType);
}

}  // namespace

Status yamlToJsonAll(std::string_view text, std::vector<json::Document>& out, std::string_view source) {
  try {
    // Bounded: input size, nodes, depth, alias expansion, repeated keys, yaml-cpp stalls (see kube/yaml.hpp).
    auto loaded = kube::yaml::loadAll(text, kube::yaml::kDefaultYamlLimits, source);
    if (!loaded.ok()) return loaded.error();
    for (const auto& d : *loaded) {
      if (!d || d.IsNull()) continue;
      json::Document doc;
      json::Value v = convert(d, doc.GetAllocator(), 0);
      static_cast<json::Value&>(doc) = v;
      out.push_back(std::move(doc));
    }
  } catch (const YAML::Exception& e) {
    if (source.empty()) return makeError("invalid", std::string("not valid YAML: ") + e.what());
    std::string line = e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : "";
    return makeError("invalid", std::string(source) + line + ": not valid YAML: " + e.msg);
  } catch (const Converting& e) {
    return makeError("invalid", source.empty() ? e.message : std::string(source) + ": " + e.message);
  }
  return {};
}

Status yamlToJson(std::string_view text, json::Document& out) {
  std::vector<json::Document> docs;
  if (Status s = yamlToJsonAll(text, docs); !s) return s;
  if (docs.empty()) return makeError("invalid", "the input holds no document");
  out.Swap(docs.front());
  return {};
}

}  // namespace spotfit::webhook
