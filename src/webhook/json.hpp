#pragma once
// Small helpers over RapidJSON used by the webhook: type-safe member access (untrusted input never
// reaches a RapidJSON assertion), string building and serialisation.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kube/json.hpp"

namespace spotfit::webhook::json {

// The throwing-allocator types of kube/json.hpp.
using Value = kube::json::Value;
using Document = kube::json::Document;
using Allocator = kube::json::Allocator;

inline std::string_view view(const Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

inline rapidjson::GenericStringRef<char> ref(std::string_view s) {
  return rapidjson::StringRef(s.data(), s.size());
}

// A string value that owns a copy of `s` (allocated in `a`).
inline Value str(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// Member `key` of `obj` when `obj` is an object and the member exists, else nullptr.
inline const Value* member(const Value& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(ref(key));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}
// Member `key` when it is an object (an array), else nullptr.
inline const Value* object(const Value& obj, std::string_view key) {
  const Value* v = member(obj, key);
  return v && v->IsObject() ? v : nullptr;
}
inline const Value* array(const Value& obj, std::string_view key) {
  const Value* v = member(obj, key);
  return v && v->IsArray() ? v : nullptr;
}
// The same look-ups on a value the caller may change: `obj` is not const, so neither is its member.
inline Value* member(Value& obj, std::string_view key) {
  return const_cast<Value*>(member(std::as_const(obj), key));
}
inline Value* object(Value& obj, std::string_view key) {
  return const_cast<Value*>(object(std::as_const(obj), key));
}
inline Value* array(Value& obj, std::string_view key) {
  return const_cast<Value*>(array(std::as_const(obj), key));
}

inline std::optional<std::string_view> string(const Value& obj, std::string_view key) {
  const Value* v = member(obj, key);
  if (!v || !v->IsString()) return std::nullopt;
  return view(*v);
}

// Member `key` of object `obj` as an object, created (empty) when absent. `obj` must be an object and an
// existing member of another type is replaced (callers validate shapes first).
Value& objectMember(Value& obj, std::string_view key, Allocator& a);
Value& arrayMember(Value& obj, std::string_view key, Allocator& a);
// Sets member `key` of object `obj` to `value` (replacing or adding).
void set(Value& obj, std::string_view key, Value value, Allocator& a);

std::string serialize(const Value& v);
void write(kube::json::Writer<>& w, std::string_view s);

}  // namespace spotfit::webhook::json
