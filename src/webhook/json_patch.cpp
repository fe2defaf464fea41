#include "webhook/json_patch.hpp"

#include <unordered_map>
#include <utility>
#include <vector>

#include "kube/json.hpp"

namespace spotfit::webhook {
namespace {

using Writer = spotfit::kube::json::Writer<>;

class Differ {
 public:
  Differ(Writer& w, const spotfit::kube::json::StringBuffer& buf, size_t maxBytes)
      : w_(w), buf_(buf), maxBytes_(maxBytes) {}

  void value(const json::Value& a, const json::Value& b, std::string& path) {
    if (overflow_) return;
    // Comparing, diffing and writing values all recurse: past kMaxDiffDepth the diff gives up (the
    // decoders refuse documents that deep, so only a direct caller can get here).
    if (depth_ >= kMaxDiffDepth) {
      overflow_ = true;
      return;
    }
    if (a.GetType() == b.GetType()) {
      if (a.IsObject()) return nested([&] { objects(a, b, path); });
      if (a.IsArray()) return nested([&] { arrays(a, b, path); });
    }
    if (a != b) op("replace", path, &b);
  }

  size_t operations() const { return ops_; }
  bool overflow() const { return overflow_; }

 private:
  // Deeper than any document the decoders accept (kube::json::ParseLimits::maxDepth), shallow enough for
  // the io threads' stacks.
  static constexpr int kMaxDiffDepth = 100;
  // From this many members on, objects are indexed by key so the diff stays linear in their size.
  static constexpr rapidjson::SizeType kIndexFrom = 16;

  using Index = std::unordered_map<std::string_view, const json::Value*>;

  template <typename F>
  void nested(F&& f) {
    ++depth_;
    f();
    --depth_;
  }

  static Index index(const json::Value& obj) {
    Index out;
    out.reserve(obj.MemberCount());
    for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) out.emplace(json::view(m->name), &m->value);
    return out;
  }

  void objects(const json::Value& a, const json::Value& b, std::string& path) {
    const size_t base = path.size();
    const bool indexed = a.MemberCount() >= kIndexFrom || b.MemberCount() >= kIndexFrom;
    const Index inA = indexed ? index(a) : Index{};
    const Index inB = indexed ? index(b) : Index{};
    auto lookup = [&](const json::Value& obj, const Index& idx, const json::Value& name) -> const json::Value* {
      if (indexed) {
        auto it = idx.find(json::view(name));
        return it == idx.end() ? nullptr : it->second;
      }
      auto it = obj.FindMember(name);
      return it == obj.MemberEnd() ? nullptr : &it->value;
    };
    for (auto m = a.MemberBegin(); m != a.MemberEnd() && !overflow_; ++m) {
      appendPointerToken(path, json::view(m->name));
      if (const json::Value* other = lookup(b, inB, m->name)) {
        value(m->value, *other, path);
      } else {
        op("remove", path, nullptr);
      }
      path.resize(base);
    }
    for (auto m = b.MemberBegin(); m != b.MemberEnd() && !overflow_; ++m) {
      if (lookup(a, inA, m->name)) continue;
      appendPointerToken(path, json::view(m->name));
      op("add", path, &m->value);
      path.resize(base);
    }
  }

  void arrays(const json::Value& a, const json::Value& b, std::string& path) {
    const size_t base = path.size();
    const rapidjson::SizeType shared = a.Size() < b.Size() ? a.Size() : b.Size();
    for (rapidjson::SizeType i = 0; i < shared; ++i) {
      indexed(path, i);
      value(a[i], b[i], path);
      path.resize(base);
    }
    for (rapidjson::SizeType i = shared; i < b.Size(); ++i) {
      indexed(path, i);
      op("add", path, &b[i]);
      path.resize(base);
    }
    for (rapidjson::SizeType i = a.Size(); i > shared; --i) {
      indexed(path, i - 1);
      op("remove", path, nullptr);
      path.resize(base);
    }
  }

  static void indexed(std::string& path, rapidjson::SizeType i) {
    path += '/';
    path += std::to_string(i);
  }

  // True when `v` nests at most `levels` deep (checked without recursion).
  static bool nestsWithin(const json::Value& v, int levels) {
    std::vector<std::pair<const json::Value*, int>> todo{{&v, 0}};
    while (!todo.empty()) {
      auto [x, d] = todo.back();
      todo.pop_back();
      if (!x->IsObject() && !x->IsArray()) continue;
      if (d >= levels) return false;
      if (x->IsObject()) {
        for (auto m = x->MemberBegin(); m != x->MemberEnd(); ++m) todo.emplace_back(&m->value, d + 1);
      } else {
        for (const auto& e : x->GetArray()) todo.emplace_back(&e, d + 1);
      }
    }
    return true;
  }

  void op(const char* name, const std::string& path, const json::Value* v) {
    if (overflow_) return;
    if (v && (v->IsObject() || v->IsArray()) && !nestsWithin(*v, kMaxDiffDepth - depth_)) {
      overflow_ = true;  // writing it would recurse too deep
      return;
    }
    w_.StartObject();
    w_.Key("op");
    w_.String(name);
    w_.Key("path");
    json::write(w_, path);
    if (v) {
      w_.Key("value");
      v->Accept(w_);
    }
    w_.EndObject();
    ++ops_;
    if (buf_.GetSize() > maxBytes_) overflow_ = true;  // stop: the caller discards an oversized patch
  }

  Writer& w_;
  const spotfit::kube::json::StringBuffer& buf_;
  const size_t maxBytes_;
  size_t ops_ = 0;
  int depth_ = 0;
  bool overflow_ = false;
};

}  // namespace

void appendPointerToken(std::string& pointer, std::string_view token) {
  pointer += '/';
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
}

JsonPatch diff(const json::Value& from, const json::Value& to, size_t maxBytes) {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartArray();
  Differ d(w, buf, maxBytes);
  std::string path;
  d.value(from, to, path);
  if (d.overflow()) return JsonPatch{"[]", 0, true};
  w.EndArray();
  return JsonPatch{std::string(buf.GetString(), buf.GetSize()), d.operations(), false};
}

}  // namespace spotfit::webhook
