#pragma once
// The scheduler extender v1 wire format (k8s.io/kube-scheduler/extender/v1/types.go). Those Go types have
// no json tags, so the keys on the wire are the Go field names in PascalCase:
//
//   ExtenderArgs          {"Pod": <v1.Pod>, "Nodes": {"items": [<v1.Node>...]} | null, "NodeNames": [..] | null}
//   ExtenderFilterResult  {"Nodes": <v1.NodeList> | null, "NodeNames": [..] | null,
//                          "FailedNodes": {name: reason}, "FailedAndUnresolvableNodes": {name: reason},
//                          "Error": ""}
//   HostPriorityList      [{"Host": name, "Score": 0..10}]
//
// kube-scheduler sends NodeNames when the extender is `nodeCacheCapable: true` and full Node objects
// otherwise; it answers in the same mode. Decoding checks the envelope's shape strictly and reports the
// first problem as one line (the handler turns it into HTTP 400). The Pod and Node objects themselves stay
// RapidJSON values owned by the decoded request so the Kubernetes object decoder reads them in place.

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "kube/json.hpp"

namespace spotfit::extender {

// The highest score an extender may return (extenderv1.MaxExtenderPriority).
inline constexpr int64_t kMaxExtenderPriority = 10;

enum class NodeMode {
  kNames,    // nodeCacheCapable: true — "NodeNames" set, node state comes from our cache
  kObjects,  // nodeCacheCapable: false — "Nodes" set with full v1.Node objects
};

struct FilterOutcome;

// A decoded ExtenderArgs. Move-only: the values point into the document, which points into its own copy
// of the body. In objects mode it also refers to the caller's `body` (to echo passing Node objects byte
// for byte), so that body must outlive the decoded args.
class ExtenderArgs {
 public:
  ExtenderArgs() = default;
  ExtenderArgs(ExtenderArgs&&) noexcept = default;
  ExtenderArgs& operator=(ExtenderArgs&&) noexcept = default;
  ExtenderArgs(const ExtenderArgs&) = delete;
  ExtenderArgs& operator=(const ExtenderArgs&) = delete;

  NodeMode mode = NodeMode::kNames;
  const spotfit::kube::json::Value* pod = nullptr;       // the v1.Pod object (never null after a successful decode)
  std::vector<std::string_view> nodeNames;               // candidate names in request order (both modes)
  std::vector<const spotfit::kube::json::Value*> nodes;  // kObjects only: nodes[i] is the v1.Node named nodeNames[i]

 private:
  friend Result<ExtenderArgs> decodeExtenderArgs(std::string_view body);
  friend std::string encodeFilterResult(const ExtenderArgs& args, const FilterOutcome& outcome);
  std::unique_ptr<std::string> buffer_;  // the request body, parsed in place
  std::unique_ptr<spotfit::kube::json::Document> doc_;
  std::string_view original_;  // the caller's body, untouched (objects mode)
};

// Decodes and shape-checks an ExtenderArgs body. Errors have code "invalid" and a message such as
// `ExtenderArgs.NodeNames[3] must be a string`.
Result<ExtenderArgs> decodeExtenderArgs(std::string_view body);

// What filter decided, in request order. Exactly one of passed/failed/unresolvable holds each name.
struct FilterOutcome {
  std::vector<std::size_t> passed;                                     // indexes into ExtenderArgs::nodeNames
  std::vector<std::pair<std::string_view, std::string>> failed;        // name, short reason
  std::vector<std::pair<std::string_view, std::string>> unresolvable;  // name, short reason
  std::string error;                                                   // non-empty: the whole call failed
};

// Encodes an ExtenderFilterResult in the request's mode: NodeNames (names mode) or Nodes with the passing
// node objects echoed as received (objects mode); the other list is null.
std::string encodeFilterResult(const ExtenderArgs& args, const FilterOutcome& outcome);

// An ExtenderFilterResult that only carries an error (Nodes and NodeNames null).
std::string encodeFilterError(std::string_view message);

struct HostPriority {
  std::string_view host;
  int64_t score = 0;  // clamped to 0..kMaxExtenderPriority when encoded
};

std::string encodeHostPriorityList(const std::vector<HostPriority>& priorities);

}  // namespace spotfit::extender
