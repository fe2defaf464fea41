#pragma once
// kube::yaml is the bounded YAML loader of src/yaml/ (std + yaml-cpp only, so the server's config reader,
// which may not depend on kube, loads through the same bounds).

#include "yaml/bounded.hpp"

namespace spotfit::kube {
namespace yaml = ::spotfit::yaml;
}  // namespace spotfit::kube
