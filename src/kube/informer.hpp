#pragma once
// List-then-watch informers (client-go's reflector + indexer, trimmed to what spotfit needs):
//   - paginated LIST, then WATCH from the list's resourceVersion with bookmarks;
//   - a watch that ends is resumed from the last seen resourceVersion; a 410 Gone (or an ERROR event
//     with code 410) triggers a fresh LIST whose differences reach the handlers as add/update/delete;
//   - connection errors, 429/5xx and malformed frames back off exponentially (with jitter) and resume;
//   - an optional periodic resync replays every cached object to onUpdate;
//   - a resource the server does not serve (404 on LIST: a CRD such as the VPA is not installed) puts
//     the informer in state NotInstalled; it re-checks slowly instead of crash-looping.
// The cache holds compact decoded structs (kube/objects.hpp), never JSON.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.hpp"
#include "kube/clock.hpp"
#include "kube/objects.hpp"
#include "kube/store.hpp"

namespace spotfit::kube {

struct InformerOptions {
  std::string namespace_;  // "" = all namespaces
  std::string labelSelector;
  std::string fieldSelector;
  int64_t pageSize = 500;
  Timeout listTimeout{std::chrono::seconds(60)};
  int64_t watchTimeoutSeconds = 300;  // server-side end of each watch (then resumed)
  // A watch that sends nothing (not even a bookmark) for this long is considered dead and resumed.
  std::chrono::nanoseconds watchIdleTimeout{std::chrono::seconds(330)};
  std::chrono::nanoseconds resyncPeriod{0};  // 0 = no periodic resync
  std::chrono::nanoseconds backoffInitial{std::chrono::milliseconds(800)};
  std::chrono::nanoseconds backoffMax{std::chrono::seconds(30)};
  std::chrono::nanoseconds notInstalledRecheck{std::chrono::seconds(60)};
  uint64_t seed = 0;  // jitter; 0 = random
};

enum class InformerState { Starting, Synced, NotInstalled, Failing, Stopped };
std::string_view toString(InformerState s);

// Non-template view for health checks (/readyz) and logs.
class InformerBase {
 public:
  virtual ~InformerBase() = default;
  virtual const std::string& name() const = 0;
  virtual bool hasSynced() const = 0;
  virtual InformerState state() const = 0;
  virtual std::string lastError() const = 0;
};

template <typename T>
struct InformerHandlers {
  std::function<void(const T&)> onAdd;
  std::function<void(const T& oldObj, const T& newObj)> onUpdate;
  std::function<void(const T&)> onDelete;
};

template <typename T>
class Informer final : public InformerBase {
 public:
  using Ptr = typename Store<T>::Ptr;

  Informer(KubeClient& client, ResourceType resource, Decoder<T> decode, Clock& clock = SystemClock::instance(),
           InformerOptions options = {})
      : client_(client),
        resource_(std::move(resource)),
        decode_(decode),
        clock_(clock),
        options_(std::move(options)),
        name_(resource_.plural),
        rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}
  ~Informer() override { stop(); }
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  Store<T>& store() { return store_; }
  const Store<T>& store() const { return store_; }

  // Handlers run on the informer's thread, outside the store lock, in event order. Add before start().
  void addHandler(InformerHandlers<T> h) { handlers_.push_back(std::move(h)); }

  void start() {
    if (thread_.joinable()) return;
    setState(InformerState::Starting, {});
    thread_ = std::jthread([this](std::stop_token st) { run(st); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    {
      std::lock_guard lock(streamMu_);
      if (stream_) stream_->cancel();
    }
    thread_.join();
    setState(InformerState::Stopped, {});
  }

  const std::string& name() const override { return name_; }
  bool hasSynced() const override { return synced_.load(); }
  InformerState state() const override {
    std::lock_guard lock(stateMu_);
    return state_;
  }
  std::string lastError() const override {
    std::lock_guard lock(stateMu_);
    return lastError_;
  }
  bool notInstalled() const { return state() == InformerState::NotInstalled; }

  // Blocks (real time) until synced, not installed, or the timeout. For startup and tests.
  bool waitForSync(std::chrono::nanoseconds timeout) const {
    std::unique_lock lock(stateMu_);
    return stateCv_.wait_for(lock, timeout, [&] { return synced_.load() || state_ == InformerState::NotInstalled; }) &&
           synced_.load();
  }
  // Blocks (real time) until pred() holds after some event was applied, or the timeout.
  // pred() runs without the informer's locks held, so it may call back into the informer.
  bool waitUntil(const std::function<bool()>& pred, std::chrono::nanoseconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      uint64_t seen;
      {
        std::lock_guard lock(progressMu_);
        seen = progress_;
      }
      if (pred()) return true;
      std::unique_lock lock(progressMu_);
      if (!progressCv_.wait_until(lock, end, [&] { return progress_ != seen; })) return pred();
    }
  }

  // The resourceVersion the next watch resumes from.
  std::string lastResourceVersion() const {
    std::lock_guard lock(stateMu_);
    return rv_;
  }
  uint64_t lists() const { return lists_.load(); }
  uint64_t watches() const { return watches_.load(); }
  uint64_t decodeErrors() const { return decodeErrors_.load(); }
  uint64_t eventsApplied() const { return events_.load(); }

 private:
  void setState(InformerState s, std::string err) {
    {
      std::lock_guard lock(stateMu_);
      state_ = s;
      if (!err.empty() || s == InformerState::Synced) lastError_ = std::move(err);
    }
    stateCv_.notify_all();
    notifyProgress();
  }
  void setRv(std::string rv) {
    std::lock_guard lock(stateMu_);
    rv_ = std::move(rv);
  }
  void notifyProgress() {
    {
      std::lock_guard lock(progressMu_);
      ++progress_;
    }
    progressCv_.notify_all();
  }

  std::chrono::nanoseconds nextBackoff(std::chrono::nanoseconds& current) {
    auto base = current;
    current = std::min(options_.backoffMax, current * 2);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);  // keep at least half: no hot loop
    return std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(base.count()) * jitter(rng_)));
  }

  void emitAdd(const T& o) {
    for (auto& h : handlers_)
      if (h.onAdd) h.onAdd(o);
  }
  void emitUpdate(const T& a, const T& b) {
    for (auto& h : handlers_)
      if (h.onUpdate) h.onUpdate(a, b);
  }
  void emitDelete(const T& o) {
    for (auto& h : handlers_)
      if (h.onDelete) h.onDelete(o);
  }

  void apply(Ptr obj) {
    Ptr old = store_.upsert(obj);
    if (!old) {
      emitAdd(*obj);
    } else if (ObjectTraits<T>::resourceVersion(*old) != ObjectTraits<T>::resourceVersion(*obj)) {
      emitUpdate(*old, *obj);
    }
    ++events_;
  }

  // "namespace/name" straight from an object's metadata (for objects the decoder rejected).
  static std::string rawKey(const json::Value& obj) {
    const json::Value* md = json::find(obj, "metadata");
    if (md == nullptr) return {};
    const json::Value* name = json::find(*md, "name");
    const json::Value* ns = json::find(*md, "namespace");
    if (name == nullptr || !name->IsString()) return {};
    std::string key;
    if (ns != nullptr && ns->IsString() && ns->GetStringLength() > 0) {
      key = std::string(json::view(*ns)) + "/";
    }
    key += json::view(*name);
    return key;
  }

  // LIST every page and replace the cache. Returns an Error on failure.
  Status relist() {
    ListOptions lo;
    lo.timeout = options_.listTimeout;
    lo.labelSelector = options_.labelSelector;
    lo.fieldSelector = options_.fieldSelector;
    lo.limit = options_.pageSize;
    std::vector<Ptr> fresh;
    std::vector<std::string> undecodable;
    auto rv = client_.listAll(resource_, options_.namespace_, lo, [&](const json::Value& item) -> Status {
      auto obj = decode_(item);
      if (!obj.ok()) {
        // Keep whatever version of it we had: dropping it would look like a deletion to the handlers.
        ++decodeErrors_;
        if (auto k = rawKey(item); !k.empty()) undecodable.push_back(std::move(k));
        return {};
      }
      fresh.push_back(std::make_shared<const T>(std::move(obj).value()));
      return {};
    });
    if (!rv.ok()) return rv.error();
    ++lists_;
    std::unordered_map<std::string, bool> seen;
    seen.reserve(fresh.size() + undecodable.size());
    for (auto& k : undecodable) seen.emplace(std::move(k), true);
    for (auto& obj : fresh) {
      seen.emplace(ObjectTraits<T>::key(*obj), true);
      apply(std::move(obj));
    }
    for (const auto& k : store_.keys()) {
      if (seen.count(k) == 0) {
        if (Ptr old = store_.erase(k)) emitDelete(*old);
      }
    }
    setRv(*rv);
    notifyProgress();
    return {};
  }

  enum class WatchEnd { Resume, Relist, Backoff, Stopped };

  WatchEnd watchOnce(std::stop_token st, Clock::TimePoint& nextResync) {
    WatchOptions wo;
    wo.labelSelector = options_.labelSelector;
    wo.fieldSelector = options_.fieldSelector;
    wo.resourceVersion = lastResourceVersion();
    wo.allowBookmarks = true;
    wo.timeoutSeconds = options_.watchTimeoutSeconds;
    auto opened = client_.watch(resource_, options_.namespace_, wo);
    if (!opened.ok()) {
      if (isGone(opened.error())) return WatchEnd::Relist;
      setState(state(), opened.error().message);
      return WatchEnd::Backoff;
    }
    ++watches_;
    watchEvents_ = 0;
    {
      std::lock_guard lock(streamMu_);
      stream_ = std::move(opened).value();
      if (st.stop_requested()) stream_->cancel();
    }
    WatchEnd end = WatchEnd::Resume;
    for (;;) {
      if (st.stop_requested()) {
        end = WatchEnd::Stopped;
        break;
      }
      auto idle = options_.watchIdleTimeout;
      if (options_.resyncPeriod.count() > 0) {
        auto now = clock_.now();
        if (now >= nextResync) {
          resync();
          nextResync = now + options_.resyncPeriod;
        }
      }
      auto ev = stream_->next(idle);
      if (!ev.ok()) {
        end = st.stop_requested() ? WatchEnd::Stopped : WatchEnd::Backoff;
        if (end == WatchEnd::Backoff) setState(state(), "watch: " + ev.error().message);
        break;
      }
      if (!ev->has_value()) break;  // server ended the watch: resume from rv
      WatchEvent& e = **ev;
      if (e.type == WatchEvent::Type::Error) {
        const json::Value* code = json::find(e.object(), "code");
        if (code != nullptr && code->IsInt() && code->GetInt() == 410) {
          end = WatchEnd::Relist;
        } else {
          setState(state(), "watch error event: " + json::toString(e.object()).substr(0, 200));
          end = WatchEnd::Backoff;
        }
        break;
      }
      const json::Value* md = json::find(e.object(), "metadata");
      std::string rv;
      if (md != nullptr) {
        if (const json::Value* r = json::find(*md, "resourceVersion"); r != nullptr && r->IsString())
          rv = json::view(*r);
      }
      if (e.type == WatchEvent::Type::Bookmark) {
        if (!rv.empty()) setRv(rv);
        notifyProgress();
        continue;
      }
      auto obj = decode_(e.object());
      if (!obj.ok()) {
        ++decodeErrors_;
        // A deletion needs only the key: do not keep a deleted object because its last state was odd.
        if (e.type == WatchEvent::Type::Deleted) {
          if (Ptr old = store_.erase(rawKey(e.object()))) emitDelete(*old);
        }
      } else if (e.type == WatchEvent::Type::Deleted) {
        if (Ptr old = store_.erase(ObjectTraits<T>::key(*obj))) emitDelete(*old);
        ++events_;
      } else {
        apply(std::make_shared<const T>(std::move(obj).value()));
      }
      if (!rv.empty()) setRv(rv);
      ++watchEvents_;
      notifyProgress();
    }
    {
      std::lock_guard lock(streamMu_);
      stream_.reset();
    }
    return end;
  }

  void resync() {
    for (const auto& obj : store_.list()) emitUpdate(*obj, *obj);
  }

  void run(std::stop_token st) {
    auto backoff = options_.backoffInitial;
    bool needList = true;
    Clock::TimePoint nextResync = clock_.now() + options_.resyncPeriod;
    while (!st.stop_requested()) {
      if (needList) {
        auto listed = relist();
        if (!listed.ok()) {
          if (isNotFound(listed.error())) {
            // The API server does not serve this resource (CRD not installed). Check again later.
            setState(InformerState::NotInstalled,
                     resource_.plural + "." + resource_.group + " is not installed: " + listed.error().message);
            if (!clock_.sleepFor(options_.notInstalledRecheck, st)) break;
            continue;
          }
          setState(synced_.load() ? InformerState::Synced : InformerState::Failing, "list: " + listed.error().message);
          if (!clock_.sleepFor(nextBackoff(backoff), st)) break;
          continue;
        }
        needList = false;
        backoff = options_.backoffInitial;
        synced_.store(true);
        setState(InformerState::Synced, {});
      }
      switch (watchOnce(st, nextResync)) {
        case WatchEnd::Stopped:
          return;
        case WatchEnd::Resume:
          backoff = options_.backoffInitial;
          break;
        case WatchEnd::Relist:
          needList = true;
          // A server that answers 410 to a watch from a fresh list's resourceVersion must not spin us.
          if (watchEvents_ == 0 && !clock_.sleepFor(nextBackoff(backoff), st)) return;
          break;
        case WatchEnd::Backoff:
          if (!clock_.sleepFor(nextBackoff(backoff), st)) return;
          break;
      }
    }
  }

  KubeClient& client_;
  ResourceType resource_;
  Decoder<T> decode_;
  Clock& clock_;
  InformerOptions options_;
  std::string name_;
  Store<T> store_;
  std::vector<InformerHandlers<T>> handlers_;
  std::mt19937_64 rng_;

  mutable std::mutex stateMu_;
  mutable std::condition_variable stateCv_;
  mutable std::mutex progressMu_;
  mutable std::condition_variable progressCv_;
  uint64_t progress_ = 0;
  InformerState state_ = InformerState::Stopped;
  std::string lastError_;
  std::string rv_;
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> lists_{0}, watches_{0}, decodeErrors_{0}, events_{0};
  uint64_t watchEvents_ = 0;  // events seen on the current watch (informer thread only)

  std::mutex streamMu_;
  std::unique_ptr<WatchStream> stream_;
  std::jthread thread_;
};

// ---------------------------------------------------------------------------------------------------
// Standard indexes and ready-made informers for the resources spotfit watches.
inline constexpr std::string_view kIndexNamespace = "namespace";
inline constexpr std::string_view kIndexNodeName = "node";        // pods by spec.nodeName ("" = unbound)
inline constexpr std::string_view kIndexOwner = "owner";          // pods/jobs by controller: ownerKey(ns, kind, name)
inline constexpr std::string_view kIndexTargetRef = "targetRef";  // VPAs by ownerKey(ns, targetRef.kind, name)

// "namespace/Kind/name": the key of the owner and targetRef indexes.
std::string ownerKey(std::string_view ns, std::string_view kind, std::string_view name);

std::unique_ptr<Informer<Pod>> makePodInformer(KubeClient& client, Clock& clock = SystemClock::instance(),
                                               InformerOptions options = {});
std::unique_ptr<Informer<Node>> makeNodeInformer(KubeClient& client, Clock& clock = SystemClock::instance(),
                                                 InformerOptions options = {});
std::unique_ptr<Informer<Job>> makeJobInformer(KubeClient& client, Clock& clock = SystemClock::instance(),
                                               InformerOptions options = {});
std::unique_ptr<Informer<Namespace>> makeNamespaceInformer(KubeClient& client, Clock& clock = SystemClock::instance(),
                                                           InformerOptions options = {});
std::unique_ptr<Informer<PodDisruptionBudget>> makePdbInformer(KubeClient& client,
                                                               Clock& clock = SystemClock::instance(),
                                                               InformerOptions options = {});
std::unique_ptr<Informer<VerticalPodAutoscaler>> makeVpaInformer(KubeClient& client,
                                                                 Clock& clock = SystemClock::instance(),
                                                                 InformerOptions options = {});
std::unique_ptr<Informer<Lease>> makeLeaseInformer(KubeClient& client, Clock& clock = SystemClock::instance(),
                                                   InformerOptions options = {});

// The VPA whose targetRef names this workload (e.g. kind "Job"), or nullptr.
std::shared_ptr<const VerticalPodAutoscaler> vpaForTarget(const Store<VerticalPodAutoscaler>& store,
                                                          std::string_view ns, std::string_view kind,
                                                          std::string_view name);
// Pods whose controller is the given owner.
std::vector<std::shared_ptr<const Pod>> podsOwnedBy(const Store<Pod>& store, std::string_view ns, std::string_view kind,
                                                    std::string_view name);
std::vector<std::shared_ptr<const Pod>> podsOnNode(const Store<Pod>& store, std::string_view nodeName);

}  // namespace spotfit::kube
