#pragma once
// ProvisioningRequests (autoscaling.x-k8s.io/v1, Cluster Autoscaler's API that Kueue's
// ProvisioningRequest admission check creates): the two classes Cluster Autoscaler defines.
//
//   check-capacity.autoscaling.x-k8s.io: do all the pods of the request fit on the nodes there are now
//     (room others' bookings hold excluded)? Yes: Provisioned=True (CapacityIsFound) and the room is
//     booked. No: Provisioned=False (CapacityIsNotFound), checked again every checkInterval, Failed
//     (Expired) once the request is a week old.
//   best-effort-atomic-scale-up.autoscaling.x-k8s.io: all pods at once or nothing. Planned through the
//     scaler's solver on existing room plus new nodes of one capacity type, spot first, else on-demand
//     (Scaler::planAtomic); launched, booked, Provisioned=True (CapacityIsProvisioned) once every node
//     is Ready. A plan that cannot hold every pod (pool limits, budget, no offering) is Failed with the
//     reason; a launch that fails part way is rolled back and retried, Failed after kMaxLaunchAttempts.
//
// Accepted=True is set on first sight. A booking lasts bookingTime from Provisioned=True, then
// BookingExpired=True; a booked node that goes away before its pods came is CapacityRevoked=True. While
// booked, the nodes are not scaled down or replaced, the room not yet used counts as taken for other
// pods, and pending pods annotated autoscaling.x-k8s.io/consume-provisioning-request=<name> (Kueue sets
// it; Cluster Autoscaler's older cluster-autoscaler.kubernetes.io/ key too) trigger no scale-up of
// their own: the default scheduler places them on the booked room. Requests of other classes are left to
// whatever serves them.
//
// The controller is single-threaded and runs in the leader's loop before Scaler::reconcile. After a
// failover a Provisioned request's booking is rebuilt from status: its nodes (provisioningClassDetails
// "spotfit.io/nodes") and the time of its Provisioned condition.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/vocabulary.hpp"
#include "kube/clock.hpp"
#include "kube/json.hpp"
#include "kube/objects.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler {

inline constexpr const char* kProvReqCheckCapacity = "check-capacity.autoscaling.x-k8s.io";
inline constexpr const char* kProvReqAtomicScaleUp = "best-effort-atomic-scale-up.autoscaling.x-k8s.io";
inline constexpr const char* kAnnotationConsumeProvReq = "autoscaling.x-k8s.io/consume-provisioning-request";
inline constexpr const char* kAnnotationConsumeProvReqLegacy =
    "cluster-autoscaler.kubernetes.io/consume-provisioning-request";
using vocab::kProvReqDetailNodes;

// Bounds on what a request may ask (the CRD allows 32 pod sets; counts are int32).
inline constexpr size_t kMaxProvReqPodSets = 32;
inline constexpr int64_t kMaxProvReqPods = 2000;  // pods of one request, all sets together
inline constexpr int kMaxLaunchAttempts = 3;      // passes whose launches all failed
inline constexpr int kMaxPlansPerPass = 6;

struct ProvReqCondition {
  std::string type, status, reason, message;
  TimePoint lastTransition{};
  friend bool operator==(const ProvReqCondition&, const ProvReqCondition&) = default;
};

struct ProvisioningRequestObject {
  kube::ObjectMeta meta;
  std::string className;
  std::vector<std::pair<std::string, int64_t>> podSets;  // PodTemplate name, count
  std::vector<ProvReqCondition> conditions;
  std::map<std::string, std::string> details;  // status.provisioningClassDetails

  const ProvReqCondition* condition(const std::string& type) const;
};
// kube::Decoder for the informer. Bounded: at most kMaxProvReqPodSets pod sets, counts 1..kMaxProvReqPods,
// at most 16 conditions and 16 details; anything else is an error naming the field.
Result<ProvisioningRequestObject> decodeProvisioningRequest(const kube::json::Value& v);

// A PodTemplate: its metadata and the pod its template describes (decoded by kube::decodePod).
struct PodTemplateObject {
  kube::ObjectMeta meta;
  placement::PodInfo pod;
};
Result<PodTemplateObject> decodePodTemplate(const kube::json::Value& v);

// The status subresource write (merge patch of `status`), a port so the state machine is tested alone.
class ProvReqStatusWriter {
 public:
  virtual ~ProvReqStatusWriter() = default;
  virtual Status updateProvisioningRequestStatus(const std::string& namespaceName, const std::string& name,
                                                 const std::string& statusJson) = 0;
};

class ProvisioningRequestController {
 public:
  using Logger = std::function<void(const std::string&)>;
  // namespace, name -> the PodTemplate, or nullptr.
  using TemplateLookup = std::function<const PodTemplateObject*(const std::string&, const std::string&)>;

  ProvisioningRequestController(Scaler& scaler, ProvReqStatusWriter& writer, const kube::Clock& clock,
                                Duration bookingTime, Logger log = {});

  // One pass over every request: conditions advanced and written when they changed, bookings handed to
  // the scaler (Scaler::setBookings). Call before Scaler::reconcile with the same snapshot.
  void reconcile(const std::vector<ProvisioningRequestObject>& requests, const TemplateLookup& templates,
                 const ClusterSnapshot& snapshot);

  // How long a check-capacity request waits between checks, and how long a request may wait for its
  // PodTemplates (Kueue creates them just before the request) before it fails.
  static constexpr Duration kCheckInterval = std::chrono::seconds(10);
  static constexpr Duration kTemplateGrace = std::chrono::seconds(30);
  static constexpr Duration kCheckCapacityExpiry = std::chrono::hours(24 * 7);

  size_t tracked() const { return states_.size(); }

 private:
  enum class Phase { Pending, Launching, Provisioned, Done };
  struct Slot {
    std::string node;
    placement::Resources requests;
    bool consumed = false;
  };
  struct State {
    Phase phase = Phase::Pending;
    std::string ns, name, className;
    int64_t generation = 0;
    std::map<std::string, ProvReqCondition> conditions;  // by type
    std::map<std::string, std::string> details;
    std::vector<Slot> slots;
    std::set<std::string> launched;   // nodes created for it
    std::set<std::string> consumers;  // uids of pods that took a slot
    TimePoint provisionedAt{}, nextTry{};
    int attempts = 0;
    std::string lastStatus;
  };

  void step(State& st, const ProvisioningRequestObject& req, const TemplateLookup& templates,
            const ClusterSnapshot& snapshot, TimePoint now);
  void restore(State& st, const ProvisioningRequestObject& req);
  void set(State& st, const std::string& type, bool status, const std::string& reason, const std::string& message,
           TimePoint now);
  void fail(State& st, const std::string& reason, const std::string& message, TimePoint now);
  void consume(State& st, const ClusterSnapshot& snapshot);
  void write(State& st);
  void log(const std::string& line) const;

  Scaler& scaler_;
  ProvReqStatusWriter& writer_;
  const kube::Clock& clock_;
  Duration bookingTime_;
  Logger log_;
  std::map<std::string, State> states_;  // by uid; only requests that exist now
};

}  // namespace spotfit::scaler
