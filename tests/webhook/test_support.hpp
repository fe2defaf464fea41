#pragma once
// Test-only helpers for the webhook tests: an independent RFC 6902 JSON Patch applier (strict: a missing
// parent, a bad index or an unknown op is an error, as in the apiserver's evanphx/json-patch), JSON
// parsing and comparison.

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "kube/json.hpp"

namespace spotfit::webhook::testing {

// Applies `patch` (JSON text of an operation array) to `doc`. Returns "" on success or the error.
std::string applyJsonPatch(spotfit::kube::json::Document& doc, std::string_view patch);

spotfit::kube::json::Document parseJson(std::string_view text);
// `object` with the JSON Patch of the AdmissionReview answer `reviewBody` applied (unchanged when the answer
// has no patch). A patch that is not base64 or does not apply fails the calling test.
spotfit::kube::json::Document patchedBy(std::string_view object, std::string_view reviewBody);
std::string toJson(const spotfit::kube::json::Value& v);
std::string toPrettyJson(const spotfit::kube::json::Value& v);
std::string readFile(const std::string& path);

}  // namespace spotfit::webhook::testing
