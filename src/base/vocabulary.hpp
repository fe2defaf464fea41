#pragma once
// The public vocabulary: every `spotfit.io/*` annotation, label, taint and key spotfit reads or writes, in
// one place (docs/annotations.md documents each; tests/base/vocabulary_test.cpp keeps the two in step).
// Every role (webhook, extender, scaler, simulator) and the pure placement core use these constants; no
// other file spells a `spotfit.io/` name. The names are char arrays so they convert to `const char*`,
// `std::string_view` and `std::string` alike.

#include <array>
#include <string_view>

namespace spotfit::vocab {

// The prefix every name below starts with; any annotation with it brings a bare Pod into the webhook's scope.
inline constexpr char kPrefix[] = "spotfit.io/";
// apiVersion of spotfit's own kinds (SpotfitPool, simulate workloads).
inline constexpr char kApiVersion[] = "spotfit.io/v1alpha1";

// Annotations a user sets on a Job (copied to its pod template) or a Pod.
inline constexpr char kAnnotationCapacityType[] = "spotfit.io/capacity-type";  // spot-preferred | spot | on-demand
inline constexpr char kAnnotationWorkflow[] = "spotfit.io/workflow";
inline constexpr char kAnnotationBudget[] = "spotfit.io/budget";
inline constexpr char kAnnotationBudgetAction[] = "spotfit.io/budget-action";
inline constexpr char kAnnotationCheckpoint[] = "spotfit.io/checkpoint";
inline constexpr char kAnnotationMinAvailable[] = "spotfit.io/min-available";
inline constexpr char kAnnotationRightSize[] = "spotfit.io/right-size";
inline constexpr char kAnnotationGpuProduct[] = "spotfit.io/gpu-product";
inline constexpr char kAnnotationDoNotDisrupt[] = "spotfit.io/do-not-disrupt";
inline constexpr char kAnnotationResumable[] = "spotfit.io/resumable";
inline constexpr char kAnnotationExpectedDuration[] = "spotfit.io/expected-duration";
inline constexpr char kAnnotationGang[] = "spotfit.io/gang";  // "true" | "false"
inline constexpr char kAnnotationGangSize[] = "spotfit.io/gang-size";
inline constexpr char kAnnotationGangTopology[] = "spotfit.io/gang-topology";  // "zone" | "any"
inline constexpr char kAnnotationGangMixedCapacity[] = "spotfit.io/gang-mixed-capacity";
// On a CronJob (read by the scaler).
inline constexpr char kAnnotationPrewarm[] = "spotfit.io/prewarm";

// Annotations spotfit writes.
inline constexpr char kAnnotationMutated[] = "spotfit.io/mutated";  // the webhook's record of its changes
inline constexpr char kAnnotationKwokReadyAt[] = "spotfit.io/kwok-ready-at";
// On a Job created suspended by a BudgetPolicy: "<namespace>/<policy>".
inline constexpr char kAnnotationBudgetSuspended[] = "spotfit.io/budget-suspended";

// Labels.
inline constexpr char kLabelEnabled[] = "spotfit.io/enabled";  // on a Namespace: opt in
inline constexpr char kLabelSkip[] = "spotfit.io/skip";        // on a Pod or Job: opt out
inline constexpr char kLabelWorkflow[] = "spotfit.io/workflow";
inline constexpr char kLabelRun[] = "spotfit.io/run";                     // one run of a CronJob workflow (the Job)
inline constexpr char kLabelCapacityType[] = "spotfit.io/capacity-type";  // on Nodes: "spot" | "on-demand"
inline constexpr char kLabelNodePool[] = "spotfit.io/node-pool";
inline constexpr char kLabelGangNode[] = "spotfit.io/gang";  // on Nodes launched for a gang: g-<16 hex>
inline constexpr char kLabelProvider[] = "spotfit.io/provider";

// Taints (the webhook's default spot toleration tolerates kTaintCapacityType=spot).
inline constexpr char kTaintCapacityType[] = "spotfit.io/capacity-type";
inline constexpr char kTaintDisrupting[] = "spotfit.io/disrupting";
inline constexpr char kTaintInterruptionNotice[] = "spotfit.io/interruption-notice";

// Other keys: a ProvisioningRequest's status.provisioningClassDetails entry and the webhook's Events'
// reportingComponent.
inline constexpr char kProvReqDetailNodes[] = "spotfit.io/nodes";
inline constexpr char kEventReportingComponentWebhook[] = "spotfit.io/webhook";

// Every name above (a name can be both an annotation and a label), for the documentation test.
inline constexpr auto kAllNames = std::to_array<std::string_view>({
    kApiVersion,
    kAnnotationCapacityType,
    kAnnotationWorkflow,
    kAnnotationBudget,
    kAnnotationBudgetAction,
    kAnnotationCheckpoint,
    kAnnotationMinAvailable,
    kAnnotationRightSize,
    kAnnotationGpuProduct,
    kAnnotationDoNotDisrupt,
    kAnnotationResumable,
    kAnnotationExpectedDuration,
    kAnnotationGang,
    kAnnotationGangSize,
    kAnnotationGangTopology,
    kAnnotationGangMixedCapacity,
    kAnnotationPrewarm,
    kAnnotationMutated,
    kAnnotationKwokReadyAt,
    kAnnotationBudgetSuspended,
    kLabelEnabled,
    kLabelSkip,
    kLabelWorkflow,
    kLabelRun,
    kLabelCapacityType,
    kLabelNodePool,
    kLabelGangNode,
    kLabelProvider,
    kTaintCapacityType,
    kTaintDisrupting,
    kTaintInterruptionNotice,
    kProvReqDetailNodes,
    kEventReportingComponentWebhook,
});

}  // namespace spotfit::vocab
