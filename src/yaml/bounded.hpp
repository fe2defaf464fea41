#pragma once
// Bounded YAML loading for every YAML decoder (`spotfit mutate -f`, VPA files, `serve --config`, simulate
// workloads, kubeconfig, NodePool objects). yaml-cpp shares aliased nodes, so loading a "billion laughs"
// document is cheap, but any walk over it visits every expansion: a 661-byte file expands to ~10^9
// nodes. loadAll first runs yaml-cpp's parser over the text without building anything (refusing a text
// on which yaml-cpp 0.7.0 would loop forever, more nodes than maxNodes, or deeper nesting), then loads and
// walks each document once, alias-expanded, iteratively, refusing it before its expansion gets large.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace spotfit::yaml {

struct YamlLimits {
  size_t maxBytes = 8 * 1024 * 1024;  // input text
  int maxDepth = 64;                  // nested sequences/mappings (Kubernetes objects need < 30)
  // Nodes as written in all documents together (an alias counts once), checked before yaml-cpp builds
  // them: a yaml-cpp node costs ~500 bytes, so this caps the tree near 125 MB (a 4 MB list of 2M scalars
  // would take 1 GB).
  size_t maxNodes = 250000;
  // Alias-expanded size of all documents together: nodes visited and scalar bytes, each at most
  // max(floor, factor x input bytes). Documents without aliases stay far below (a node takes >= 1 byte).
  size_t expansionFactor = 4;
  size_t minNodeBudget = 100000;
  size_t minScalarBudget = 1024 * 1024;
};
inline constexpr YamlLimits kDefaultYamlLimits{};

// All documents of `text` (YAML::LoadAll), or code "invalid" when the text is larger than
// limits.maxBytes, has more than limits.maxNodes nodes, nests deeper than limits.maxDepth, expands
// aliases beyond the budget, has a mapping with a repeated scalar key (yaml-cpp would keep both; look-ups
// see the first, Go the last), or would make yaml-cpp loop (a ',' outside [...] / {...} where a document
// starts). Error messages name the line: "source:line: message" when `source` (a file name) is given,
// else "message (line N)". Text that is not YAML throws YAML::Exception as YAML::LoadAll does, so
// callers keep their own syntax-error messages.
Result<std::vector<YAML::Node>> loadAll(std::string_view text, const YamlLimits& limits = kDefaultYamlLimits,
                                        std::string_view source = {});

// The first document (YAML::Load semantics: a null node for empty text), with the same checks over the
// whole text.
Result<YAML::Node> load(std::string_view text, const YamlLimits& limits = kDefaultYamlLimits,
                        std::string_view source = {});

}  // namespace spotfit::yaml
