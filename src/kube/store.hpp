#pragma once
// The informer cache: a thread-safe map from "namespace/name" to an immutable compact object, plus
// secondary indexes (by namespace, pod by node name, pod by owner, VPA by targetRef, ...). Readers get
// shared_ptrs to immutable objects, so they never hold the lock while using them.

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace spotfit::kube {

// How the store keys an object. The default uses `meta` (an ObjectMeta); specialise for other types.
template <typename T>
struct ObjectTraits {
  static std::string key(const T& obj) { return obj.meta.key(); }
  static const std::string& resourceVersion(const T& obj) { return obj.meta.resourceVersion; }
  static std::string_view namespaceOf(const T& obj) { return obj.meta.namespace_; }
};

template <typename T>
class Store {
 public:
  using Ptr = std::shared_ptr<const T>;
  using IndexFunc = std::function<std::vector<std::string>(const T&)>;

  Store() {
    addIndex(std::string(kNamespaceIndex), [](const T& o) {
      std::string_view ns = ObjectTraits<T>::namespaceOf(o);
      return ns.empty() ? std::vector<std::string>{} : std::vector<std::string>{std::string(ns)};
    });
  }

  static constexpr std::string_view kNamespaceIndex = "namespace";

  // Registers an index. Call before the store is filled (existing objects are indexed too).
  void addIndex(std::string name, IndexFunc f) {
    std::unique_lock lock(mu_);
    Index idx;
    idx.func = std::move(f);
    for (const auto& [k, obj] : objects_) {
      for (auto& v : idx.func(*obj)) idx.values[v].push_back(obj);
    }
    indexes_.insert_or_assign(std::move(name), std::move(idx));
  }

  Ptr get(std::string_view key) const {
    std::shared_lock lock(mu_);
    auto it = objects_.find(std::string(key));
    return it == objects_.end() ? nullptr : it->second;
  }

  std::vector<Ptr> list() const {
    std::shared_lock lock(mu_);
    std::vector<Ptr> out;
    out.reserve(objects_.size());
    for (const auto& [k, obj] : objects_) out.push_back(obj);
    return out;
  }

  std::vector<Ptr> byIndex(std::string_view index, std::string_view value) const {
    std::shared_lock lock(mu_);
    auto it = indexes_.find(std::string(index));
    if (it == indexes_.end()) return {};
    auto v = it->second.values.find(std::string(value));
    if (v == it->second.values.end()) return {};
    return v->second;
  }

  std::vector<std::string> indexValues(std::string_view index) const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    auto it = indexes_.find(std::string(index));
    if (it == indexes_.end()) return out;
    for (const auto& [v, objs] : it->second.values) out.push_back(v);
    return out;
  }

  size_t size() const {
    std::shared_lock lock(mu_);
    return objects_.size();
  }

  // Visits every object under the shared lock (do not call back into the store's writers).
  void forEach(const std::function<void(const T&)>& f) const {
    std::shared_lock lock(mu_);
    for (const auto& [k, obj] : objects_) f(*obj);
  }

  // --- writers (the informer) ---
  // Inserts or replaces; returns the previous object (nullptr when new).
  Ptr upsert(Ptr obj) {
    std::string key = ObjectTraits<T>::key(*obj);
    std::unique_lock lock(mu_);
    Ptr old;
    auto it = objects_.find(key);
    if (it != objects_.end()) {
      old = it->second;
      unindex(old);
      it->second = obj;
    } else {
      objects_.emplace(std::move(key), obj);
    }
    index(obj);
    return old;
  }

  Ptr erase(std::string_view key) {
    std::unique_lock lock(mu_);
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return nullptr;
    Ptr old = it->second;
    unindex(old);
    objects_.erase(it);
    return old;
  }

  std::vector<std::string> keys() const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    out.reserve(objects_.size());
    for (const auto& [k, obj] : objects_) out.push_back(k);
    return out;
  }

 private:
  struct Index {
    IndexFunc func;
    std::unordered_map<std::string, std::vector<Ptr>> values;
  };

  void index(const Ptr& obj) {
    for (auto& [name, idx] : indexes_) {
      for (auto& v : idx.func(*obj)) idx.values[v].push_back(obj);
    }
  }

  void unindex(const Ptr& obj) {
    for (auto& [name, idx] : indexes_) {
      for (auto& v : idx.func(*obj)) {
        auto it = idx.values.find(v);
        if (it == idx.values.end()) continue;
        auto& vec = it->second;
        auto pos = std::find(vec.begin(), vec.end(), obj);
        if (pos != vec.end()) {
          *pos = std::move(vec.back());
          vec.pop_back();
        }
        if (vec.empty()) idx.values.erase(it);
      }
    }
  }

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Ptr> objects_;
  std::map<std::string, Index, std::less<>> indexes_;
};

}  // namespace spotfit::kube
