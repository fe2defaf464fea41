// Deliberately shares no code with src/webhook/json_patch.cpp: this is the reference the diff is held to.
#include <gtest/gtest.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "base/base64.hpp"
#include "kube/json.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook::testing {
namespace {

using spotfit::kube::json::Value;

struct PatchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> parsePointer(const std::string& p) {
  std::vector<std::string> tokens;
  if (p.empty()) return tokens;
  if (p[0] != '/') throw PatchError("pointer does not start with '/': " + p);
  size_t i = 1;
  std::string cur;
  for (; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      tokens.push_back(cur);
      cur.clear();
      continue;
    }
    if (p[i] == '~') {
      if (i + 1 >= p.size()) throw PatchError("dangling ~ in " + p);
      char n = p[++i];
      if (n == '0') {
        cur += '~';
      } else if (n == '1') {
        cur += '/';
      } else {
        throw PatchError("bad escape ~" + std::string(1, n) + " in " + p);
      }
    } else {
      cur += p[i];
    }
  }
  return tokens;
}

size_t parseIndex(const std::string& t, size_t limit) {
  if (t.empty() || (t.size() > 1 && t[0] == '0')) throw PatchError("bad array index '" + t + "'");
  size_t n = 0;
  for (char c : t) {
    if (c < '0' || c > '9') throw PatchError("bad array index '" + t + "'");
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n > limit) throw PatchError("array index " + t + " out of range");
  return n;
}

Value& resolve(Value& root, const std::vector<std::string>& tokens, size_t count) {
  Value* v = &root;
  for (size_t i = 0; i < count; ++i) {
    const std::string& t = tokens[i];
    if (v->IsObject()) {
      auto it = v->FindMember(Value(rapidjson::StringRef(t.data(), t.size())));
      if (it == v->MemberEnd()) throw PatchError("doc is missing path element '" + t + "'");
      v = &it->value;
    } else if (v->IsArray()) {
      if (v->Size() == 0) throw PatchError("index into empty array");
      size_t idx = parseIndex(t, v->Size() - 1);
      v = &(*v)[static_cast<rapidjson::SizeType>(idx)];
    } else {
      throw PatchError("path goes through a scalar at '" + t + "'");
    }
  }
  return *v;
}

void add(spotfit::kube::json::Document& doc, const std::vector<std::string>& tokens, Value value) {
  auto& a = doc.GetAllocator();
  if (tokens.empty()) {
    static_cast<Value&>(doc) = value;
    return;
  }
  Value& parent = resolve(doc, tokens, tokens.size() - 1);
  const std::string& last = tokens.back();
  if (parent.IsObject()) {
    auto it = parent.FindMember(Value(rapidjson::StringRef(last.data(), last.size())));
    if (it != parent.MemberEnd()) {
      it->value = value;
    } else {
      parent.AddMember(Value(last.data(), static_cast<rapidjson::SizeType>(last.size()), a), value, a);
    }
  } else if (parent.IsArray()) {
    size_t idx = last == "-" ? parent.Size() : parseIndex(last, parent.Size());
    parent.PushBack(Value(rapidjson::kNullType), a);
    for (size_t i = parent.Size() - 1; i > idx; --i)
      parent[static_cast<rapidjson::SizeType>(i)] = parent[static_cast<rapidjson::SizeType>(i - 1)];
    parent[static_cast<rapidjson::SizeType>(idx)] = value;
  } else {
    throw PatchError("add target parent is a scalar");
  }
}

Value remove(spotfit::kube::json::Document& doc, const std::vector<std::string>& tokens) {
  if (tokens.empty()) throw PatchError("cannot remove the root");
  Value& parent = resolve(doc, tokens, tokens.size() - 1);
  const std::string& last = tokens.back();
  Value out;
  if (parent.IsObject()) {
    auto it = parent.FindMember(Value(rapidjson::StringRef(last.data(), last.size())));
    if (it == parent.MemberEnd()) throw PatchError("remove of missing member '" + last + "'");
    out = it->value;
    parent.EraseMember(it);
  } else if (parent.IsArray()) {
    if (parent.Size() == 0) throw PatchError("remove from empty array");
    size_t idx = parseIndex(last, parent.Size() - 1);
    out = parent[static_cast<rapidjson::SizeType>(idx)];
    parent.Erase(parent.Begin() + idx);
  } else {
    throw PatchError("remove target parent is a scalar");
  }
  return out;
}

std::string member(const Value& op, const char* key) {
  auto it = op.FindMember(key);
  if (it == op.MemberEnd() || !it->value.IsString()) throw PatchError(std::string("operation lacks string ") + key);
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

std::string applyJsonPatch(spotfit::kube::json::Document& doc, std::string_view patchText) {
  spotfit::kube::json::Document patch;
  patch.Parse(patchText.data(), patchText.size());
  if (patch.HasParseError() || !patch.IsArray()) return "patch is not a JSON array";
  try {
    for (auto& op : patch.GetArray()) {
      if (!op.IsObject()) return "operation is not an object";
      const std::string name = member(op, "op");
      const auto path = parsePointer(member(op, "path"));
      auto valueIt = op.FindMember("value");
      auto valueCopy = [&]() {
        if (valueIt == op.MemberEnd()) throw PatchError(name + " without value");
        return Value(valueIt->value, doc.GetAllocator());
      };
      if (name == "add") {
        add(doc, path, valueCopy());
      } else if (name == "remove") {
        remove(doc, path);
      } else if (name == "replace") {
        Value v = valueCopy();
        resolve(doc, path, path.size());  // must exist
        if (!path.empty()) remove(doc, path);
        add(doc, path, std::move(v));
      } else if (name == "test") {
        if (resolve(doc, path, path.size()) != valueIt->value) throw PatchError("test failed");
      } else if (name == "move" || name == "copy") {
        const auto from = parsePointer(member(op, "from"));
        Value v(resolve(doc, from, from.size()), doc.GetAllocator());
        if (name == "move") remove(doc, from);
        add(doc, path, std::move(v));
      } else {
        return "unknown op " + name;
      }
    }
  } catch (const PatchError& e) {
    return e.what();
  }
  return "";
}

spotfit::kube::json::Document parseJson(std::string_view text) {
  spotfit::kube::json::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) throw std::runtime_error("bad JSON in test: " + std::string(text.substr(0, 200)));
  return d;
}

spotfit::kube::json::Document patchedBy(std::string_view object, std::string_view reviewBody) {
  auto d = parseJson(object);
  auto resp = parseJson(reviewBody);
  if (resp["response"].HasMember("patch")) {
    auto patch = base::base64Decode(resp["response"]["patch"].GetString());
    if (!patch) {
      ADD_FAILURE() << "patch is not base64: " << patch.error().message;
    } else {
      EXPECT_EQ(applyJsonPatch(d, *patch), "");
    }
  }
  return d;
}

std::string toJson(const spotfit::kube::json::Value& v) {
  spotfit::kube::json::StringBuffer b;
  spotfit::kube::json::Writer<> w(b);
  v.Accept(w);
  return b.GetString();
}

std::string toPrettyJson(const spotfit::kube::json::Value& v) {
  spotfit::kube::json::StringBuffer b;
  spotfit::kube::json::PrettyWriter<> w(b);
  w.SetIndent(' ', 2);
  v.Accept(w);
  return b.GetString();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace spotfit::webhook::testing
