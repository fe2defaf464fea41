#include "yaml/bounded.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <unordered_set>

namespace spotfit::yaml {
namespace {

int lineOf(const YAML::Mark& m) {
  return m.line >= 0 ? m.line + 1 : 0;
}
int lineOf(const YAML::Node& n) {
  return lineOf(n.Mark());
}

// "source:line: message" when the caller named its input, else "message (line N)".
Error located(std::string_view source, int line, const std::string& message) {
  if (source.empty())
    return makeError("invalid", line > 0 ? message + " (line " + std::to_string(line) + ")" : message);
  std::string out(source);
  if (line > 0) out += ":" + std::to_string(line);
  return makeError("invalid", out + ": " + message);
}

// Runs yaml-cpp's own parser over the text with an event handler that builds nothing, before
// YAML::LoadAll builds any node. yaml-cpp 0.7.0 (Debian's) has a parser that can stop making progress:
// a ',' outside a flow collection where a document's root node would begin (",", "--- ,", "&a ,",
// "\"a\" ,") is a FLOW_ENTRY token that SingleDocParser::HandleNode neither consumes nor refuses, so
// Parser::HandleNextDocument reports a null document at the same token forever and LoadAll appends
// documents until memory runs out (upstream issue jbeder/yaml-cpp#1040, fixed in 0.9.0). The guard stops
// at the first document that starts where the previous one did (whatever the token: any such loop), and
// counts nodes and depth as the parser reports them, so neither a stall nor a tree larger than
// limits.maxNodes is ever built.
class Prescan : public YAML::EventHandler {
 public:
  struct Stop {
    int line;
    std::string message;
  };

  Prescan(const YamlLimits& limits, std::string_view text) : limits_(limits), text_(text) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ > 0 && mark.pos <= lastStart_) {
      const bool comma = mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size() && text_[mark.pos] == ',';
      throw Stop{lineOf(mark),
                 comma ? "',' outside a flow collection ([...] or {...}) cannot start a node"
                       : "the YAML parser makes no progress here (column " + std::to_string(mark.column + 1) + ")"};
    }
    lastStart_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { node(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    open(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    open(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void node(const YAML::Mark& mark) {
    if (++nodes_ > limits_.maxNodes) {
      throw Stop{lineOf(mark), "the YAML text has more than " + std::to_string(limits_.maxNodes) + " nodes"};
    }
  }
  void open(const YAML::Mark& mark) {
    node(mark);
    if (++depth_ > limits_.maxDepth) {
      throw Stop{lineOf(mark), "document nests deeper than " + std::to_string(limits_.maxDepth) + " levels"};
    }
  }

  const YamlLimits& limits_;
  std::string_view text_;
  size_t documents_ = 0;
  int lastStart_ = -1;
  size_t nodes_ = 0;
  int depth_ = 0;
};

// Walks every document alias-expanded with an explicit stack, so neither depth nor expansion can
// exhaust the stack or the clock.
class Walker {
 public:
  Walker(const YamlLimits& limits, size_t textBytes, std::string_view source)
      : limits_(limits),
        source_(source),
        nodeBudget_(std::max(limits.minNodeBudget, limits.expansionFactor * textBytes)),
        scalarBudget_(std::max(limits.minScalarBudget, limits.expansionFactor * textBytes)) {}

  Status walk(const YAML::Node& root) {
    struct Item {
      YAML::Node node;
      int depth;
    };
    std::vector<Item> todo{{root, 0}};
    while (!todo.empty()) {
      Item it = std::move(todo.back());
      todo.pop_back();
      if (++nodes_ > nodeBudget_) return tooLarge(it.node);
      switch (it.node.Type()) {
        case YAML::NodeType::Scalar:
          scalarBytes_ += it.node.Scalar().size();
          if (scalarBytes_ > scalarBudget_) return tooLarge(it.node);
          break;
        case YAML::NodeType::Sequence:
          if (it.depth >= limits_.maxDepth) return tooDeep(it.node);
          for (const auto& child : it.node) todo.push_back({child, it.depth + 1});
          break;
        case YAML::NodeType::Map: {
          if (it.depth >= limits_.maxDepth) return tooDeep(it.node);
          if (Status s = uniqueKeys(it.node); !s) return s;
          for (const auto& kv : it.node) {
            todo.push_back({kv.first, it.depth + 1});
            todo.push_back({kv.second, it.depth + 1});
          }
          break;
        }
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
          break;
      }
    }
    return {};
  }

 private:
  static constexpr size_t kIndexFrom = 16;

  Status uniqueKeys(const YAML::Node& map) {
    keys_.clear();
    index_.clear();
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) continue;
      const std::string& key = kv.first.Scalar();  // owned by the node, alive while `map` is
      bool seen = false;
      if (keys_.size() < kIndexFrom) {
        seen = std::find(keys_.begin(), keys_.end(), std::string_view(key)) != keys_.end();
        keys_.push_back(key);
        if (keys_.size() == kIndexFrom) index_.insert(keys_.begin(), keys_.end());
      } else {
        seen = !index_.insert(key).second;
      }
      if (seen) {
        return located(source_, lineOf(kv.first), "duplicate key '" + key.substr(0, 64) + "'");
      }
    }
    return {};
  }

  Status tooDeep(const YAML::Node& n) const {
    return located(source_, lineOf(n), "document nests deeper than " + std::to_string(limits_.maxDepth) + " levels");
  }
  Status tooLarge(const YAML::Node& n) const {
    return located(source_, lineOf(n),
                   "document expands (through aliases) beyond " + std::to_string(nodeBudget_) + " nodes or " +
                       std::to_string(scalarBudget_) + " bytes");
  }

  const YamlLimits& limits_;
  const std::string_view source_;
  const size_t nodeBudget_;
  const size_t scalarBudget_;
  size_t nodes_ = 0;
  size_t scalarBytes_ = 0;
  std::vector<std::string_view> keys_;
  std::unordered_set<std::string_view> index_;
};

}  // namespace

Result<std::vector<YAML::Node>> loadAll(std::string_view text, const YamlLimits& limits, std::string_view source) {
  if (text.size() > limits.maxBytes) {
    return located(source, 0,
                   "YAML input of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                       std::to_string(limits.maxBytes));
  }
  const std::string owned(text);
  {
    std::istringstream in(owned);
    YAML::Parser parser(in);
    Prescan prescan(limits, text);
    try {
      while (parser.HandleNextDocument(prescan)) {
      }
    } catch (const Prescan::Stop& stop) {
      return located(source, stop.line, stop.message);
    }
  }
  std::vector<YAML::Node> docs = YAML::LoadAll(owned);
  Walker walker(limits, text.size(), source);
  for (const auto& d : docs) {
    if (Status s = walker.walk(d); !s) return s.error();
  }
  return docs;
}

Result<YAML::Node> load(std::string_view text, const YamlLimits& limits, std::string_view source) {
  auto docs = loadAll(text, limits, source);
  if (!docs.ok()) return docs.error();
  if (docs->empty()) return YAML::Node();
  return docs->front();
}

}  // namespace spotfit::yaml
