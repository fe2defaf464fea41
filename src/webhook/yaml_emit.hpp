#pragma once
// JSON to YAML for people to read (`spotfit mutate -o yaml`): block style, keys in the JSON's order, and
// every string that a YAML decoder could read as something else ("true", "no", "1", "0755", "500m", "")
// double-quoted, so that yamlToJson (and Kubernetes' decoder) reads back exactly the same JSON.

#include <string>

#include "webhook/json.hpp"

namespace spotfit::webhook {

// One YAML document (no "---" line), ending with a newline.
std::string jsonToYaml(const json::Value& value);

}  // namespace spotfit::webhook
