#include "webhook/options.hpp"

#include <cctype>

namespace spotfit::webhook {
namespace {

Error invalid(std::string_view annotation, std::string_view value, std::string_view valid) {
  return makeError("invalid", "annotation " + std::string(annotation) + "=\"" + std::string(value) +
                                  "\" is invalid: valid values are " + std::string(valid));
}

bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

bool validLabelValue(std::string_view v) {
  if (v.empty()) return true;
  if (v.size() > 63 || !alnum(v.front()) || !alnum(v.back())) return false;
  for (char c : v) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

Result<SpotfitOptions> parseOptions(const ObjectMeta& meta, SpotfitOptions o) {
  if (auto v = meta.annotation(kAnnCapacityType)) {
    auto t = parseCapacityType(*v);
    if (!t) return invalid(kAnnCapacityType, *v, "spot-preferred, spot, on-demand");
    o.capacityType = t;
  }
  if (auto v = meta.annotation(kAnnWorkflow)) {
    if (v->empty() || !validLabelValue(*v)) {
      return invalid(kAnnWorkflow, *v, "a label value (1-63 alphanumerics, '-', '_', '.'; alphanumeric at both ends)");
    }
    o.workflow = std::string(*v);
  }
  if (auto v = meta.annotation(kAnnBudget)) {
    auto rule = placement::parseBudgetRule(*v, std::nullopt);
    if (!rule) return rule.error();
    o.budgetUsd = (*rule)->limitUsd;
  }
  if (auto v = meta.annotation(kAnnBudgetAction)) {
    auto rule = placement::parseBudgetRule(std::nullopt, *v);
    if (!rule) return rule.error();
    o.budgetAction = placement::parseBudgetAction(*v).value_or(BudgetAction::Alert);
  }
  if (auto v = meta.annotation(kAnnCheckpoint)) {
    bool blank = true;
    for (char c : *v) blank = blank && std::isspace(static_cast<unsigned char>(c));
    if (blank) return invalid(kAnnCheckpoint, *v, "a shell command run before the container stops, or none");
    if (v->size() > kMaxCheckpointLength) {
      return makeError("invalid", "annotation " + std::string(kAnnCheckpoint) + " is " + std::to_string(v->size()) +
                                      " bytes long, more than the limit of " + std::to_string(kMaxCheckpointLength));
    }
    o.checkpoint = std::string(*v);
  }
  if (auto v = meta.annotation(kAnnMinAvailable)) {
    if (!validIntOrPercent(*v))
      return invalid(kAnnMinAvailable, *v, "an integer such as 2 or a percentage such as 50%");
    o.minAvailable = std::string(*v);
  }
  if (auto v = meta.annotation(kAnnRightSize)) {
    o.rightSizeUnknown.reset();
    if (*v == "profile") {
      o.rightSize = true;
      o.rightSizeProfile = true;
    } else if (*v == "vpa") {
      o.rightSize = true;
      o.rightSizeProfile = false;
    } else if (*v == "off") {
      o.rightSize = false;
      o.rightSizeProfile = false;
    } else {
      // Not refused: a typo here should not stop a Job; it only loses right-sizing (with a warning).
      o.rightSize = false;
      o.rightSizeProfile = false;
      o.rightSizeUnknown = std::string(v->substr(0, 64));
    }
  }
  if (auto v = meta.annotation(kAnnGpuProduct)) {
    if (v->empty() || !validLabelValue(*v)) {
      return invalid(kAnnGpuProduct, *v, "an nvidia.com/gpu.product label value such as NVIDIA-A100-SXM4-80GB");
    }
    o.gpuProduct = std::string(*v);
  }
  if (auto v = meta.annotation(kAnnDoNotDisrupt)) {
    if (*v == "true") {
      o.doNotDisrupt = true;
    } else if (*v == "false") {
      o.doNotDisrupt = false;
    } else {
      return invalid(kAnnDoNotDisrupt, *v, "true, false");
    }
  }
  return o;
}

}  // namespace spotfit::webhook
