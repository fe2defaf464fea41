// spotfit mutate: the admission webhook's code run offline on a Pod, Job or AdmissionReview.
#include <rapidjson/prettywriter.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/args.hpp"
#include "kube/json.hpp"
#include "webhook/admitter.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/yaml_json.hpp"

namespace spotfit::cli {
namespace {

namespace wh = spotfit::webhook;

bool readInput(const std::string& path, std::string& out, std::string& err) {
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = "cannot read " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string pretty(const wh::json::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string prettyText(const std::string& jsonText) {
  wh::json::Document d;
  return spotfit::kube::json::parseInto(d, jsonText) ? pretty(d) : jsonText;
}

int fail(const std::string& message) {
  std::cerr << "spotfit mutate: " << message << "\n";
  return kExitFailure;
}

// Loads VPA objects (one per YAML document, or a List) into the index.
bool loadVpas(const std::string& path, wh::VpaIndex& index, std::string& err) {
  std::string text;
  if (!readInput(path, text, err)) return false;
  std::vector<wh::json::Document> docs;
  if (Status s = wh::yamlToJsonAll(text, docs); !s) {
    err = path + ": " + s.error().message;
    return false;
  }
  auto add = [&](const wh::json::Value& obj) {
    auto vpa = wh::decodeVpa(obj);
    if (!vpa) {
      err = path + ": " + vpa.error().message;
      return false;
    }
    index.upsert(std::move(*vpa));
    return true;
  };
  for (const auto& d : docs) {
    if (d.IsObject() && wh::json::string(d, "kind") == std::string_view("List")) {
      const wh::json::Value* items = wh::json::array(d, "items");
      for (rapidjson::SizeType i = 0; items && i < items->Size(); ++i) {
        if (!add((*items)[i])) return false;
      }
    } else if (!add(d)) {
      return false;
    }
  }
  return true;
}

int runMutate(const std::vector<std::string>& args) {
  Flags flags("mutate", "-f FILE [--patch]",
              "Run the admission webhook offline on a Pod, a Job or an AdmissionReview (YAML or JSON; - reads\n"
              "stdin). Prints the mutated object (or, for an AdmissionReview, the AdmissionReview response);\n"
              "--patch prints the JSON Patch instead. A refused object exits 1 with the reason.");
  flags.string("file", "FILE", "object to mutate (-f)");
  flags.boolean("patch", "print the RFC 6902 JSON Patch instead of the mutated object");
  flags.string("config", "FILE", "serve config whose webhook: section to use (default: built-in defaults)");
  flags.string("namespace", "NS", "namespace of a bare Pod/Job without metadata.namespace", "default");
  flags.strings("vpa", "FILE", "VerticalPodAutoscaler objects to apply (repeatable; YAML/JSON, may be a List)");
  flags.strings("spend", "WORKFLOW=USD", "workflow spend so far, for spotfit.io/budget (repeatable)");
  flags.boolean("dry-run", "treat the request as a dry run");
  if (!flags.parse(args)) return kExitOk;
  flags.require("file");

  wh::WebhookConfig config;
  if (flags.given("config")) {
    auto c = wh::loadWebhookConfigFile(flags.get("config"));
    if (!c) return fail(c.error().message);
    config = std::move(*c);
  }
  wh::VpaIndex vpas;
  for (const auto& path : flags.getAll("vpa")) {
    std::string err;
    if (!loadVpas(path, vpas, err)) return fail(err);
  }
  wh::StaticSpend spend;
  std::vector<std::pair<std::string, double>> spends;
  for (const auto& s : flags.getAll("spend")) {
    auto eq = s.find('=');
    double usd = 0;
    const char* begin = s.c_str() + (eq == std::string::npos ? 0 : eq + 1);
    char* end = nullptr;
    if (eq == std::string::npos || eq == 0) throw UsageError{"--spend takes WORKFLOW=USD, got '" + s + "'"};
    usd = std::strtod(begin, &end);
    if (end == begin || *end != '\0' || usd < 0) throw UsageError{"--spend takes WORKFLOW=USD, got '" + s + "'"};
    spends.emplace_back(s.substr(0, eq), usd);
  }

  std::string text, err;
  if (!readInput(flags.get("file"), text, err)) return fail(err);
  wh::json::Document input;
  if (Status s = wh::yamlToJson(text, input); !s) return fail(flags.get("file") + ": " + s.error().message);
  if (!input.IsObject()) return fail(flags.get("file") + ": expected a Pod, Job or AdmissionReview object");

  const std::string kind(wh::json::string(input, "kind").value_or(""));
  const std::string apiVersion(wh::json::string(input, "apiVersion").value_or(""));
  wh::AdmitterPorts ports;
  ports.vpas = &vpas;
  ports.spend = &spend;

  if (kind == "AdmissionReview") {
    const std::string body = wh::json::serialize(input);
    wh::DecodeResult d = wh::decodeAdmissionReview(body);
    if (!d.request) return fail(flags.get("file") + ": " + d.failure.message);
    if (flags.getBool("dry-run")) d.request->dryRun = true;
    for (const auto& [wf, usd] : spends) spend.set(d.request->namespace_, wf, usd);
    wh::Admitter admitter(config, ports);
    wh::Admission a = admitter.admit(*d.request);
    for (const auto& w : a.response.warnings) std::cerr << "warning: " << w << "\n";
    if (flags.getBool("patch")) {
      std::cout << prettyText(a.response.patch.empty() ? "[]" : a.response.patch) << "\n";
    } else {
      std::cout << prettyText(a.body) << "\n";
    }
    return kExitOk;
  }

  wh::GroupVersionKind gvk;
  if (kind == "Pod" && apiVersion == "v1") {
    gvk = {"", "v1", "Pod"};
  } else if (kind == "Job" && apiVersion == "batch/v1") {
    gvk = {"batch", "v1", "Job"};
  } else {
    return fail(flags.get("file") + ": kind '" + apiVersion + "/" + kind +
                "' is not a v1 Pod, a batch/v1 Job or an AdmissionReview");
  }
  wh::AdmissionRequest req;
  req.apiVersion = std::string(wh::kAdmissionV1);
  req.uid = "spotfit-mutate";
  req.kind = gvk;
  req.operation = "CREATE";
  req.dryRun = flags.getBool("dry-run");
  const wh::json::Value* meta = wh::json::object(input, "metadata");
  auto ns = meta ? wh::json::string(*meta, "namespace") : std::nullopt;
  req.namespace_ = ns ? std::string(*ns) : flags.get("namespace");
  req.name = meta ? std::string(wh::json::string(*meta, "name").value_or("")) : "";
  for (const auto& [wf, usd] : spends) spend.set(req.namespace_, wf, usd);
  req.document = std::make_shared<wh::json::Document>();
  req.document->Swap(input);
  req.object = req.document.get();

  wh::Admitter admitter(config, ports);
  wh::Admission a = admitter.admit(req);
  for (const auto& w : a.response.warnings) std::cerr << "warning: " << w << "\n";
  if (!a.response.allowed) {
    return fail("refused: " + (a.response.status ? a.response.status->message : std::string("not allowed")));
  }
  if (flags.getBool("patch")) {
    std::cout << prettyText(a.response.patch.empty() ? "[]" : a.response.patch) << "\n";
  } else {
    std::cout << pretty(a.mutated ? static_cast<const wh::json::Value&>(*a.mutated) : *req.object) << "\n";
  }
  return kExitOk;
}

const Command kMutate("mutate", "run the admission webhook offline on a Pod, Job or AdmissionReview", runMutate);

}  // namespace
}  // namespace spotfit::cli
