// spotfit mutate: the admission webhook's code run offline on every object of a file, to show what the
// cluster will do with them.
#include <rapidjson/prettywriter.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/args.hpp"
#include "kube/json.hpp"
#include "webhook/admitter.hpp"
#include "webhook/json_patch.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/yaml_emit.hpp"
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
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::PrettyWriter<> w(buf);
  w.SetIndent(' ', 2);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
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
  if (Status s = wh::yamlToJsonAll(text, docs, path); !s) {
    err = s.error().message;
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

// A Pod/Job preview: the admitter's ports for one object plus what `spotfit mutate` reports.
struct Preview {
  const wh::WebhookConfig* config = nullptr;
  wh::VpaIndex* vpas = nullptr;
  wh::StaticSpend* spend = nullptr;
  const std::vector<std::pair<std::string, double>>* spends = nullptr;
  std::string defaultNamespace;
  bool dryRun = false;
};

struct Admitted {
  wh::Admission admission;
  std::string refusal;  // non-empty when the webhook refuses the object
};

std::string nameOf(const wh::json::Value& obj) {
  const wh::json::Value* meta = wh::json::object(obj, "metadata");
  return meta ? std::string(wh::json::string(*meta, "name").value_or("")) : std::string();
}

std::string namespaceOf(const wh::json::Value& obj, const std::string& fallback) {
  const wh::json::Value* meta = wh::json::object(obj, "metadata");
  auto ns = meta ? wh::json::string(*meta, "namespace") : std::nullopt;
  return ns && !ns->empty() ? std::string(*ns) : fallback;
}

// Runs the webhook's real decision path on a Pod or a batch/v1 Job, as a CREATE request.
Admitted admitObject(const Preview& pv, const wh::json::Value& object, const wh::GroupVersionKind& gvk,
                     const wh::JobLookup* jobs = nullptr, wh::PdbEnsurer* pdbs = nullptr) {
  wh::AdmissionRequest req;
  req.apiVersion = std::string(wh::kAdmissionV1);
  req.uid = "spotfit-mutate";
  req.kind = gvk;
  req.operation = "CREATE";
  req.dryRun = pv.dryRun;
  req.namespace_ = namespaceOf(object, pv.defaultNamespace);
  req.name = nameOf(object);
  for (const auto& [wf, usd] : *pv.spends) pv.spend->set(req.namespace_, wf, usd);
  req.document = std::make_shared<wh::json::Document>();
  req.document->CopyFrom(object, req.document->GetAllocator());
  req.object = req.document.get();
  wh::AdmitterPorts ports;
  ports.vpas = pv.vpas;
  ports.spend = pv.spend;
  ports.jobs = jobs;
  ports.pdbs = pdbs;
  wh::Admitter admitter(*pv.config, ports);
  Admitted out;
  out.admission = admitter.admit(req);
  const wh::AdmissionResponse& r = out.admission.response;
  if (!r.allowed) out.refusal = r.status ? r.status->message : std::string("not allowed");
  if (!out.admission.mutated) {
    out.admission.mutated = std::make_shared<wh::json::Document>();
    out.admission.mutated->CopyFrom(object, out.admission.mutated->GetAllocator());
  }
  return out;
}

const wh::GroupVersionKind kPodKind{"", "v1", "Pod"};
const wh::GroupVersionKind kJobKind{"batch", "v1", "Job"};
// The Job controller's uid stands in for the apiserver's when the Job has none yet.
constexpr std::string_view kPreviewJobUid = "00000000-0000-0000-0000-000000000000";

void setString(wh::json::Value& obj, std::string_view key, std::string_view value, wh::json::Allocator& a) {
  if (auto it = obj.FindMember(wh::json::ref(key)); it != obj.MemberEnd()) {
    it->value = wh::json::str(value, a);
  } else {
    obj.AddMember(wh::json::str(key, a), wh::json::str(value, a), a);
  }
}

wh::json::Value& objectMember(wh::json::Value& obj, std::string_view key, wh::json::Allocator& a) {
  auto it = obj.FindMember(wh::json::ref(key));
  if (it != obj.MemberEnd() && it->value.IsObject()) return it->value;
  if (it != obj.MemberEnd()) obj.RemoveMember(it);
  obj.AddMember(wh::json::str(key, a), wh::json::Value(rapidjson::kObjectType), a);
  return obj.FindMember(wh::json::ref(key))->value;
}

// An object as its controller creates it from a template: the template's metadata and spec, a name, and
// a controller ownerReference to `owner`.
wh::json::Document instantiate(const wh::json::Value& tmpl, std::string_view apiVersion, std::string_view kind,
                               const std::string& name, const wh::json::Value& owner) {
  wh::json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("apiVersion", wh::json::str(apiVersion, a), a);
  d.AddMember("kind", wh::json::str(kind, a), a);
  wh::json::Value meta(rapidjson::kObjectType);
  if (const wh::json::Value* m = wh::json::object(tmpl, "metadata")) meta.CopyFrom(*m, a);
  setString(meta, "name", name, a);
  if (const wh::json::Value* om = wh::json::object(owner, "metadata")) {
    if (auto ns = wh::json::string(*om, "namespace")) setString(meta, "namespace", *ns, a);
  }
  wh::json::Value ref(rapidjson::kObjectType);
  ref.AddMember("apiVersion", wh::json::str(wh::json::string(owner, "apiVersion").value_or(""), a), a);
  ref.AddMember("kind", wh::json::str(wh::json::string(owner, "kind").value_or(""), a), a);
  ref.AddMember("name", wh::json::str(nameOf(owner), a), a);
  const wh::json::Value* om = wh::json::object(owner, "metadata");
  ref.AddMember("uid", wh::json::str(om ? wh::json::string(*om, "uid").value_or("") : "", a), a);
  ref.AddMember("controller", true, a);
  wh::json::Value refs(rapidjson::kArrayType);
  refs.PushBack(ref, a);
  if (auto it = meta.FindMember("ownerReferences"); it != meta.MemberEnd()) meta.RemoveMember(it);
  meta.AddMember("ownerReferences", refs, a);
  d.AddMember("metadata", meta, a);
  wh::json::Value spec(rapidjson::kObjectType);
  if (const wh::json::Value* sp = wh::json::object(tmpl, "spec")) spec.CopyFrom(*sp, a);
  d.AddMember("spec", spec, a);
  return d;
}

// Writes what the instantiated object got back into the template it came from (without the name,
// namespace and ownerReferences instantiate() added).
void writeBack(wh::json::Value& tmpl, const wh::json::Value& mutated, wh::json::Allocator& a) {
  wh::json::Value meta(rapidjson::kObjectType);
  if (const wh::json::Value* m = wh::json::object(mutated, "metadata")) meta.CopyFrom(*m, a);
  const wh::json::Value* before = wh::json::object(tmpl, "metadata");
  for (const char* key : {"name", "namespace", "ownerReferences"}) {
    if (auto it = meta.FindMember(key); it != meta.MemberEnd()) meta.RemoveMember(it);
    if (const wh::json::Value* v = before ? wh::json::member(*before, key) : nullptr) {
      meta.AddMember(wh::json::str(key, a), wh::json::Value(*v, a), a);
    }
  }
  if (meta.MemberCount() > 0 || before) objectMember(tmpl, "metadata", a) = meta;
  if (const wh::json::Value* sp = wh::json::object(mutated, "spec")) objectMember(tmpl, "spec", a).CopyFrom(*sp, a);
}

// The PDB the webhook would ask for when the Job's first pod is admitted: a pod from the mutated
// template, owned by the Job, through the same admitter with a Job look-up and a recording ensurer.
std::vector<std::string> pdbsForJob(const Preview& pv, const wh::json::Value& job) {
  const wh::json::Value* spec = wh::json::object(job, "spec");
  const wh::json::Value* tmpl = spec ? wh::json::object(*spec, "template") : nullptr;
  if (!tmpl) return {};
  const wh::json::Value* jm = wh::json::object(job, "metadata");
  std::string uid(jm ? wh::json::string(*jm, "uid").value_or("") : "");
  if (uid.empty()) uid = kPreviewJobUid;
  wh::json::Document owner;
  owner.CopyFrom(job, owner.GetAllocator());
  setString(objectMember(owner, "metadata", owner.GetAllocator()), "uid", uid, owner.GetAllocator());
  const std::string name = nameOf(job);
  wh::json::Document pod = instantiate(*tmpl, "v1", "Pod", name + "-preview", owner);
  auto& a = pod.GetAllocator();
  setString(pod["metadata"], "namespace", namespaceOf(job, pv.defaultNamespace), a);
  wh::json::Value& labels = objectMember(pod["metadata"], "labels", a);
  for (const char* key : {"batch.kubernetes.io/controller-uid", "controller-uid"}) setString(labels, key, uid, a);
  for (const char* key : {"batch.kubernetes.io/job-name", "job-name"}) setString(labels, key, name, a);
  wh::JobIndex jobs;
  wh::JobInfo info;
  info.uid = uid;
  if (const wh::json::Value* p = spec ? wh::json::member(*spec, "parallelism") : nullptr; p && p->IsInt64()) {
    info.parallelism = p->GetInt64();
  }
  if (const wh::json::Value* c = spec ? wh::json::member(*spec, "completions") : nullptr; c && c->IsInt64()) {
    info.completions = c->GetInt64();  // the PDB counts the pods running at once (jobPodsAtOnce)
  }
  if (jm) {
    wh::json::Document scratch;
    wh::json::Value copy;
    copy.CopyFrom(job, scratch.GetAllocator());
    wh::ObjectMeta meta(copy, scratch.GetAllocator());
    if (auto cron = meta.owner("CronJob")) info.cronJob = cron->name;
  }
  jobs.upsert(namespaceOf(job, pv.defaultNamespace), name, info);
  wh::RecordingPdbEnsurer pdbs;
  admitObject(pv, pod, kPodKind, &jobs, &pdbs);
  std::vector<std::string> out;
  for (const auto& r : pdbs.requests()) out.push_back(r.manifest());
  return out;
}

// Where a batch kind keeps the pod templates its controller creates pods from.
struct Template {
  std::string role;        // "Worker", "headGroupSpec", ...
  wh::json::Value* value;  // the PodTemplateSpec (or JobTemplateSpec when isJob)
  bool isJob = false;      // JobSet replicatedJobs: the controller creates Jobs
};

std::string group(std::string_view apiVersion) {
  auto slash = apiVersion.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(apiVersion.substr(0, slash));
}

void rayGroups(wh::json::Value& clusterSpec, const std::string& prefix, std::vector<Template>& out) {
  if (wh::json::Value* head = wh::json::object(clusterSpec, "headGroupSpec")) {
    if (wh::json::Value* t = wh::json::object(*head, "template")) out.push_back({prefix + "headGroupSpec", t});
  }
  if (wh::json::Value* groups = wh::json::array(clusterSpec, "workerGroupSpecs")) {
    for (auto& g : groups->GetArray()) {
      wh::json::Value* t = g.IsObject() ? wh::json::object(g, "template") : nullptr;
      if (t)
        out.push_back(
            {prefix + "workerGroupSpecs[" + std::string(wh::json::string(g, "groupName").value_or("")) + "]", t});
    }
  }
}

// The pod (or Job) templates of the batch kinds spotfit previews; nullopt for a kind it does not know,
// with `why` set for kinds it knows but cannot preview.
std::optional<std::vector<Template>> templatesOf(wh::json::Value& obj, std::string& why) {
  const std::string g = group(wh::json::string(obj, "apiVersion").value_or(""));
  const std::string kind(wh::json::string(obj, "kind").value_or(""));
  wh::json::Value* spec = wh::json::object(obj, "spec");
  std::vector<Template> out;
  if (g == "kubeflow.org") {  // PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob
    if (!spec) return out;
    for (auto& m : spec->GetObject()) {
      if (!wh::json::view(m.name).ends_with("ReplicaSpecs") || !m.value.IsObject()) continue;
      for (auto& role : m.value.GetObject()) {
        wh::json::Value* t = role.value.IsObject() ? wh::json::object(role.value, "template") : nullptr;
        if (t) out.push_back({std::string(wh::json::view(role.name)), t});
      }
    }
    return out;
  }
  if (g == "ray.io" && (kind == "RayCluster" || kind == "RayJob" || kind == "RayService")) {
    if (!spec) return out;
    if (kind == "RayCluster") rayGroups(*spec, "", out);
    if (kind == "RayJob") {
      if (wh::json::Value* cs = wh::json::object(*spec, "rayClusterSpec")) rayGroups(*cs, "rayClusterSpec.", out);
      if (wh::json::Value* t = wh::json::object(*spec, "submitterPodTemplate"))
        out.push_back({"submitterPodTemplate", t});
    }
    if (kind == "RayService") {
      if (wh::json::Value* cs = wh::json::object(*spec, "rayClusterConfig")) rayGroups(*cs, "rayClusterConfig.", out);
    }
    return out;
  }
  if (g == "jobset.x-k8s.io" && kind == "JobSet") {
    if (wh::json::Value* rjs = spec ? wh::json::array(*spec, "replicatedJobs") : nullptr) {
      for (auto& rj : rjs->GetArray()) {
        wh::json::Value* t = rj.IsObject() ? wh::json::object(rj, "template") : nullptr;
        if (t) out.push_back({std::string(wh::json::string(rj, "name").value_or("")), t, true});
      }
    }
    return out;
  }
  if (g == "batch.volcano.sh" && kind == "Job") {
    if (wh::json::Value* tasks = spec ? wh::json::array(*spec, "tasks") : nullptr) {
      for (auto& task : tasks->GetArray()) {
        wh::json::Value* t = task.IsObject() ? wh::json::object(task, "template") : nullptr;
        if (t) out.push_back({std::string(wh::json::string(task, "name").value_or("")), t});
      }
    }
    return out;
  }
  if (g == "sparkoperator.k8s.io" && kind == "SparkApplication") {
    for (const char* role : {"driver", "executor"}) {
      wh::json::Value* r = spec ? wh::json::object(*spec, role) : nullptr;
      if (wh::json::Value* t = r ? wh::json::object(*r, "template") : nullptr) out.push_back({role, t});
    }
    if (out.empty()) {
      why =
          "the Spark operator builds the driver and executor pods from spec.driver/spec.executor itself; "
          "spotfit mutates those pods when they are created (give them a template to preview it)";
      return std::nullopt;
    }
    return out;
  }
  if (g == "argoproj.io") {
    why =
        "Argo builds each step's pod itself (main, wait and init containers); spotfit mutates those pods when "
        "they are created";
    return std::nullopt;
  }
  return std::nullopt;
}

struct Outcome {
  std::vector<wh::json::Document> docs;
  bool previewed = false;
  std::string refusal;
};

std::string describe(const wh::json::Value& obj) {
  std::string s(wh::json::string(obj, "apiVersion").value_or(""));
  s += " ";
  s += wh::json::string(obj, "kind").value_or("");
  s += " ";
  s += nameOf(obj);
  return s;
}

wh::json::Document parsed(const std::string& text) {
  wh::json::Document d;
  (void)spotfit::kube::json::parseInto(d, text);  // our own output: a parse error leaves an empty document
  return d;
}

Outcome previewOne(const Preview& pv, const wh::json::Value& input, bool withPdb, std::vector<std::string>& notes,
                   std::string& notPreviewed) {
  Outcome o;
  const std::string kind(wh::json::string(input, "kind").value_or(""));
  const std::string apiVersion(wh::json::string(input, "apiVersion").value_or(""));
  if ((kind == "Pod" && apiVersion == "v1") || (kind == "Job" && apiVersion == "batch/v1")) {
    Admitted r = admitObject(pv, input, kind == "Pod" ? kPodKind : kJobKind);
    for (const auto& w : r.admission.response.warnings) notes.push_back("warning: " + w);
    o.previewed = true;
    if (!r.refusal.empty()) {
      o.refusal = r.refusal;
      return o;
    }
    wh::json::Document d;
    d.CopyFrom(*r.admission.mutated, d.GetAllocator());
    o.docs.push_back(std::move(d));
    if (kind == "Job" && withPdb) {
      for (const auto& m : pdbsForJob(pv, *r.admission.mutated)) o.docs.push_back(parsed(m));
    }
    return o;
  }
  wh::json::Document copy;
  copy.CopyFrom(input, copy.GetAllocator());
  auto& a = copy.GetAllocator();
  if (kind == "CronJob" && apiVersion == "batch/v1") {
    wh::json::Value* spec = wh::json::object(copy, "spec");
    wh::json::Value* jt = spec ? wh::json::object(*spec, "jobTemplate") : nullptr;
    if (!jt) {
      notPreviewed = "spec.jobTemplate is missing";
      return o;
    }
    // Each Job the CronJob creates is its jobTemplate, owned by the CronJob; here named after it.
    wh::json::Document job = instantiate(*jt, "batch/v1", "Job", nameOf(input), input);
    Admitted r = admitObject(pv, job, kJobKind);
    for (const auto& w : r.admission.response.warnings) notes.push_back("warning: " + w);
    o.previewed = true;
    if (!r.refusal.empty()) {
      o.refusal = r.refusal;
      return o;
    }
    writeBack(*jt, *r.admission.mutated, a);
    notes.push_back("note: " + describe(input) +
                    ": not mutated itself; spec.jobTemplate shows what each Job it creates gets");
    o.docs.push_back(std::move(copy));
    return o;
  }
  std::string why;
  auto templates = templatesOf(copy, why);
  if (!templates) {
    notPreviewed = why.empty() ? "spotfit mutates v1 Pods and batch/v1 Jobs; it previews CronJobs and the pod "
                                 "templates of batch kinds (kubeflow.org jobs, RayJob/RayCluster, JobSet, "
                                 "Volcano Job, SparkApplication templates)"
                               : why;
    return o;
  }
  std::string roles;
  for (const Template& t : *templates) {
    const std::string instance = nameOf(input) + "-" + t.role;
    wh::json::Document obj =
        instantiate(*t.value, t.isJob ? "batch/v1" : "v1", t.isJob ? "Job" : "Pod", instance, input);
    Admitted r = admitObject(pv, obj, t.isJob ? kJobKind : kPodKind);
    for (const auto& w : r.admission.response.warnings) notes.push_back("warning: " + w);
    if (!r.refusal.empty()) {
      o.previewed = true;
      o.refusal = r.refusal;
      return o;
    }
    writeBack(*t.value, *r.admission.mutated, a);
    roles += (roles.empty() ? "" : ", ") + t.role;
  }
  o.previewed = true;
  notes.push_back("note: " + describe(input) + ": not mutated itself; its " + (templates->empty() ? "(no) " : "") +
                  "templates show what each " + (!templates->empty() && (*templates)[0].isJob ? "Job" : "pod") +
                  " gets" + (roles.empty() ? "" : " (" + roles + ")"));
  o.docs.push_back(std::move(copy));
  return o;
}

int runMutate(const std::vector<std::string>& args) {
  Flags flags("mutate", "-f FILE [--patch] [-o json|yaml]",
              "Run the admission webhook offline on every object of FILE (YAML or JSON, several documents or a\n"
              "List; - reads stdin): Pods and batch/v1 Jobs as the webhook mutates them (a Job with the PDB its\n"
              "pods would get), CronJobs with the jobTemplate their Jobs get, the pod templates of batch kinds\n"
              "(kubeflow.org jobs, RayJob/RayCluster, JobSet, Volcano Job, SparkApplication templates) with what\n"
              "their pods get, and AdmissionReviews answered. Other kinds are printed unchanged with a note on\n"
              "stderr. --patch prints the JSON Patch of a single Pod, Job or AdmissionReview instead. A refused\n"
              "object exits 1 with the reason.");
  flags.string("file", "FILE", "objects to mutate (-f)");
  flags.boolean("patch", "print the RFC 6902 JSON Patch instead of the mutated object");
  flags.string("output", "FORMAT", "json or yaml (-o); several objects print as a List (json) or documents (yaml)",
               "json");
  flags.string("config", "FILE", "serve config whose webhook: section to use (default: built-in defaults)");
  flags.string("namespace", "NS", "namespace of a bare Pod/Job without metadata.namespace", "default");
  flags.strings("vpa", "FILE", "VerticalPodAutoscaler objects to apply (repeatable; YAML/JSON, may be a List)");
  flags.strings("spend", "WORKFLOW=USD", "workflow spend so far, for spotfit.io/budget (repeatable)");
  flags.boolean("dry-run", "treat the request as a dry run");
  if (!flags.parse(args)) return kExitOk;
  flags.require("file");
  const std::string output = flags.get("output");
  if (output != "json" && output != "yaml") throw UsageError{"--output takes json or yaml, got '" + output + "'"};

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

  const std::string file = flags.get("file");
  std::string text, err;
  if (!readInput(file, text, err)) return fail(err);
  std::vector<wh::json::Document> docs;
  if (Status s = wh::yamlToJsonAll(text, docs, file); !s) return fail(s.error().message);
  if (docs.empty()) return fail(file + ": the input holds no document");
  // Every object, in order; a List's items stand for themselves.
  bool inputIsList =
      docs.size() == 1 && docs[0].IsObject() && wh::json::string(docs[0], "kind") == std::string_view("List");
  std::vector<const wh::json::Value*> objects;
  for (const auto& d : docs) {
    if (!d.IsObject()) return fail(file + ": expected Kubernetes objects, found a document that is not a mapping");
    if (wh::json::string(d, "kind") == std::string_view("List")) {
      const wh::json::Value* items = wh::json::array(d, "items");
      if (!items) return fail(file + ": a List needs items");
      for (const auto& item : items->GetArray()) {
        if (!item.IsObject()) return fail(file + ": every item of a List must be an object");
        objects.push_back(&item);
      }
    } else {
      objects.push_back(&d);
    }
  }
  if (objects.empty()) return fail(file + ": the input holds no object");
  const bool single = objects.size() == 1;
  const bool patch = flags.getBool("patch");
  if (patch && !single) {
    return fail("--patch takes a single Pod, Job or AdmissionReview; " + file + " holds " +
                std::to_string(objects.size()) + " objects");
  }

  Preview pv;
  pv.config = &config;
  pv.vpas = &vpas;
  pv.spend = &spend;
  pv.spends = &spends;
  pv.defaultNamespace = flags.get("namespace");
  pv.dryRun = flags.getBool("dry-run");

  std::vector<wh::json::Document> out;
  int status = kExitOk;
  bool previewedAny = false;
  for (const wh::json::Value* obj : objects) {
    const std::string kind(wh::json::string(*obj, "kind").value_or(""));
    if (kind == "AdmissionReview") {
      wh::DecodeResult d = wh::decodeAdmissionReview(wh::json::serialize(*obj));
      if (!d.request) return fail(file + ": " + d.failure.message);
      if (pv.dryRun) d.request->dryRun = true;
      for (const auto& [wf, usd] : spends) spend.set(d.request->namespace_, wf, usd);
      wh::AdmitterPorts ports;
      ports.vpas = &vpas;
      ports.spend = &spend;
      wh::Admission a = wh::Admitter(config, ports).admit(*d.request);
      for (const auto& w : a.response.warnings) std::cerr << "warning: " << w << "\n";
      previewedAny = true;
      out.push_back(parsed(patch ? (a.response.patch.empty() ? "[]" : a.response.patch) : a.body));
      continue;
    }
    std::vector<std::string> notes;
    std::string notPreviewed;
    Outcome o = previewOne(pv, *obj, !patch, notes, notPreviewed);
    for (const auto& n : notes) std::cerr << n << "\n";
    if (!o.refusal.empty()) {
      std::cerr << "spotfit mutate: " << (single ? "" : describe(*obj) + ": ") << "refused: " << o.refusal << "\n";
      status = kExitFailure;
      continue;
    }
    if (!o.previewed) {
      if (single) {
        return fail(file + ": kind '" + std::string(wh::json::string(*obj, "apiVersion").value_or("")) + "/" + kind +
                    "' is not previewed: " + notPreviewed);
      }
      std::cerr << "note: " << describe(*obj) << ": not previewed, printed unchanged: " << notPreviewed << "\n";
      wh::json::Document same;
      same.CopyFrom(*obj, same.GetAllocator());
      out.push_back(std::move(same));
      continue;
    }
    previewedAny = true;
    if (patch) {
      const std::string p = wh::json::serialize(*obj);
      wh::json::Document original = parsed(p);
      wh::JsonPatch jp = o.docs.empty() ? wh::JsonPatch{} : wh::diff(original, o.docs.front());
      out.push_back(parsed(jp.empty() ? "[]" : jp.json));
      continue;
    }
    for (auto& d : o.docs) out.push_back(std::move(d));
  }
  if (!previewedAny && status == kExitOk) return fail(file + ": no object spotfit previews");

  if (output == "yaml") {
    const bool list = inputIsList && !patch;
    if (list) {
      wh::json::Document l(rapidjson::kObjectType);
      auto& a = l.GetAllocator();
      l.AddMember("apiVersion", "v1", a);
      l.AddMember("kind", "List", a);
      wh::json::Value items(rapidjson::kArrayType);
      for (auto& d : out) items.PushBack(wh::json::Value(d, a), a);
      l.AddMember("items", items, a);
      std::cout << wh::jsonToYaml(l);
    } else {
      for (size_t i = 0; i < out.size(); ++i) std::cout << (i > 0 ? "---\n" : "") << wh::jsonToYaml(out[i]);
    }
  } else if (out.size() == 1 && !inputIsList) {
    std::cout << pretty(out.front()) << "\n";
  } else if (!out.empty()) {
    wh::json::Document l(rapidjson::kObjectType);
    auto& a = l.GetAllocator();
    l.AddMember("apiVersion", "v1", a);
    l.AddMember("kind", "List", a);
    wh::json::Value items(rapidjson::kArrayType);
    for (auto& d : out) items.PushBack(wh::json::Value(d, a), a);
    l.AddMember("items", items, a);
    std::cout << pretty(l) << "\n";
  }
  return status;
}

const Command kMutate("mutate", "run the admission webhook offline on Pods, Jobs, batch workloads or AdmissionReviews",
                      runMutate);

}  // namespace
}  // namespace spotfit::cli
