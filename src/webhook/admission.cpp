#include "webhook/admission.hpp"

#include "base/base64.hpp"
#include "kube/json.hpp"

namespace spotfit::webhook {
namespace {

std::string stringOr(const json::Value& obj, std::string_view key) {
  auto s = json::string(obj, key);
  return s ? std::string(*s) : std::string();
}

}  // namespace

DecodeResult decodeAdmissionReview(std::string_view body) {
  DecodeResult out;
  auto doc = std::make_shared<json::Document>();
  if (Status parsed = kube::json::parseInto(*doc, body); !parsed) {
    out.failure.message = "request body is not JSON: " + parsed.error().message;
    return out;
  }
  if (!doc->IsObject()) {
    out.failure.message = "request body is not a JSON object";
    return out;
  }
  const json::Value* req = json::object(*doc, "request");
  if (req) out.failure.uid = stringOr(*req, "uid");
  out.failure.apiVersion = stringOr(*doc, "apiVersion");
  auto apiVersion = json::string(*doc, "apiVersion");
  auto kind = json::string(*doc, "kind");
  if (!apiVersion || (*apiVersion != kAdmissionV1 && *apiVersion != kAdmissionV1beta1)) {
    out.failure.message = "apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1";
    out.failure.apiVersion.clear();
    return out;
  }
  if (!kind || *kind != "AdmissionReview") {
    out.failure.message = "kind must be AdmissionReview";
    return out;
  }
  if (!req) {
    out.failure.message = "AdmissionReview has no request object";
    return out;
  }
  if (out.failure.uid.empty()) {
    out.failure.message = "request.uid is missing or not a string";
    return out;
  }
  const json::Value* gvk = json::object(*req, "kind");
  if (!gvk || !json::string(*gvk, "kind") || !json::string(*gvk, "version")) {
    out.failure.message = "request.kind must be an object with version and kind";
    return out;
  }
  auto operation = json::string(*req, "operation");
  if (!operation) {
    out.failure.message = "request.operation is missing or not a string";
    return out;
  }
  AdmissionRequest r;
  r.apiVersion = std::string(*apiVersion);
  r.uid = out.failure.uid;
  r.kind = {stringOr(*gvk, "group"), stringOr(*gvk, "version"), stringOr(*gvk, "kind")};
  r.subResource = stringOr(*req, "subResource");
  r.operation = std::string(*operation);
  r.name = stringOr(*req, "name");
  r.namespace_ = stringOr(*req, "namespace");
  if (const json::Value* dry = json::member(*req, "dryRun")) {
    if (!dry->IsBool() && !dry->IsNull()) {
      out.failure.message = "request.dryRun must be a boolean";
      return out;
    }
    r.dryRun = dry->IsTrue();
  }
  json::Value* reqMut = json::object(*doc, "request");
  json::Value* obj = json::member(*reqMut, "object");
  if (obj && !obj->IsNull()) {
    if (!obj->IsObject()) {
      out.failure.message = "request.object must be a JSON object";
      return out;
    }
    r.object = obj;
  }
  r.document = std::move(doc);
  out.request = std::move(r);
  return out;
}

std::string sanitizeWarning(std::string_view w) {
  std::string out;
  out.reserve(w.size() < kMaxWarningLength ? w.size() : kMaxWarningLength);
  for (char c : w) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (out.size() > kMaxWarningLength) {
    size_t cut = kMaxWarningLength;
    // Do not split a UTF-8 sequence: back up over continuation bytes to the lead byte.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string encodeAdmissionReview(std::string_view apiVersion, const AdmissionResponse& response) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  w.StartObject();
  w.Key("apiVersion");
  json::write(w, apiVersion == kAdmissionV1beta1 ? kAdmissionV1beta1 : kAdmissionV1);
  w.Key("kind");
  w.String("AdmissionReview");
  w.Key("response");
  w.StartObject();
  w.Key("uid");
  json::write(w, response.uid);
  w.Key("allowed");
  w.Bool(response.allowed);
  if (response.allowed && !response.patch.empty() && response.patch != "[]") {
    w.Key("patchType");
    w.String("JSONPatch");
    w.Key("patch");
    json::write(w, base::base64Encode(response.patch));
  }
  if (response.status) {
    w.Key("status");
    w.StartObject();
    w.Key("status");
    w.String(response.allowed ? "Success" : "Failure");
    if (!response.status->message.empty()) {
      w.Key("message");
      json::write(w, response.status->message);
    }
    if (!response.status->reason.empty()) {
      w.Key("reason");
      json::write(w, response.status->reason);
    }
    if (response.status->code != 0) {
      w.Key("code");
      w.Int(response.status->code);
    }
    w.EndObject();
  }
  if (!response.warnings.empty()) {
    w.Key("warnings");
    w.StartArray();
    for (const auto& warning : response.warnings) json::write(w, sanitizeWarning(warning));
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace spotfit::webhook
