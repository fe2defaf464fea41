#include "extender/wire.hpp"

#include <algorithm>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace spotfit::extender {
namespace {

Error invalid(std::string message) { return makeError("invalid", std::move(message)); }

std::string_view view(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

const char* typeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return "a number";
  }
  return "unknown";
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void writeKey(Writer& w, std::string_view key) { w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size())); }
void writeString(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void writeReasons(Writer& w, const char* key, const std::vector<std::pair<std::string_view, std::string>>& reasons) {
  w.Key(key);
  w.StartObject();
  for (const auto& [name, reason] : reasons) {
    writeKey(w, name);
    writeString(w, reason);
  }
  w.EndObject();
}

}  // namespace

Result<ExtenderArgs> decodeExtenderArgs(std::string_view body) {
  ExtenderArgs args;
  args.buffer_ = std::make_unique<std::string>(body);
  args.doc_ = std::make_unique<rapidjson::Document>();
  auto& doc = *args.doc_;
  if (body.find('\0') != std::string_view::npos) return invalid("ExtenderArgs contains a NUL byte");
  doc.ParseInsitu(args.buffer_->data());
  if (doc.HasParseError()) {
    return invalid(std::string("ExtenderArgs is not valid JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                   " (at byte " + std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) return invalid(std::string("ExtenderArgs must be a JSON object, got ") + typeName(doc));

  const rapidjson::Value* pod = member(doc, "Pod");
  if (pod == nullptr || pod->IsNull()) return invalid("ExtenderArgs.Pod is missing");
  if (!pod->IsObject()) return invalid(std::string("ExtenderArgs.Pod must be an object, got ") + typeName(*pod));
  args.pod = pod;

  const rapidjson::Value* nodes = member(doc, "Nodes");
  const rapidjson::Value* names = member(doc, "NodeNames");
  const bool haveNodes = nodes != nullptr && !nodes->IsNull();
  const bool haveNames = names != nullptr && !names->IsNull();
  if (haveNodes && haveNames) {
    return invalid("ExtenderArgs has both Nodes and NodeNames; kube-scheduler sends exactly one of them");
  }
  if (!haveNodes && !haveNames) return invalid("ExtenderArgs has neither Nodes nor NodeNames");

  if (haveNames) {
    args.mode = NodeMode::kNames;
    if (!names->IsArray()) return invalid(std::string("ExtenderArgs.NodeNames must be an array, got ") + typeName(*names));
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
  if (!nodes->IsObject()) return invalid(std::string("ExtenderArgs.Nodes must be a NodeList object, got ") + typeName(*nodes));
  const rapidjson::Value* items = member(*nodes, "items");
  if (items == nullptr || items->IsNull()) return args;  // an empty NodeList (Go encodes a nil slice as null)
  if (!items->IsArray()) return invalid(std::string("ExtenderArgs.Nodes.items must be an array, got ") + typeName(*items));
  args.nodeNames.reserve(items->Size());
  args.nodes.reserve(items->Size());
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const auto& node = (*items)[i];
    const std::string where = "ExtenderArgs.Nodes.items[" + std::to_string(i) + "]";
    if (!node.IsObject()) return invalid(where + " must be a Node object, got " + typeName(node));
    const rapidjson::Value* meta = member(node, "metadata");
    if (meta == nullptr || !meta->IsObject()) return invalid(where + ".metadata must be an object");
    const rapidjson::Value* name = member(*meta, "name");
    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
      return invalid(where + ".metadata.name must be a non-empty string");
    }
    args.nodeNames.push_back(view(*name));
    args.nodes.push_back(&node);
  }
  return args;
}

std::string encodeFilterResult(const ExtenderArgs& args, const FilterOutcome& outcome) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("Nodes");
  if (args.mode == NodeMode::kObjects) {
    // A v1.NodeList as Go encodes it. kube-scheduler maps the returned items back to its own NodeInfos by
    // name; echoing the objects as received keeps the answer a faithful NodeList.
    w.StartObject();
    w.Key("metadata");
    w.StartObject();
    w.EndObject();
    w.Key("items");
    w.StartArray();
    for (std::size_t i : outcome.passed) args.nodes[i]->Accept(w);
    w.EndArray();
    w.EndObject();
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
  return {buf.GetString(), buf.GetSize()};
}

std::string encodeFilterError(std::string_view message) {
  rapidjson::StringBuffer buf;
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
  rapidjson::StringBuffer buf;
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
