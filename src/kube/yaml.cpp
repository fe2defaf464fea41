#include "kube/yaml.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>

namespace spotfit::kube::yaml {
namespace {

std::string at(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.line >= 0 ? " (line " + std::to_string(m.line + 1) + ")" : std::string();
}

// Walks every document alias-expanded with an explicit stack, so neither depth nor expansion can
// exhaust the stack or the clock.
class Walker {
 public:
  Walker(const YamlLimits& limits, size_t textBytes)
      : limits_(limits),
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
        return makeError("invalid", "duplicate key '" + key.substr(0, 64) + "'" + at(kv.first));
      }
    }
    return {};
  }

  Status tooDeep(const YAML::Node& n) const {
    return makeError("invalid", "document nests deeper than " + std::to_string(limits_.maxDepth) + " levels" + at(n));
  }
  Status tooLarge(const YAML::Node& n) const {
    return makeError("invalid", "document expands (through aliases) beyond " + std::to_string(nodeBudget_) +
                                    " nodes or " + std::to_string(scalarBudget_) + " bytes" + at(n));
  }

  const YamlLimits& limits_;
  const size_t nodeBudget_;
  const size_t scalarBudget_;
  size_t nodes_ = 0;
  size_t scalarBytes_ = 0;
  std::vector<std::string_view> keys_;
  std::unordered_set<std::string_view> index_;
};

}  // namespace

Result<std::vector<YAML::Node>> loadAll(std::string_view text, const YamlLimits& limits) {
  if (text.size() > limits.maxBytes) {
    return makeError("invalid", "YAML input of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                    std::to_string(limits.maxBytes));
  }
  std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
  Walker walker(limits, text.size());
  for (const auto& d : docs) {
    if (Status s = walker.walk(d); !s) return s.error();
  }
  return docs;
}

Result<YAML::Node> load(std::string_view text, const YamlLimits& limits) {
  auto docs = loadAll(text, limits);
  if (!docs.ok()) return docs.error();
  if (docs->empty()) return YAML::Node();
  return docs->front();
}

}  // namespace spotfit::kube::yaml
