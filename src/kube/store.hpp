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
  static std::string_view nameOf(const T& obj) { return obj.meta.name; }
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
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static constexpr std::string_view kNamespaceIndex = "namespace";

  // Registers an index. Existing objects are indexed too.
  void addIndex(std::string name, IndexFunc f) {
    std::unique_lock lock(mu_);
    Index idx;
    idx.func = std::move(f);
    for (const auto& [k, obj] : objects_) {
      for (auto& v : idx.func(*obj)) idx.values[v].push_back(&obj);
    }
    indexes_.insert_or_assign(std::move(name), std::move(idx));
  }

  // By "namespace/name" (or "name" for cluster-scoped objects).
  Ptr get(std::string_view key) const {
    std::shared_lock lock(mu_);
    auto it = objects_.find(splitKey(key));
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
    auto it = indexes_.find(index);
    if (it == indexes_.end()) return {};
    auto v = it->second.values.find(std::string(value));
    if (v == it->second.values.end()) return {};
    std::vector<Ptr> out;
    out.reserve(v->second.size());
    for (const Ptr* p : v->second) out.push_back(*p);
    return out;
  }

  std::vector<std::string> indexValues(std::string_view index) const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    auto it = indexes_.find(index);
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
    const Key key = keyOf(*obj);
    std::unique_lock lock(mu_);
    Ptr old;
    auto it = objects_.find(key);
    if (it != objects_.end()) {
      old = it->second;
      unindex(it->second);
      // The key views point into the stored object: re-key the same node (its address, which the
      // indexes hold, does not change).
      auto node = objects_.extract(it);
      node.key() = key;
      node.mapped() = std::move(obj);
      auto ins = objects_.insert(std::move(node));
      index(ins.position->second);
    } else {
      auto ins = objects_.emplace(key, std::move(obj));
      index(ins.first->second);
    }
    return old;
  }

  Ptr erase(std::string_view key) {
    std::unique_lock lock(mu_);
    auto it = objects_.find(splitKey(key));
    if (it == objects_.end()) return nullptr;
    Ptr old = it->second;
    unindex(it->second);
    objects_.erase(it);
    return old;
  }

  std::vector<std::string> keys() const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    out.reserve(objects_.size());
    for (const auto& [k, obj] : objects_) out.push_back(ObjectTraits<T>::key(*obj));
    return out;
  }

 private:
  // "namespace/name" without owning strings: views into the stored object (cached objects are
  // immutable), which saves two string copies per cached pod.
  struct Key {
    std::string_view ns, name;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      std::hash<std::string_view> h;
      return h(k.ns) * 31 + h(k.name);
    }
  };
  static Key keyOf(const T& o) { return {ObjectTraits<T>::namespaceOf(o), ObjectTraits<T>::nameOf(o)}; }
  static Key splitKey(std::string_view key) {
    size_t slash = key.find('/');
    if (slash == std::string_view::npos) return {{}, key};
    return {key.substr(0, slash), key.substr(slash + 1)};
  }

  // Index entries point at the map's value slots (stable addresses in node-based maps): 8 bytes each.
  struct Index {
    IndexFunc func;
    std::unordered_map<std::string, std::vector<const Ptr*>> values;
  };

  void index(const Ptr& slot) {
    for (auto& [name, idx] : indexes_) {
      for (auto& v : idx.func(*slot)) idx.values[v].push_back(&slot);
    }
  }

  void unindex(const Ptr& slot) {
    for (auto& [name, idx] : indexes_) {
      for (auto& v : idx.func(*slot)) {
        auto it = idx.values.find(v);
        if (it == idx.values.end()) continue;
        auto& vec = it->second;
        auto pos = std::find(vec.begin(), vec.end(), &slot);
        if (pos != vec.end()) {
          *pos = vec.back();
          vec.pop_back();
        }
        if (vec.empty()) idx.values.erase(it);
      }
    }
  }

  mutable std::shared_mutex mu_;
  std::unordered_map<Key, Ptr, KeyHash> objects_;
  std::map<std::string, Index, std::less<>> indexes_;
};

}  // namespace spotfit::kube
