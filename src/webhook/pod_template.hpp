#pragma once
// A typed view of a pod template ({metadata, spec}: a Pod itself or a Job's spec.template) over the JSON
// document. Mutation policies read and change the object only through this view; the patch is derived by
// diffing afterwards, so no policy ever writes a JSON Pointer. Fields the view does not know are kept
// untouched. Call validatePodTemplateShape() first: the view assumes the shapes it checks.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "webhook/config.hpp"
#include "webhook/json.hpp"

namespace spotfit::webhook {

struct OwnerReference {
  std::string apiVersion, kind, name, uid;
  bool controller = false;
};

struct NodeSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist, Gt, Lt
  std::vector<std::string> values;
};

// More containers (or init containers) than this are refused, as the kube decoder does.
inline constexpr rapidjson::SizeType kMaxContainers = 1000;

// Checks the types of every field the view reads or writes (labels are string maps, containers is an
// array of objects with string names, ...). The apiserver always sends well-typed objects; this guards
// `spotfit mutate` input and keeps malformed bodies from reaching RapidJSON assertions.
Status validatePodTemplateShape(const json::Value& tmpl, std::string_view where);
Status validateObjectMetaShape(const json::Value& obj, std::string_view where);

class ObjectMeta {
 public:
  // `owner` is the object holding "metadata"; the metadata object is created only when written.
  ObjectMeta(json::Value& owner, json::Allocator& a) : owner_(&owner), a_(&a) {}

  std::string_view name() const;
  std::string_view generateName() const;
  std::string_view namespace_() const;
  std::string_view uid() const;
  std::optional<std::string_view> label(std::string_view key) const;
  std::optional<std::string_view> annotation(std::string_view key) const;
  // All annotations whose key starts with `prefix`, in document order.
  std::vector<std::pair<std::string, std::string>> annotationsWithPrefix(std::string_view prefix) const;
  void setLabel(std::string_view key, std::string_view value);
  void setAnnotation(std::string_view key, std::string_view value);
  std::vector<OwnerReference> ownerReferences() const;
  // The controller owner of kind `kind` (or, without a controller flag, the first of that kind).
  std::optional<OwnerReference> owner(std::string_view kind) const;
  // The same, matching the owner's API group too ("batch" for batch/v1; "" for the core group), so a
  // batch.volcano.sh Job is not taken for a batch/v1 Job.
  std::optional<OwnerReference> ownerOf(std::string_view group, std::string_view kind) const;

 private:
  const json::Value* meta() const;
  json::Value& metaForWrite();
  json::Value* owner_;
  json::Allocator* a_;
};

class Container {
 public:
  Container(json::Value& c, json::Allocator& a) : c_(&c), a_(&a) {}
  std::string_view name() const;
  bool hasPreStop() const;
  void setPreStopExec(const std::vector<std::string>& command);
  // Quantities as written (a JSON number is rendered as its decimal text).
  std::optional<std::string> request(std::string_view resource) const;
  std::optional<std::string> limit(std::string_view resource) const;
  void setRequest(std::string_view resource, std::string_view quantity);
  void setLimit(std::string_view resource, std::string_view quantity);

 private:
  std::optional<std::string> quantity(std::string_view kind, std::string_view resource) const;
  void setQuantity(std::string_view kind, std::string_view resource, std::string_view quantity);
  json::Value* c_;
  json::Allocator* a_;
};

class PodSpec {
 public:
  PodSpec(json::Value& spec, json::Allocator& a) : s_(&spec), a_(&a) {}

  std::vector<Toleration> tolerations() const;
  void addToleration(const Toleration& t);

  std::optional<std::string_view> nodeSelector(std::string_view key) const;
  // True when the required node affinity already constrains `key` in every term (or a node selector
  // does), i.e. the user decided where this label must point.
  bool requiresNodeLabel(std::string_view key) const;
  // True when a preferred node-affinity term mentions `key`.
  bool prefersNodeLabel(std::string_view key) const;
  // Adds `key In values` to every required nodeSelectorTerm that does not constrain `key` yet (terms are
  // ORed, expressions within a term ANDed), creating one term when there is none. Returns true if changed.
  bool requireNodeLabelIn(std::string_view key, const std::vector<std::string>& values);
  // The same with another operator (NotIn: a node without the label satisfies it).
  bool requireNodeLabel(std::string_view key, std::string_view op, const std::vector<std::string>& values);
  // Appends a preferred term {weight, key In values} unless one already mentions `key`.
  bool preferNodeLabelIn(std::string_view key, const std::vector<std::string>& values, int weight);

  size_t containerCount() const;
  Container container(size_t i);

  std::optional<int64_t> terminationGracePeriodSeconds() const;
  void setTerminationGracePeriodSeconds(int64_t s);

  // spec.schedulerName: nullopt when absent, "" when present but not a string.
  std::optional<std::string_view> schedulerName() const;
  void setSchedulerName(std::string_view name);

 private:
  json::Value* s_;
  json::Allocator* a_;
};

class PodTemplate {
 public:
  // `tmpl` is an object with "metadata" and "spec" (created when missing).
  PodTemplate(json::Value& tmpl, json::Allocator& a) : t_(&tmpl), a_(&a) {}
  ObjectMeta metadata() { return ObjectMeta(*t_, *a_); }
  PodSpec spec() { return PodSpec(json::objectMember(*t_, "spec", *a_), *a_); }

 private:
  json::Value* t_;
  json::Allocator* a_;
};

}  // namespace spotfit::webhook
