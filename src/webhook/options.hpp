#pragma once
// The spotfit.io/* annotations a user puts on a Job (copied to its pods) or a Pod, parsed and validated.
// An invalid value refuses the object with a message naming the annotation and its valid values.

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/vocabulary.hpp"
#include "placement/budget.hpp"
#include "webhook/config.hpp"
#include "webhook/pod_template.hpp"

namespace spotfit::webhook {

inline constexpr std::string_view kPrefix = vocab::kPrefix;
inline constexpr std::string_view kAnnCapacityType = vocab::kAnnotationCapacityType;
inline constexpr std::string_view kAnnWorkflow = vocab::kAnnotationWorkflow;
inline constexpr std::string_view kAnnBudget = vocab::kAnnotationBudget;
inline constexpr std::string_view kAnnBudgetAction = vocab::kAnnotationBudgetAction;
inline constexpr std::string_view kAnnCheckpoint = vocab::kAnnotationCheckpoint;
// The checkpoint command is copied into every container's preStop hook: its length is bounded.
inline constexpr size_t kMaxCheckpointLength = 4096;
inline constexpr std::string_view kAnnMinAvailable = vocab::kAnnotationMinAvailable;
inline constexpr std::string_view kAnnRightSize = vocab::kAnnotationRightSize;
inline constexpr std::string_view kAnnGpuProduct = vocab::kAnnotationGpuProduct;
inline constexpr std::string_view kAnnDoNotDisrupt = vocab::kAnnotationDoNotDisrupt;
inline constexpr std::string_view kAnnMutated = vocab::kAnnotationMutated;
inline constexpr std::string_view kAnnKarpenterDoNotDisrupt = "karpenter.sh/do-not-disrupt";
inline constexpr std::string_view kAnnSafeToEvict = "cluster-autoscaler.kubernetes.io/safe-to-evict";
inline constexpr std::string_view kLabelWorkflow = vocab::kLabelWorkflow;
inline constexpr std::string_view kLabelRun = vocab::kLabelRun;  // one run of a CronJob workflow (the Job)
inline constexpr std::string_view kLabelSkip = vocab::kLabelSkip;
inline constexpr std::string_view kLabelEnabled = vocab::kLabelEnabled;

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
