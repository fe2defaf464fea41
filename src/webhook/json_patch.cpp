#include "webhook/json_patch.hpp"

namespace spotfit::webhook {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

class Differ {
 public:
  explicit Differ(Writer& w) : w_(w) {}

  void value(const json::Value& a, const json::Value& b, std::string& path) {
    if (a.GetType() == b.GetType()) {
      if (a.IsObject()) return objects(a, b, path);
      if (a.IsArray()) return arrays(a, b, path);
    }
    if (a != b) op("replace", path, &b);
  }

  size_t operations() const { return ops_; }

 private:
  void objects(const json::Value& a, const json::Value& b, std::string& path) {
    const size_t base = path.size();
    for (auto m = a.MemberBegin(); m != a.MemberEnd(); ++m) {
      appendPointerToken(path, json::view(m->name));
      auto other = b.FindMember(m->name);
      if (other == b.MemberEnd()) {
        op("remove", path, nullptr);
      } else {
        value(m->value, other->value, path);
      }
      path.resize(base);
    }
    for (auto m = b.MemberBegin(); m != b.MemberEnd(); ++m) {
      if (a.FindMember(m->name) != a.MemberEnd()) continue;
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

  void op(const char* name, const std::string& path, const json::Value* v) {
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
  }

  Writer& w_;
  size_t ops_ = 0;
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

JsonPatch diff(const json::Value& from, const json::Value& to) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartArray();
  Differ d(w);
  std::string path;
  d.value(from, to, path);
  w.EndArray();
  return JsonPatch{std::string(buf.GetString(), buf.GetSize()), d.operations()};
}

}  // namespace spotfit::webhook
