#include "kube/flat_map.hpp"

#include <algorithm>
#include <cstring>

#include "kube/intern.hpp"

namespace spotfit::kube {

FlatMap FlatMap::from(std::vector<std::pair<std::string_view, std::string_view>> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Keep the last of equal keys.
  std::vector<std::pair<std::string_view, std::string_view>> unique;
  unique.reserve(entries.size());
  for (const auto& e : entries) {
    if (!unique.empty() && unique.back().first == e.first) {
      unique.back() = e;
    } else {
      unique.push_back(e);
    }
  }
  size_t total = 0;
  for (const auto& [k, v] : unique) total += k.size() + v.size() + 2;
  FlatMap m;
  if (unique.empty()) return m;
  std::string buf;
  buf.reserve(total);
  for (const auto& [k, v] : unique) {
    buf.append(k);
    buf.push_back('\0');
    buf.append(v);
    buf.push_back('\0');
  }
  m.buf_ = Interner<std::string>::global().intern(std::move(buf));
  return m;
}

std::optional<std::string_view> FlatMap::get(std::string_view key) const {
  for (auto [k, v] : *this) {
    if (k == key) return v;
    if (k > key) break;
  }
  return std::nullopt;
}

size_t FlatMap::size() const {
  size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

FlatMap::Iterator::value_type FlatMap::Iterator::operator*() const {
  std::string_view k(p_);
  std::string_view v(p_ + k.size() + 1);
  return {k, v};
}

FlatMap::Iterator& FlatMap::Iterator::operator++() {
  size_t klen = std::strlen(p_);
  const char* v = p_ + klen + 1;
  p_ = v + std::strlen(v) + 1;
  if (p_ > end_) p_ = end_;
  return *this;
}

std::vector<std::pair<std::string, std::string>> FlatMap::toVector() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto [k, v] : *this) out.emplace_back(k, v);
  return out;
}

}  // namespace spotfit::kube
