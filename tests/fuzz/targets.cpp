#include "fuzz/targets.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "extender/wire.hpp"
#include "kube/json.hpp"
#include "kube/objects.hpp"
#include "scaler/nodepool.hpp"
#include "server/config.hpp"
#include "sim/workload.hpp"
#include "webhook/admitter.hpp"
#include "webhook/config.hpp"
#include "webhook/json.hpp"
#include "webhook/yaml_json.hpp"

namespace spotfit::fuzz {
namespace {

[[noreturn]] void bug(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz target invariant broken: %s: %.*s\n", what,
               static_cast<int>(detail.size() > 300 ? 300 : detail.size()), detail.data());
  std::abort();
}

// Every answer spotfit writes must be JSON its own bounded parser accepts.
void mustBeJson(std::string_view text, const char* what) {
  kube::json::Document d;
  if (Status s = kube::json::parseInto(d, text); !s) bug(what, s.error().message);
}

const webhook::Admitter& admitter() {
  static const webhook::Admitter a(webhook::WebhookConfig{}, webhook::AdmitterPorts{});
  return a;
}

}  // namespace

void admissionReview(std::string_view data) {
  webhook::Admission a = admitter().review(data);
  mustBeJson(a.body, "AdmissionReview answer");
  if (a.body.size() > 2 * webhook::kMaxPatchBytes + 64 * 1024) bug("answer size", std::to_string(a.body.size()));
}

void extenderArgs(std::string_view data) {
  auto args = extender::decodeExtenderArgs(data);
  if (!args.ok()) return;
  size_t bytes = 0;
  for (const auto& n : args->nodeNames) bytes += n.size();
  if (bytes > data.size()) bug("node names larger than the body", std::to_string(bytes));
}

void kubeObject(std::string_view data) {
  auto doc = kube::json::parse(data);
  if (!doc.ok()) return;
  const kube::json::Value* obj = kube::json::find(*doc, "object");
  const kube::json::Value& o = obj ? *obj : static_cast<const kube::json::Value&>(*doc);
  (void)kube::decodePod(o);
  (void)kube::decodeNode(o);
  (void)kube::decodeJob(o);
  (void)kube::decodeNamespace(o);
  (void)kube::decodePodDisruptionBudget(o);
  (void)kube::decodeVerticalPodAutoscaler(o);
  (void)kube::decodeLease(o);
  (void)scaler::parseNodePoolObject(kube::json::toString(o));
}

void configYaml(std::string_view data) {
  (void)server::config::parseDocument(std::string(data), "fuzz.yaml");
  (void)webhook::parseWebhookConfigText(data);
  (void)scaler::parseScalerConfig(data);
}

void workloadYaml(std::string_view data) {
  (void)sim::parseWorkload(std::string(data), "fuzz.yaml");
}

void mutateInput(std::string_view data) {
  std::vector<webhook::json::Document> docs;
  if (!webhook::yamlToJsonAll(data, docs)) return;
  for (const auto& d : docs) {
    if (!d.IsObject()) continue;
    const std::string object = webhook::json::serialize(d);
    mustBeJson(object, "converted document");
    const bool job = webhook::json::string(d, "kind") == std::string_view("Job");
    const std::string body =
        std::string(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"fuzz","kind":)") +
        (job ? R"({"group":"batch","version":"v1","kind":"Job"})" : R"({"group":"","version":"v1","kind":"Pod"})") +
        R"(,"operation":"CREATE","namespace":"fuzz","object":)" + object + "}}";
    admissionReview(body);
  }
}

Target targetNamed(std::string_view name) {
  if (name == "admission") return &admissionReview;
  if (name == "extender") return &extenderArgs;
  if (name == "kube") return &kubeObject;
  if (name == "config") return &configYaml;
  if (name == "workload") return &workloadYaml;
  if (name == "mutate") return &mutateInput;
  return nullptr;
}

}  // namespace spotfit::fuzz
