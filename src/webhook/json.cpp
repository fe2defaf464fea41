#include "webhook/json.hpp"

#include "kube/json.hpp"

namespace spotfit::webhook::json {
namespace {

Value& typedMember(Value& obj, std::string_view key, rapidjson::Type type, Allocator& a) {
  auto it = obj.FindMember(ref(key));
  if (it == obj.MemberEnd()) {
    obj.AddMember(str(key, a), Value(type), a);
    return (obj.MemberEnd() - 1)->value;
  }
  if (it->value.GetType() != type) it->value = Value(type);
  return it->value;
}

}  // namespace

Value& objectMember(Value& obj, std::string_view key, Allocator& a) {
  return typedMember(obj, key, rapidjson::kObjectType, a);
}

Value& arrayMember(Value& obj, std::string_view key, Allocator& a) {
  return typedMember(obj, key, rapidjson::kArrayType, a);
}

void set(Value& obj, std::string_view key, Value value, Allocator& a) {
  auto it = obj.FindMember(ref(key));
  if (it == obj.MemberEnd()) {
    obj.AddMember(str(key, a), value, a);
  } else {
    it->value = value;
  }
}

std::string serialize(const Value& v) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void write(spotfit::kube::json::Writer<>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace spotfit::webhook::json
