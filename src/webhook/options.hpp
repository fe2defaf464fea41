#pragma once
// The spotfit.io/* annotations a user puts on a Job (copied to its pods) or a Pod, parsed and validated.
// An invalid value refuses the object with a message naming the annotation and its valid values.

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "placement/budget.hpp"
#include "webhook/config.hpp"
#include "webhook/pod_template.hpp"

namespace spotfit::webhook {

inline constexpr std::string_view kPrefix = "spotfit.io/";
inline constexpr std::string_view kAnnCapacityType = "spotfit.io/capacity-type";
inline constexpr std::string_view kAnnWorkflow = "spotfit.io/workflow";
inline constexpr std::string_view kAnnBudget = "spotfit.io/budget";
inline constexpr std::string_view kAnnBudgetAction = "spotfit.io/budget-action";
inline constexpr std::string_view kAnnCheckpoint = "spotfit.io/checkpoint";
// The checkpoint command is copied into every container's preStop hook: its length is bounded.
inline constexpr size_t kMaxCheckpointLength = 4096;
inline constexpr std::string_view kAnnMinAvailable = "spotfit.io/min-available";
inline constexpr std::string_view kAnnRightSize = "spotfit.io/right-size";
inline constexpr std::string_view kAnnGpuProduct = "spotfit.io/gpu-product";
inline constexpr std::string_view kAnnDoNotDisrupt = "spotfit.io/do-not-disrupt";
inline constexpr std::string_view kAnnMutated = "spotfit.io/mutated";
inline constexpr std::string_view kAnnKarpenterDoNotDisrupt = "karpenter.sh/do-not-disrupt";
inline constexpr std::string_view kAnnSafeToEvict = "cluster-autoscaler.kubernetes.io/safe-to-evict";
inline constexpr std::string_view kLabelWorkflow = "spotfit.io/workflow";
inline constexpr std::string_view kLabelRun = "spotfit.io/run";  // one run of a CronJob workflow (the Job)
inline constexpr std::string_view kLabelSkip = "spotfit.io/skip";
inline constexpr std::string_view kLabelEnabled = "spotfit.io/enabled";

// Budgets have one definition shared with the extender and the scaler (placement/budget.hpp).
using placement::BudgetAction;
using placement::budgetActionName;

struct SpotfitOptions {
  std::optional<CapacityType> capacityType;
  std::optional<std::string> workflow;
  std::optional<double> budgetUsd;
  BudgetAction budgetAction = BudgetAction::Alert;
  std::optional<std::string> checkpoint;  // "none" is kept as given: it disables the hook
  std::optional<std::string> minAvailable;
  bool rightSize = true;  // spotfit.io/right-size is not off (nor an unknown value)
  // spotfit.io/right-size: profile (default) also sizes from the workflow's profile when no VPA targets the
  // Job; vpa sizes from a VPA only.
  bool rightSizeProfile = true;
  // An unknown spotfit.io/right-size value: admitted with a warning naming it, requests left as written.
  std::optional<std::string> rightSizeUnknown;
  std::optional<std::string> gpuProduct;
  std::optional<bool> doNotDisrupt;  // spotfit.io/do-not-disrupt; unset: protected unless resumable
};

// Reads the spotfit.io/* annotations of `meta`, each overriding what `base` holds (used to layer a pod
// template's annotations over its Job's). Unknown spotfit.io/ annotations are ignored (other spotfit
// components own some, e.g. mutated). Error code "invalid" names the annotation and its valid values.
Result<SpotfitOptions> parseOptions(const ObjectMeta& meta, SpotfitOptions base = {});

// Kubernetes label value syntax: at most 63 characters, alphanumerics, '-', '_', '.', alphanumeric ends.
bool validLabelValue(std::string_view v);

}  // namespace spotfit::webhook
