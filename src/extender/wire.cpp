#include "extender/wire.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "kube/json.hpp"

namespace spotfit::extender {
namespace {

Error invalid(std::string message) {
  return makeError("invalid", std::move(message));
}

std::string_view view(const spotfit::kube::json::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

const char* typeName(const spotfit::kube::json::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "unknown";
}

const spotfit::kube::json::Value* member(const spotfit::kube::json::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

using Writer = spotfit::kube::json::Writer<>;

void writeKey(Writer& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
void writeString(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void writeReasons(Writer& w, const char* key, const std::vector<std::pair<std::string_view, std::string>>& reasons) {
  w.Key(key);
  w.StartObject();
  for (const auto& [name, reason] : reasons) {
    writeKey(w, name);
    writeString(w, reason);
  }
  w.EndObject();
}

// A structural scan of the untouched request body that finds the byte range of every element of
// Nodes.items, so filter can echo the passing Node objects as received instead of re-serializing them
// (re-encoding 500 real-sized Nodes costs more than the rest of the request). The DOM has already
// validated the document; any surprise here (an escaped key, a count mismatch) returns false and the
// encoder falls back to re-serializing from the DOM.
class RawScanner {
 public:
  explicit RawScanner(std::string_view text) : s_(text) {}

  bool nodeItems(std::vector<std::string_view>& out) {
    ws();
    if (!eat('{')) return false;
    while (true) {
      ws();
      if (eat('}')) return false;  // no Nodes.items found
      std::string_view key;
      if (!rawString(key)) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      if (key == "Nodes") return itemsOf(out);
      if (!skipValue()) return false;
      ws();
      if (!eat(',')) return false;
    }
  }

 private:
  bool itemsOf(std::vector<std::string_view>& out) {
    if (!eat('{')) return false;
    while (true) {
      ws();
      if (eat('}')) return false;
      std::string_view key;
      if (!rawString(key)) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      if (key == "items") {
        if (!eat('[')) return false;
        ws();
        if (eat(']')) return true;
        while (true) {
          const std::size_t start = p_;
          if (!skipValue()) return false;
          out.push_back(s_.substr(start, p_ - start));
          ws();
          if (eat(']')) return true;
          if (!eat(',')) return false;
          ws();
        }
      }
      if (!skipValue()) return false;
      ws();
      if (!eat(',')) return false;
    }
  }

  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) ++p_;
  }
  bool eat(char c) {
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  // Skips a string starting at p_ (on its opening quote); p_ ends after the closing quote.
  bool skipString() {
    std::size_t i = p_ + 1;
    while (true) {
      const std::size_t q = s_.find('"', i);
      if (q == std::string_view::npos) return false;
      std::size_t backslashes = 0;
      for (std::size_t j = q; j > p_ + 1 && s_[j - 1] == '\\'; --j) ++backslashes;
      if (backslashes % 2 == 0) {
        p_ = q + 1;
        return true;
      }
      i = q + 1;
    }
  }
  // A key without escapes (keys with escapes make the scan give up).
  bool rawString(std::string_view& out) {
    if (p_ >= s_.size() || s_[p_] != '"') return false;
    const std::size_t start = p_ + 1;
    if (!skipString()) return false;
    out = s_.substr(start, p_ - 1 - start);
    return out.find('\\') == std::string_view::npos;
  }
  bool skipValue() {
    if (p_ >= s_.size()) return false;
    const char c = s_[p_];
    if (c == '"') return skipString();
    if (c == '{' || c == '[') {
      int depth = 0;
      while (p_ < s_.size()) {
        const char d = s_[p_];
        if (d == '"') {
          if (!skipString()) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          if (--depth == 0) {
            ++p_;
            return true;
          }
        }
        ++p_;
      }
      return false;
    }
    while (p_ < s_.size() && s_[p_] != ',' && s_[p_] != '}' && s_[p_] != ']' && s_[p_] != ' ' && s_[p_] != '\n' &&
           s_[p_] != '\r' && s_[p_] != '\t') {
      ++p_;
    }
    return true;
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

}  // namespace

Result<ExtenderArgs> decodeExtenderArgs(std::string_view body) {
  ExtenderArgs args;
  args.buffer_ = std::make_unique<std::string>(body);
  args.doc_ = std::make_unique<spotfit::kube::json::Document>();
  auto& doc = *args.doc_;
  if (body.find('\0') != std::string_view::npos) return invalid("ExtenderArgs contains a NUL byte");
  if (Status parsed = kube::json::parseInsituInto(doc, *args.buffer_); !parsed) {
    return invalid("ExtenderArgs is not valid JSON: " + parsed.error().message);
  }
  if (!doc.IsObject()) return invalid(std::string("ExtenderArgs must be a JSON object, got ") + typeName(doc));

  const spotfit::kube::json::Value* pod = member(doc, "Pod");
  if (pod == nullptr || pod->IsNull()) return invalid("ExtenderArgs.Pod is missing");
  if (!pod->IsObject()) return invalid(std::string("ExtenderArgs.Pod must be an object, got ") + typeName(*pod));
  args.pod = pod;

  const spotfit::kube::json::Value* nodes = member(doc, "Nodes");
  const spotfit::kube::json::Value* names = member(doc, "NodeNames");
  const bool haveNodes = nodes != nullptr && !nodes->IsNull();
  const bool haveNames = names != nullptr && !names->IsNull();
  if (haveNodes && haveNames) {
    return invalid("ExtenderArgs has both Nodes and NodeNames; kube-scheduler sends exactly one of them");
  }
  if (!haveNodes && !haveNames) return invalid("ExtenderArgs has neither Nodes nor NodeNames");

  if (haveNames) {
    args.mode = NodeMode::kNames;
    if (!names->IsArray())
      return invalid(std::string("ExtenderArgs.NodeNames must be an array, got ") + typeName(*names));
    args.nodeNames.reserve(names->Size());
    for (rapidjson::SizeType i = 0; i < names->Size(); ++i) {
      const auto& n = (*names)[i];
      if (!n.IsString() || n.GetStringLength() == 0) {
        return invalid("ExtenderArgs.NodeNames[" + std::to_string(i) + "] must be a non-empty string, got " +
                       (n.IsString() ? std::string("an empty string") : std::string(typeName(n))));
      }
      args.nodeNames.push_back(view(n));
    }
    return args;
  }

  args.mode = NodeMode::kObjects;
  args.original_ = body;
  if (!nodes->IsObject())
    return invalid(std::string("ExtenderArgs.Nodes must be a NodeList object, got ") + typeName(*nodes));
  const spotfit::kube::json::Value* items = member(*nodes, "items");
  if (items == nullptr || items->IsNull()) return args;  // an empty NodeList (Go encodes a nil slice as null)
  if (!items->IsArray())
    return invalid(std::string("ExtenderArgs.Nodes.items must be an array, got ") + typeName(*items));
  args.nodeNames.reserve(items->Size());
  args.nodes.reserve(items->Size());
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const auto& node = (*items)[i];
    const std::string where = "ExtenderArgs.Nodes.items[" + std::to_string(i) + "]";
    if (!node.IsObject()) return invalid(where + " must be a Node object, got " + typeName(node));
    const spotfit::kube::json::Value* meta = member(node, "metadata");
    if (meta == nullptr || !meta->IsObject()) return invalid(where + ".metadata must be an object");
    const spotfit::kube::json::Value* name = member(*meta, "name");
    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
      return invalid(where + ".metadata.name must be a non-empty string");
    }
    args.nodeNames.push_back(view(*name));
    args.nodes.push_back(&node);
  }
  return args;
}

std::string encodeFilterResult(const ExtenderArgs& args, const FilterOutcome& outcome) {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("Nodes");
  std::vector<std::string_view> raw;
  if (args.mode == NodeMode::kObjects) {
    // A v1.NodeList as Go encodes it, with the passing Node objects echoed as received: kube-scheduler
    // versions differ in whether they look the returned items up by name or use the returned objects
    // themselves (kubernetes/kubernetes#141919), so the objects must be complete.
    if (!outcome.passed.empty() && (!RawScanner(args.original_).nodeItems(raw) || raw.size() != args.nodes.size())) {
      raw.clear();
    }
    if (!raw.empty()) {
      w.RawValue("", 0, rapidjson::kObjectType);  // placeholder, replaced below
    } else {
      w.StartObject();
      w.Key("metadata");
      w.StartObject();
      w.EndObject();
      w.Key("items");
      w.StartArray();
      for (std::size_t i : outcome.passed) args.nodes[i]->Accept(w);
      w.EndArray();
      w.EndObject();
    }
  } else {
    w.Null();
  }
  w.Key("NodeNames");
  if (args.mode == NodeMode::kNames) {
    w.StartArray();
    for (std::size_t i : outcome.passed) writeString(w, args.nodeNames[i]);
    w.EndArray();
  } else {
    w.Null();
  }
  writeReasons(w, "FailedNodes", outcome.failed);
  writeReasons(w, "FailedAndUnresolvableNodes", outcome.unresolvable);
  w.Key("Error");
  writeString(w, outcome.error);
  w.EndObject();
  std::string_view encoded(buf.GetString(), buf.GetSize());
  if (raw.empty()) return std::string(encoded);
  // Splice the raw items in where the empty placeholder was written (right after "Nodes":).
  constexpr std::string_view kHead = "{\"Nodes\":";
  std::size_t bytes = encoded.size() + 32;
  for (std::size_t i : outcome.passed) bytes += raw[i].size() + 1;
  std::string out;
  out.reserve(bytes);
  out.append(kHead).append("{\"metadata\":{},\"items\":[");
  for (std::size_t k = 0; k < outcome.passed.size(); ++k) {
    if (k != 0) out.push_back(',');
    out.append(raw[outcome.passed[k]]);
  }
  out.append("]}");
  out.append(encoded.substr(kHead.size()));
  return out;
}

std::string encodeFilterError(std::string_view message) {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("Nodes");
  w.Null();
  w.Key("NodeNames");
  w.Null();
  w.Key("FailedNodes");
  w.StartObject();
  w.EndObject();
  w.Key("FailedAndUnresolvableNodes");
  w.StartObject();
  w.EndObject();
  w.Key("Error");
  writeString(w, message);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string encodeHostPriorityList(const std::vector<HostPriority>& priorities) {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartArray();
  for (const auto& p : priorities) {
    w.StartObject();
    w.Key("Host");
    writeString(w, p.host);
    w.Key("Score");
    w.Int64(std::clamp<int64_t>(p.score, 0, kMaxExtenderPriority));
    w.EndObject();
  }
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace spotfit::extender
