#include "server/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/duration.hpp"
#include "yaml/bounded.hpp"

namespace spotfit::server::config {

namespace {

int lineOf(const YAML::Node& n) {
  if (!n.IsDefined()) return 0;
  YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string kindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

void appendListItem(std::string& list, std::string_view item) {
  if (!list.empty()) list += ", ";
  list.append(item);
}

std::string location(const std::string& file, int line) {
  std::string out = file.empty() ? "config" : file;
  if (line > 0) out += ":" + std::to_string(line);
  return out;
}

}  // namespace

std::string Section::error(const YAML::Node& at, std::string_view keyPath, std::string_view message) const {
  int line = lineOf(at);
  if (line == 0) line = lineOf(node);
  return location(file, line) + ": " + std::string(keyPath) + ": " + std::string(message);
}

Reader::Reader(Section section) : Reader(std::move(section), std::make_shared<State>()) {}

Reader::Reader(Section section, std::shared_ptr<State> state) : section_(std::move(section)), state_(std::move(state)) {
  const YAML::Node& n = section_.node;
  isMap_ = n.IsDefined() && n.IsMap();
  if (n.IsDefined() && !n.IsNull() && !n.IsMap()) {
    setError(section_.error(n, section_.path, "expected a mapping, got " + kindName(n)));
  }
}

void Reader::setError(std::string msg) {
  if (!state_->error) state_->error = std::move(msg);
}

std::string Reader::keyPath(std::string_view key) const {
  return section_.path.empty() ? std::string(key) : section_.path + "." + std::string(key);
}

bool Reader::has(std::string_view key) const {
  if (!isMap_) return false;
  YAML::Node v = section_.node[std::string(key)];
  return v.IsDefined();
}

std::optional<YAML::Node> Reader::take(std::string_view key) {
  if (!isMap_ || state_->error) return std::nullopt;
  read_.emplace_back(key);
  // Look up through iteration: operator[] on a const node never inserts, but keys must compare as scalars.
  for (auto it = section_.node.begin(); it != section_.node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return std::nullopt;
}

Reader& Reader::string(std::string_view key, std::string& out) {
  if (auto v = take(key)) {
    if (!v->IsScalar()) {
      setError(section_.error(*v, keyPath(key), "expected a string, got " + kindName(*v)));
    } else {
      out = v->Scalar();
    }
  }
  return *this;
}

Reader& Reader::oneOf(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed) {
  if (auto v = take(key)) {
    std::string list;
    for (auto a : allowed) appendListItem(list, a);
    if (!v->IsScalar() || std::find(allowed.begin(), allowed.end(), v->Scalar()) == allowed.end()) {
      setError(section_.error(*v, keyPath(key), "expected one of " + list + ", got " + kindName(*v)));
    } else {
      out = v->Scalar();
    }
  }
  return *this;
}

Reader& Reader::boolean(std::string_view key, bool& out) {
  if (auto v = take(key)) {
    bool b = false;
    if (!v->IsScalar() || !YAML::convert<bool>::decode(*v, b)) {
      setError(section_.error(*v, keyPath(key), "expected true or false, got " + kindName(*v)));
    } else {
      out = b;
    }
  }
  return *this;
}

Reader& Reader::integer(std::string_view key, int64_t& out, int64_t min, int64_t max) {
  if (auto v = take(key)) {
    int64_t n = 0;
    bool okParse = false;
    if (v->IsScalar()) {
      const std::string& s = v->Scalar();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      okParse = ec == std::errc() && p == s.data() + s.size() && !s.empty();
    }
    if (!okParse) {
      setError(section_.error(*v, keyPath(key), "expected an integer, got " + kindName(*v)));
    } else if (n < min || n > max) {
      setError(section_.error(
          *v, keyPath(key),
          "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(n)));
    } else {
      out = n;
    }
  }
  return *this;
}

Reader& Reader::number(std::string_view key, double& out, double min, double max) {
  if (auto v = take(key)) {
    double d = 0;
    bool okParse = v->IsScalar() && YAML::convert<double>::decode(*v, d) && std::isfinite(d);
    if (!okParse) {
      setError(section_.error(*v, keyPath(key), "expected a number, got " + kindName(*v)));
    } else if (d < min || d > max) {
      std::ostringstream o;
      o << "must be between " << min << " and " << max << ", got " << d;
      setError(section_.error(*v, keyPath(key), o.str()));
    } else {
      out = d;
    }
  }
  return *this;
}

Reader& Reader::duration(std::string_view key, std::chrono::milliseconds& out, std::chrono::milliseconds min) {
  if (auto v = take(key)) {
    auto d = v->IsScalar() ? base::parseDuration(v->Scalar()) : Result<base::Millis>(makeError("invalid", ""));
    if (!d) {
      setError(section_.error(*v, keyPath(key), "expected a duration like 500ms, 10s, 2m, got " + kindName(*v)));
    } else if (*d < min) {
      setError(section_.error(*v, keyPath(key), "must be at least " + std::to_string(min.count()) + "ms"));
    } else {
      out = *d;
    }
  }
  return *this;
}

Reader& Reader::strings(std::string_view key, std::vector<std::string>& out) {
  if (auto v = take(key)) {
    if (!v->IsSequence()) {
      setError(section_.error(*v, keyPath(key), "expected a list of strings, got " + kindName(*v)));
      return *this;
    }
    std::vector<std::string> vals;
    for (size_t i = 0; i < v->size(); ++i) {
      YAML::Node e = (*v)[i];
      if (!e.IsScalar()) {
        setError(
            section_.error(e, keyPath(key) + "[" + std::to_string(i) + "]", "expected a string, got " + kindName(e)));
        return *this;
      }
      vals.push_back(e.Scalar());
    }
    out = std::move(vals);
  }
  return *this;
}

Reader& Reader::stringMap(std::string_view key, std::map<std::string, std::string>& out) {
  if (auto v = take(key)) {
    if (!v->IsMap()) {
      setError(section_.error(*v, keyPath(key), "expected a mapping of strings, got " + kindName(*v)));
      return *this;
    }
    std::map<std::string, std::string> vals;
    for (auto it = v->begin(); it != v->end(); ++it) {
      std::string k = it->first.Scalar();
      if (!it->second.IsScalar()) {
        setError(section_.error(it->second, keyPath(key) + "." + k, "expected a string, got " + kindName(it->second)));
        return *this;
      }
      vals[k] = it->second.Scalar();
    }
    out = std::move(vals);
  }
  return *this;
}

Reader& Reader::map(std::string_view key, const std::function<void(Reader&)>& fn) {
  if (auto v = take(key)) {
    if (!v->IsMap()) {
      if (!v->IsNull()) setError(section_.error(*v, keyPath(key), "expected a mapping, got " + kindName(*v)));
      return *this;
    }
    Reader sub(Section{*v, keyPath(key), section_.file}, state_);
    fn(sub);
    Status st = sub.finish();
    if (!st) setError(st.error().message);
  }
  return *this;
}

Reader& Reader::list(std::string_view key, const std::function<void(Reader&, size_t)>& fn) {
  if (auto v = take(key)) {
    if (!v->IsSequence()) {
      setError(section_.error(*v, keyPath(key), "expected a list, got " + kindName(*v)));
      return *this;
    }
    for (size_t i = 0; i < v->size() && !state_->error; ++i) {
      YAML::Node e = (*v)[i];
      std::string path = keyPath(key) + "[" + std::to_string(i) + "]";
      if (!e.IsMap()) {
        setError(section_.error(e, path, "expected a mapping, got " + kindName(e)));
        break;
      }
      Reader sub(Section{e, path, section_.file}, state_);
      fn(sub, i);
      Status st = sub.finish();
      if (!st) setError(st.error().message);
    }
  }
  return *this;
}

std::optional<Section> Reader::raw(std::string_view key) {
  if (auto v = take(key)) return Section{*v, keyPath(key), section_.file};
  return std::nullopt;
}

Reader& Reader::require(std::string_view key) {
  if (state_->error) return *this;
  if (!has(key)) setError(section_.error(section_.node, keyPath(key), "required but missing"));
  return *this;
}

void Reader::fail(std::string_view key, std::string_view message) {
  YAML::Node at = section_.node;
  if (isMap_) {
    for (auto it = section_.node.begin(); it != section_.node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key)
        at.reset(it->second);  // rebind: operator= on a YAML::Node would overwrite the document
    }
  }
  setError(section_.error(at, keyPath(key), message));
}

void Reader::failHere(std::string_view message) {
  setError(section_.error(section_.node, section_.path, message));
}

Status Reader::finish() {
  if (!state_->error && isMap_) {
    for (auto it = section_.node.begin(); it != section_.node.end(); ++it) {
      std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(read_.begin(), read_.end(), k) == read_.end()) {
        std::string known;
        for (const auto& r : read_) appendListItem(known, r);
        setError(section_.error(it->first, keyPath(k), "unknown key (known: " + known + ")"));
        break;
      }
    }
  }
  if (state_->error) return makeError("invalid", *state_->error);
  return {};
}

Section Document::section(const std::string& name) const {
  YAML::Node n;
  if (root_.IsDefined() && root_.IsMap()) {
    for (auto it = root_.begin(); it != root_.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == name) n.reset(it->second);
    }
  }
  return Section{n, name, file_};
}

std::vector<std::pair<std::string, int>> Document::sectionNames() const {
  std::vector<std::pair<std::string, int>> out;
  if (root_.IsDefined() && root_.IsMap()) {
    for (auto it = root_.begin(); it != root_.end(); ++it) {
      out.emplace_back(it->first.IsScalar() ? it->first.Scalar() : "?", lineOf(it->first));
    }
  }
  return out;
}

Status Document::checkSections(const std::vector<std::string>& known) const {
  for (const auto& [name, line] : sectionNames()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) appendListItem(list, k);
      return makeError("invalid", location(file_, line) + ": " + name + ": unknown section (known: " + list + ")");
    }
  }
  return {};
}

Result<Document> parseDocument(const std::string& text, const std::string& fileName) {
  YAML::Node root;
  try {
    // The same bounds as every YAML decoder (yaml/bounded.hpp): size, nodes, depth, alias expansion,
    // repeated keys, and the ',' yaml-cpp loops on. A ConfigMap holds at most 1 MiB.
    yaml::YamlLimits limits;
    limits.maxBytes = kMaxConfigBytes;
    auto loaded = yaml::load(text, limits, fileName.empty() ? "config" : fileName);
    if (!loaded.ok()) return loaded.error();
    root = *loaded;
  } catch (const YAML::Exception& e) {
    return makeError("invalid",
                     location(fileName, e.mark.is_null() ? 0 : e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull() || !root.IsDefined()) return Document(YAML::Node(YAML::NodeType::Map), fileName);
  if (!root.IsMap()) {
    return makeError("invalid", location(fileName, lineOf(root)) +
                                    ": expected a mapping of sections (server:, webhook:, ...), got " + kindName(root));
  }
  return Document(root, fileName);
}

Result<Document> loadDocument(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", path + ": cannot read config file");
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return parseDocument(text, path);  // refuses text beyond kMaxConfigBytes without reading the rest
}

}  // namespace spotfit::server::config
