#include "webhook/pod_template.hpp"

#include <cinttypes>

namespace spotfit::webhook {
namespace {

using json::Value;

Status bad(std::string_view where, std::string_view field, std::string_view what) {
  return makeError("invalid", std::string(where) + "." + std::string(field) + " " + std::string(what));
}

// Checks `obj[key]` is absent, null or of the wanted shape.
bool optionalIs(const Value& obj, std::string_view key, bool (Value::*is)() const) {
  const Value* v = json::member(obj, key);
  return !v || v->IsNull() || (v->*is)();
}

Status stringMap(const Value& obj, std::string_view key, std::string_view where) {
  const Value* m = json::member(obj, key);
  if (!m || m->IsNull()) return {};
  if (!m->IsObject()) return bad(where, key, "must be an object");
  for (auto it = m->MemberBegin(); it != m->MemberEnd(); ++it) {
    if (!it->value.IsString()) {
      return bad(where, std::string(key) + "." + std::string(json::view(it->name)), "must be a string");
    }
  }
  return {};
}

Status quantityMap(const Value& obj, std::string_view key, std::string_view where) {
  const Value* m = json::member(obj, key);
  if (!m || m->IsNull()) return {};
  if (!m->IsObject()) return bad(where, key, "must be an object");
  for (auto it = m->MemberBegin(); it != m->MemberEnd(); ++it) {
    if (!it->value.IsString() && !it->value.IsNumber()) {
      return bad(where, std::string(key) + "." + std::string(json::view(it->name)), "must be a quantity");
    }
  }
  return {};
}

Status arrayOfObjects(const Value& obj, std::string_view key, std::string_view where) {
  const Value* a = json::member(obj, key);
  if (!a || a->IsNull()) return {};
  if (!a->IsArray()) return bad(where, key, "must be an array");
  for (const auto& e : a->GetArray()) {
    if (!e.IsObject()) return bad(where, key, "must contain objects");
  }
  return {};
}

Status nodeSelectorTerm(const Value& term, const std::string& where) {
  if (auto s = arrayOfObjects(term, "matchExpressions", where); !s) return s;
  if (const Value* exprs = json::array(term, "matchExpressions")) {
    for (const auto& e : exprs->GetArray()) {
      if (!optionalIs(e, "key", &Value::IsString) || !optionalIs(e, "values", &Value::IsArray)) {
        return bad(where, "matchExpressions", "entries need a string key and an array of values");
      }
    }
  }
  return {};
}

Status affinityShape(const Value& spec, const std::string& where) {
  const Value* aff = json::member(spec, "affinity");
  if (!aff || aff->IsNull()) return {};
  if (!aff->IsObject()) return bad(where, "affinity", "must be an object");
  const Value* na = json::member(*aff, "nodeAffinity");
  if (!na || na->IsNull()) return {};
  if (!na->IsObject()) return bad(where, "affinity.nodeAffinity", "must be an object");
  const std::string naWhere = where + ".affinity.nodeAffinity";
  if (const Value* req = json::member(*na, "requiredDuringSchedulingIgnoredDuringExecution"); req && !req->IsNull()) {
    if (!req->IsObject()) return bad(naWhere, "requiredDuringSchedulingIgnoredDuringExecution", "must be an object");
    const std::string reqWhere = naWhere + ".requiredDuringSchedulingIgnoredDuringExecution";
    if (auto s = arrayOfObjects(*req, "nodeSelectorTerms", reqWhere); !s) return s;
    if (const Value* terms = json::array(*req, "nodeSelectorTerms")) {
      for (const auto& t : terms->GetArray()) {
        if (auto s = nodeSelectorTerm(t, reqWhere + ".nodeSelectorTerms"); !s) return s;
      }
    }
  }
  if (auto s = arrayOfObjects(*na, "preferredDuringSchedulingIgnoredDuringExecution", naWhere); !s) return s;
  if (const Value* pref = json::array(*na, "preferredDuringSchedulingIgnoredDuringExecution")) {
    for (const auto& p : pref->GetArray()) {
      const Value* preference = json::member(p, "preference");
      if (!preference || preference->IsNull()) continue;
      if (!preference->IsObject())
        return bad(naWhere, "preferredDuringSchedulingIgnoredDuringExecution", "preference must be an object");
      if (auto s = nodeSelectorTerm(*preference, naWhere + ".preferredDuringSchedulingIgnoredDuringExecution"); !s)
        return s;
    }
  }
  return {};
}

Status containerShape(const Value& c, const std::string& where) {
  if (!optionalIs(c, "name", &Value::IsString)) return bad(where, "name", "must be a string");
  if (!optionalIs(c, "resources", &Value::IsObject)) return bad(where, "resources", "must be an object");
  if (const Value* r = json::object(c, "resources")) {
    if (auto s = quantityMap(*r, "requests", where + ".resources"); !s) return s;
    if (auto s = quantityMap(*r, "limits", where + ".resources"); !s) return s;
  }
  if (!optionalIs(c, "lifecycle", &Value::IsObject)) return bad(where, "lifecycle", "must be an object");
  return {};
}

std::optional<std::string_view> stringIn(const Value* obj, std::string_view mapKey, std::string_view key) {
  if (!obj) return std::nullopt;
  const Value* m = json::object(*obj, mapKey);
  if (!m) return std::nullopt;
  return json::string(*m, key);
}

bool termMentions(const Value& term, std::string_view key) {
  const Value* exprs = json::array(term, "matchExpressions");
  if (!exprs) return false;
  for (const auto& e : exprs->GetArray()) {
    if (json::string(e, "key") == key) return true;
  }
  return false;
}

Value requirement(std::string_view key, const std::vector<std::string>& values, json::Allocator& a,
                  std::string_view op = "In") {
  Value e(rapidjson::kObjectType);
  e.AddMember("key", json::str(key, a), a);
  e.AddMember("operator", json::str(op, a), a);
  Value vs(rapidjson::kArrayType);
  for (const auto& v : values) vs.PushBack(json::str(v, a), a);
  e.AddMember("values", vs, a);
  return e;
}

}  // namespace

Status validateObjectMetaShape(const json::Value& obj, std::string_view where) {
  const Value* meta = json::member(obj, "metadata");
  if (!meta || meta->IsNull()) return {};
  std::string w = std::string(where) + ".metadata";
  if (!meta->IsObject()) return bad(where, "metadata", "must be an object");
  for (const char* k : {"name", "generateName", "namespace", "uid"}) {
    if (!optionalIs(*meta, k, &Value::IsString)) return bad(w, k, "must be a string");
  }
  if (auto s = stringMap(*meta, "labels", w); !s) return s;
  if (auto s = stringMap(*meta, "annotations", w); !s) return s;
  if (auto s = arrayOfObjects(*meta, "ownerReferences", w); !s) return s;
  return {};
}

Status validatePodTemplateShape(const json::Value& tmpl, std::string_view where) {
  if (!tmpl.IsObject()) return makeError("invalid", std::string(where) + " must be an object");
  if (auto s = validateObjectMetaShape(tmpl, where); !s) return s;
  const Value* spec = json::member(tmpl, "spec");
  if (!spec || !spec->IsObject()) return bad(where, "spec", "must be an object");
  std::string w = std::string(where) + ".spec";
  if (auto s = arrayOfObjects(*spec, "containers", w); !s) return s;
  // Policies touch every container (the preStop hook is copied into each): bounded like the kube decoder.
  for (std::string_view key : {"containers", "initContainers"}) {
    const Value* cs = json::array(*spec, key);
    if (cs && cs->Size() > kMaxContainers) {
      return bad(w, key, "has " + std::to_string(cs->Size()) + " entries, more than " + std::to_string(kMaxContainers));
    }
  }
  if (const Value* cs = json::array(*spec, "containers")) {
    for (rapidjson::SizeType i = 0; i < cs->Size(); ++i) {
      if (auto s = containerShape((*cs)[i], w + ".containers[" + std::to_string(i) + "]"); !s) return s;
    }
  }
  if (auto s = arrayOfObjects(*spec, "initContainers", w); !s) return s;
  if (auto s = arrayOfObjects(*spec, "tolerations", w); !s) return s;
  if (auto s = stringMap(*spec, "nodeSelector", w); !s) return s;
  if (!optionalIs(*spec, "terminationGracePeriodSeconds", &Value::IsInt64)) {
    return bad(w, "terminationGracePeriodSeconds", "must be an integer");
  }
  return affinityShape(*spec, w);
}

// ---- ObjectMeta

const Value* ObjectMeta::meta() const {
  return json::object(*owner_, "metadata");
}
Value& ObjectMeta::metaForWrite() {
  return json::objectMember(*owner_, "metadata", *a_);
}

std::string_view ObjectMeta::name() const {
  const Value* m = meta();
  return m ? json::string(*m, "name").value_or("") : "";
}
std::string_view ObjectMeta::generateName() const {
  const Value* m = meta();
  return m ? json::string(*m, "generateName").value_or("") : "";
}
std::string_view ObjectMeta::namespace_() const {
  const Value* m = meta();
  return m ? json::string(*m, "namespace").value_or("") : "";
}
std::string_view ObjectMeta::uid() const {
  const Value* m = meta();
  return m ? json::string(*m, "uid").value_or("") : "";
}
std::optional<std::string_view> ObjectMeta::label(std::string_view key) const {
  return stringIn(meta(), "labels", key);
}
std::optional<std::string_view> ObjectMeta::annotation(std::string_view key) const {
  return stringIn(meta(), "annotations", key);
}

std::vector<std::pair<std::string, std::string>> ObjectMeta::annotationsWithPrefix(std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  const Value* m = meta();
  const Value* ann = m ? json::object(*m, "annotations") : nullptr;
  if (!ann) return out;
  for (auto it = ann->MemberBegin(); it != ann->MemberEnd(); ++it) {
    std::string_view k = json::view(it->name);
    if (k.substr(0, prefix.size()) == prefix && it->value.IsString()) out.emplace_back(k, json::view(it->value));
  }
  return out;
}

void ObjectMeta::setLabel(std::string_view key, std::string_view value) {
  json::set(json::objectMember(metaForWrite(), "labels", *a_), key, json::str(value, *a_), *a_);
}
void ObjectMeta::setAnnotation(std::string_view key, std::string_view value) {
  json::set(json::objectMember(metaForWrite(), "annotations", *a_), key, json::str(value, *a_), *a_);
}

std::vector<OwnerReference> ObjectMeta::ownerReferences() const {
  std::vector<OwnerReference> out;
  const Value* m = meta();
  const Value* refs = m ? json::array(*m, "ownerReferences") : nullptr;
  if (!refs) return out;
  for (const auto& r : refs->GetArray()) {
    if (!r.IsObject()) continue;
    OwnerReference o;
    o.apiVersion = json::string(r, "apiVersion").value_or("");
    o.kind = json::string(r, "kind").value_or("");
    o.name = json::string(r, "name").value_or("");
    o.uid = json::string(r, "uid").value_or("");
    const Value* c = json::member(r, "controller");
    o.controller = c && c->IsTrue();
    out.push_back(std::move(o));
  }
  return out;
}

std::optional<OwnerReference> ObjectMeta::owner(std::string_view kind) const {
  std::optional<OwnerReference> first;
  for (auto& o : ownerReferences()) {
    if (o.kind != kind || o.name.empty()) continue;
    if (o.controller) return o;
    if (!first) first = o;
  }
  return first;
}

std::optional<OwnerReference> ObjectMeta::ownerOf(std::string_view group, std::string_view kind) const {
  std::optional<OwnerReference> first;
  for (auto& o : ownerReferences()) {
    const size_t slash = o.apiVersion.find('/');
    const std::string_view g =
        slash == std::string::npos ? std::string_view() : std::string_view(o.apiVersion).substr(0, slash);
    if (o.kind != kind || g != group || o.name.empty()) continue;
    if (o.controller) return o;
    if (!first) first = o;
  }
  return first;
}

// ---- Container

std::string_view Container::name() const {
  return json::string(*c_, "name").value_or("");
}

bool Container::hasPreStop() const {
  const Value* lc = json::object(*c_, "lifecycle");
  const Value* ps = lc ? json::member(*lc, "preStop") : nullptr;
  return ps && !ps->IsNull();
}

void Container::setPreStopExec(const std::vector<std::string>& command) {
  Value cmd(rapidjson::kArrayType);
  for (const auto& part : command) cmd.PushBack(json::str(part, *a_), *a_);
  Value exec(rapidjson::kObjectType);
  exec.AddMember("command", cmd, *a_);
  Value preStop(rapidjson::kObjectType);
  preStop.AddMember("exec", exec, *a_);
  json::set(json::objectMember(*c_, "lifecycle", *a_), "preStop", std::move(preStop), *a_);
}

std::optional<std::string> Container::quantity(std::string_view kind, std::string_view resource) const {
  const Value* r = json::object(*c_, "resources");
  const Value* m = r ? json::object(*r, kind) : nullptr;
  const Value* q = m ? json::member(*m, resource) : nullptr;
  if (!q) return std::nullopt;
  if (q->IsString()) return std::string(json::view(*q));
  if (q->IsInt64()) return std::to_string(q->GetInt64());
  if (q->IsUint64()) return std::to_string(q->GetUint64());
  if (q->IsNumber()) return json::serialize(*q);
  return std::nullopt;
}
std::optional<std::string> Container::request(std::string_view resource) const {
  return quantity("requests", resource);
}
std::optional<std::string> Container::limit(std::string_view resource) const {
  return quantity("limits", resource);
}

void Container::setQuantity(std::string_view kind, std::string_view resource, std::string_view q) {
  Value& resources = json::objectMember(*c_, "resources", *a_);
  json::set(json::objectMember(resources, kind, *a_), resource, json::str(q, *a_), *a_);
}
void Container::setRequest(std::string_view resource, std::string_view q) {
  setQuantity("requests", resource, q);
}
void Container::setLimit(std::string_view resource, std::string_view q) {
  setQuantity("limits", resource, q);
}

// ---- PodSpec

std::vector<Toleration> PodSpec::tolerations() const {
  std::vector<Toleration> out;
  const Value* ts = json::array(*s_, "tolerations");
  if (!ts) return out;
  for (const auto& t : ts->GetArray()) {
    if (!t.IsObject()) continue;
    Toleration x;
    x.key = json::string(t, "key").value_or("");
    x.op = json::string(t, "operator").value_or("Equal");
    x.value = json::string(t, "value").value_or("");
    x.effect = json::string(t, "effect").value_or("");
    if (const Value* s = json::member(t, "tolerationSeconds"); s && s->IsInt64()) x.tolerationSeconds = s->GetInt64();
    out.push_back(std::move(x));
  }
  return out;
}

void PodSpec::addToleration(const Toleration& t) {
  Value v(rapidjson::kObjectType);
  if (!t.key.empty()) v.AddMember("key", json::str(t.key, *a_), *a_);
  v.AddMember("operator", json::str(t.op.empty() ? "Equal" : t.op, *a_), *a_);
  if (!t.value.empty()) v.AddMember("value", json::str(t.value, *a_), *a_);
  if (!t.effect.empty()) v.AddMember("effect", json::str(t.effect, *a_), *a_);
  if (t.tolerationSeconds) v.AddMember("tolerationSeconds", Value(*t.tolerationSeconds), *a_);
  json::arrayMember(*s_, "tolerations", *a_).PushBack(v, *a_);
}

std::optional<std::string_view> PodSpec::nodeSelector(std::string_view key) const {
  return stringIn(s_, "nodeSelector", key);
}

namespace {
const Value* nodeAffinity(const Value& spec) {
  const Value* aff = json::object(spec, "affinity");
  return aff ? json::object(*aff, "nodeAffinity") : nullptr;
}
}  // namespace

bool PodSpec::requiresNodeLabel(std::string_view key) const {
  if (nodeSelector(key)) return true;
  const Value* na = nodeAffinity(*s_);
  const Value* req = na ? json::object(*na, "requiredDuringSchedulingIgnoredDuringExecution") : nullptr;
  const Value* terms = req ? json::array(*req, "nodeSelectorTerms") : nullptr;
  if (!terms || terms->Empty()) return false;
  for (const auto& t : terms->GetArray()) {
    if (!termMentions(t, key)) return false;
  }
  return true;
}

bool PodSpec::prefersNodeLabel(std::string_view key) const {
  const Value* na = nodeAffinity(*s_);
  const Value* pref = na ? json::array(*na, "preferredDuringSchedulingIgnoredDuringExecution") : nullptr;
  if (!pref) return false;
  for (const auto& p : pref->GetArray()) {
    const Value* preference = json::object(p, "preference");
    if (preference && termMentions(*preference, key)) return true;
  }
  return false;
}

bool PodSpec::requireNodeLabelIn(std::string_view key, const std::vector<std::string>& values) {
  return requireNodeLabel(key, "In", values);
}

bool PodSpec::requireNodeLabel(std::string_view key, std::string_view op, const std::vector<std::string>& values) {
  if (requiresNodeLabel(key)) return false;
  Value& na = json::objectMember(json::objectMember(*s_, "affinity", *a_), "nodeAffinity", *a_);
  Value& req = json::objectMember(na, "requiredDuringSchedulingIgnoredDuringExecution", *a_);
  Value& terms = json::arrayMember(req, "nodeSelectorTerms", *a_);
  if (terms.Empty()) {
    Value term(rapidjson::kObjectType);
    term.AddMember("matchExpressions", Value(rapidjson::kArrayType), *a_);
    terms.PushBack(term, *a_);
  }
  for (auto& t : terms.GetArray()) {
    if (termMentions(t, key)) continue;
    json::arrayMember(t, "matchExpressions", *a_).PushBack(requirement(key, values, *a_, op), *a_);
  }
  return true;
}

bool PodSpec::preferNodeLabelIn(std::string_view key, const std::vector<std::string>& values, int weight) {
  if (prefersNodeLabel(key)) return false;
  Value& na = json::objectMember(json::objectMember(*s_, "affinity", *a_), "nodeAffinity", *a_);
  Value term(rapidjson::kObjectType);
  term.AddMember("weight", weight, *a_);
  Value preference(rapidjson::kObjectType);
  Value exprs(rapidjson::kArrayType);
  exprs.PushBack(requirement(key, values, *a_), *a_);
  preference.AddMember("matchExpressions", exprs, *a_);
  term.AddMember("preference", preference, *a_);
  json::arrayMember(na, "preferredDuringSchedulingIgnoredDuringExecution", *a_).PushBack(term, *a_);
  return true;
}

size_t PodSpec::containerCount() const {
  const Value* cs = json::array(*s_, "containers");
  return cs ? cs->Size() : 0;
}

Container PodSpec::container(size_t i) {
  return Container((*json::array(*s_, "containers"))[static_cast<rapidjson::SizeType>(i)], *a_);
}

std::optional<int64_t> PodSpec::terminationGracePeriodSeconds() const {
  const Value* v = json::member(*s_, "terminationGracePeriodSeconds");
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

void PodSpec::setTerminationGracePeriodSeconds(int64_t s) {
  json::set(*s_, "terminationGracePeriodSeconds", Value(s), *a_);
}

std::optional<std::string_view> PodSpec::schedulerName() const {
  const Value* v = json::member(*s_, "schedulerName");
  if (!v) return std::nullopt;
  return v->IsString() ? json::view(*v) : std::string_view();
}

void PodSpec::setSchedulerName(std::string_view name) {
  json::set(*s_, "schedulerName", json::str(name, *a_), *a_);
}

}  // namespace spotfit::webhook
