#pragma once
// Hash-consing for immutable values shared by many cached objects: the pods of one Job or ReplicaSet
// carry identical labels and identical scheduling specs, so the informer cache keeps one copy of each
// and every pod points at it. Entries disappear from the table when their last user releases them.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace spotfit::kube {

template <typename T, typename Hash = std::hash<T>>
class Interner {
 public:
  // The process-wide instance for T. Never destroyed, so shared_ptrs released during static destruction
  // still find it.
  static Interner& global() {
    static auto* instance = new Interner();
    return *instance;
  }

  std::shared_ptr<const T> intern(T&& value) {
    const size_t h = Hash{}(value);
    std::lock_guard lock(mu_);
    auto [lo, hi] = table_.equal_range(h);
    for (auto it = lo; it != hi; ++it) {
      if (auto sp = it->second.weak.lock(); sp && *sp == value) return sp;
    }
    auto* raw = new T(std::move(value));
    std::shared_ptr<const T> sp(raw, [this, h](const T* p) { release(h, p); });
    table_.emplace(h, Entry{raw, sp});
    return sp;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return table_.size();
  }

 private:
  struct Entry {
    const T* raw;
    std::weak_ptr<const T> weak;
  };

  void release(size_t h, const T* p) {
    {
      std::lock_guard lock(mu_);
      auto [lo, hi] = table_.equal_range(h);
      for (auto it = lo; it != hi; ++it) {
        if (it->second.raw == p) {
          table_.erase(it);
          break;
        }
      }
    }
    delete p;
  }

  mutable std::mutex mu_;
  std::unordered_multimap<size_t, Entry> table_;
};

}  // namespace spotfit::kube
