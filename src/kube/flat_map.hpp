#pragma once
// A compact, immutable string→string map for labels and annotations held in informer caches.
//
// All entries live in one immutable buffer ("key\0value\0..." sorted by key) that is interned: the pods
// of one Job share a single copy of their identical labels. Lookups are linear: objects carry a handful
// of entries.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spotfit::kube {

class FlatMap {
 public:
  FlatMap() = default;
  // Builds from pairs; later duplicates of a key replace earlier ones.
  static FlatMap from(std::vector<std::pair<std::string_view, std::string_view>> entries);

  std::optional<std::string_view> get(std::string_view key) const;
  bool contains(std::string_view key) const { return get(key).has_value(); }
  std::string_view getOr(std::string_view key, std::string_view fallback) const {
    auto v = get(key);
    return v ? *v : fallback;
  }
  bool empty() const { return !buf_ || buf_->empty(); }
  size_t size() const;

  // Iteration in key order.
  class Iterator {
   public:
    using value_type = std::pair<std::string_view, std::string_view>;
    Iterator(const char* p, const char* end) : p_(p), end_(end) {}
    value_type operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return p_ == o.p_; }
    bool operator!=(const Iterator& o) const { return p_ != o.p_; }

   private:
    const char* p_;
    const char* end_;
  };
  Iterator begin() const { return {data(), data() + bytes()}; }
  Iterator end() const { return {data() + bytes(), data() + bytes()}; }

  std::vector<std::pair<std::string, std::string>> toVector() const;
  bool operator==(const FlatMap& o) const { return buf_ == o.buf_ || view() == o.view(); }

 private:
  const char* data() const { return buf_ ? buf_->data() : ""; }
  size_t bytes() const { return buf_ ? buf_->size() : 0; }
  std::string_view view() const { return {data(), bytes()}; }
  std::shared_ptr<const std::string> buf_;
};

}  // namespace spotfit::kube
