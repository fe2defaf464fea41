#pragma once
// YAML (or JSON, which is YAML) manifests to JSON, resolving plain scalars the way Kubernetes' YAML
// decoder does for the common cases: null/~, true/false, integers and floats become JSON values; quoted
// scalars stay strings. Used by `spotfit mutate` and the tests' corpus.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "webhook/json.hpp"

namespace spotfit::webhook {

// Parses the first YAML document of `text` into `out`. Error names the line of a syntax error.
Status yamlToJson(std::string_view text, json::Document& out);
// Every document of a multi-document stream (`---` separated); empty documents are dropped. With a
// `source` (file name), errors read "source:line: message".
Status yamlToJsonAll(std::string_view text, std::vector<json::Document>& out, std::string_view source = {});

}  // namespace spotfit::webhook
