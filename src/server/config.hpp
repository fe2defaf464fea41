#pragma once
// The `serve` config file and the strict YAML reader every module uses for its own section.
//
// A config file is a YAML mapping of top-level sections: `server:` (read here), and `webhook:`,
// `extender:`, `scaler:` read by their serve plugins. Reading is strict: an unknown key, a wrong type or
// an out-of-range value is an error naming the file, line and key path:
//
//   config.yaml:12: server.limits.maxBodyBytes: expected an integer, got 'lots'
//
// Usage for a plugin's section:
//
//   Status readWebhook(const config::Section& s, WebhookConfig& c) {
//     config::Reader r(s);
//     r.string("namespace", c.ns).boolean("dryRun", c.dryRun);
//     r.map("budget", [&](config::Reader& b) { b.number("defaultUsd", c.defaultBudget); });
//     return r.finish();  // first error, or unknown keys
//   }

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/result.hpp"

namespace spotfit::server::config {

// A YAML node with what is needed to report errors about it.
struct Section {
  YAML::Node node;   // undefined/null when the section is absent
  std::string path;  // key path of this node: "server", "server.limits"
  std::string file;  // file name as given on the command line ("" for in-memory text)

  bool present() const { return node.IsDefined() && !node.IsNull(); }
  // "file:line: path: message" (line omitted when unknown).
  std::string error(const YAML::Node& at, std::string_view keyPath, std::string_view message) const;
};

// Strict reader over one mapping. Methods leave `out` untouched when the key is absent. The first error
// is kept; later calls become no-ops. `finish()` reports it, or the first key nobody read.
class Reader {
  template <typename T>
  static constexpr int64_t minOf() {
    if constexpr (std::is_signed_v<T>) return static_cast<int64_t>(std::numeric_limits<T>::min());
    return 0;
  }
  template <typename T>
  static constexpr int64_t maxOf() {
    if constexpr (sizeof(T) >= sizeof(int64_t)) return std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(std::numeric_limits<T>::max());
  }

 public:
  explicit Reader(Section section);

  Reader& string(std::string_view key, std::string& out);
  Reader& oneOf(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed);
  Reader& boolean(std::string_view key, bool& out);
  Reader& integer(std::string_view key, int64_t& out, int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max());
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> &&
           !std::is_same_v<T, int64_t>) Reader& integer(std::string_view key, T& out, int64_t min = minOf<T>(),
                                                        int64_t max = maxOf<T>()) {
    int64_t v = static_cast<int64_t>(out);
    integer(key, v, min, max);
    out = static_cast<T>(v);
    return *this;
  }
  Reader& number(std::string_view key, double& out, double min = -std::numeric_limits<double>::infinity(),
                 double max = std::numeric_limits<double>::infinity());
  // "250ms", "10s", "1.5s", "2m", "1h", or a bare integer (seconds). Must be >= min.
  Reader& duration(std::string_view key, std::chrono::milliseconds& out,
                   std::chrono::milliseconds min = std::chrono::milliseconds(0));
  Reader& strings(std::string_view key, std::vector<std::string>& out);
  Reader& stringMap(std::string_view key, std::map<std::string, std::string>& out);
  // A nested mapping read strictly by `fn` (unknown keys inside it are errors too).
  Reader& map(std::string_view key, const std::function<void(Reader&)>& fn);
  // A sequence of mappings, each read strictly by `fn(reader, index)`.
  Reader& list(std::string_view key, const std::function<void(Reader&, size_t)>& fn);
  // Raw access for shapes the helpers do not cover; marks the key as read. Absent -> nullopt.
  std::optional<Section> raw(std::string_view key);
  // Error unless the key is present.
  Reader& require(std::string_view key);

  // Records a validation error about `key` (at its value's line) unless an error is already recorded.
  void fail(std::string_view key, std::string_view message);
  // Records an error at this mapping itself.
  void failHere(std::string_view message);

  bool has(std::string_view key) const;
  bool ok() const { return !state_->error; }
  const Section& section() const { return section_; }

  // The first error, else an error for the first unread key ("unknown key"), else OK.
  Status finish();

 private:
  struct State {
    std::optional<std::string> error;
  };
  Reader(Section section, std::shared_ptr<State> state);
  std::optional<YAML::Node> take(std::string_view key);
  std::string keyPath(std::string_view key) const;
  void setError(std::string msg);

  Section section_;
  std::shared_ptr<State> state_;
  std::vector<std::string> read_;
  bool isMap_ = false;
};

// A parsed config file: a mapping of top-level sections.
class Document {
 public:
  Document() = default;  // empty config (no file given)
  Document(YAML::Node root, std::string file) : root_(std::move(root)), file_(std::move(file)) {}

  // The named top-level section (absent sections have present() == false).
  Section section(const std::string& name) const;
  // Top-level keys in file order, with their 1-based lines (0 when unknown).
  std::vector<std::pair<std::string, int>> sectionNames() const;
  // Error naming the first top-level key not in `known`.
  Status checkSections(const std::vector<std::string>& known) const;
  const std::string& file() const { return file_; }

 private:
  YAML::Node root_;
  std::string file_;
};

// Config text is loaded through the bounded YAML loader (yaml/bounded.hpp): larger than kMaxConfigBytes,
// more nodes, deeper nesting, alias bombs, repeated keys and yaml-cpp's stalls are errors naming file:line.
inline constexpr size_t kMaxConfigBytes = 1024 * 1024;
Result<Document> parseDocument(const std::string& text, const std::string& fileName);
Result<Document> loadDocument(const std::string& path);

}  // namespace spotfit::server::config
