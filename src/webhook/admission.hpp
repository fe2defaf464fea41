#pragma once
// AdmissionReview codec (admission.k8s.io/v1, and v1beta1 which has the same shape). The response is
// written in the version the request used, echoes request.uid, and carries `patch` (base64 JSON Patch)
// and `patchType: JSONPatch` together or not at all (apiserver VerifyAdmissionResponse).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "webhook/json.hpp"

namespace spotfit::webhook {

inline constexpr std::string_view kAdmissionV1 = "admission.k8s.io/v1";
inline constexpr std::string_view kAdmissionV1beta1 = "admission.k8s.io/v1beta1";

struct GroupVersionKind {
  std::string group, version, kind;
};

struct AdmissionRequest {
  std::string apiVersion;  // as received; the response uses the same
  std::string uid;
  GroupVersionKind kind;
  std::string subResource;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string name;
  std::string namespace_;
  bool dryRun = false;
  // The parsed review; `object` points into it (nullptr when the request has no object).
  std::shared_ptr<json::Document> document;
  json::Value* object = nullptr;
};

// Why decoding failed, with the uid when it could be read (the 400 answer echoes it).
struct DecodeFailure {
  std::string message;
  std::string uid;
  std::string apiVersion;
};

// Parses a request body. Never throws; any malformed input is a DecodeFailure.
struct DecodeResult {
  std::optional<AdmissionRequest> request;
  DecodeFailure failure;
};
DecodeResult decodeAdmissionReview(std::string_view body);

struct AdmissionStatus {
  int code = 0;        // HTTP-style code in response.status, e.g. 403
  std::string reason;  // "Forbidden", "Invalid", "BadRequest"
  std::string message;
};

struct AdmissionResponse {
  std::string uid;
  bool allowed = true;
  std::string patch;  // JSON Patch document text; empty or "[]" means none
  std::vector<std::string> warnings;
  std::optional<AdmissionStatus> status;
};

// Longest warning kept (the apiserver recommends under 120 characters).
inline constexpr size_t kMaxWarningLength = 119;
// Trims a warning to kMaxWarningLength bytes at a UTF-8 boundary and replaces control characters.
std::string sanitizeWarning(std::string_view w);

// Full AdmissionReview JSON for `response` in `apiVersion` (v1 when empty or unknown).
std::string encodeAdmissionReview(std::string_view apiVersion, const AdmissionResponse& response);

}  // namespace spotfit::webhook
