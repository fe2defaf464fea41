#pragma once
// Small RapidJSON helpers shared by the Kubernetes decoders and encoders. Every accessor checks the type
// it reads and turns a mismatch into an Error naming the JSON path, so untrusted documents never crash us.

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::kube::json {

// Fault injection for tests. While a FailAllocationsAfter(n) lives, the first n allocations of the JSON
// types below on this thread succeed and every later one fails as if the heap were exhausted. Off (the
// counter is negative) it costs one thread-local compare per allocation from the C heap; the pool
// allocator asks for 64 KiB chunks, so that is a few per document.
namespace testing {
inline thread_local int64_t allocationsLeft = -1;  // negative: no injection
inline thread_local int64_t allocationsRefused = 0;
class FailAllocationsAfter {
 public:
  explicit FailAllocationsAfter(int64_t n) : saved_(allocationsLeft), refusedBefore_(allocationsRefused) {
    allocationsLeft = n;
  }
  ~FailAllocationsAfter() { allocationsLeft = saved_; }
  FailAllocationsAfter(const FailAllocationsAfter&) = delete;
  FailAllocationsAfter& operator=(const FailAllocationsAfter&) = delete;
  // Allocations refused in this scope so far.
  int64_t refused() const { return allocationsRefused - refusedBefore_; }

 private:
  int64_t saved_;
  int64_t refusedBefore_;
};
}  // namespace testing
}  // namespace spotfit::kube::json

// In a namespace of its own: it is a template argument of Value, so argument-dependent lookup searches its
// namespace, and kube::json's helpers must not compete with the same-named ones of webhook::json.
namespace spotfit::kube::json_memory {

// RapidJSON's base allocator (the C heap, as rapidjson::CrtAllocator) except that running out of memory
// throws std::bad_alloc. RapidJSON 1.1 never checks what its allocators return: with CrtAllocator a failed
// malloc/realloc (a huge document, or the cgroup limit) is written through as NULL and the process dies
// of SIGSEGV. The exception unwinds to the handler's catch-all (500, or "admitted unchanged") instead.
class ThrowingAllocator {
 public:
  static const bool kNeedFree = true;
  void* Malloc(size_t size) {
    if (size == 0) return nullptr;
    return checked(refuse() ? nullptr : std::malloc(size));
  }
  void* Realloc(void* original, size_t /*originalSize*/, size_t newSize) {
    if (newSize == 0) {
      std::free(original);
      return nullptr;
    }
    return checked(refuse() ? nullptr : std::realloc(original, newSize));
  }
  static void Free(void* p) { std::free(p); }

 private:
  static bool refuse() {
    int64_t& left = json::testing::allocationsLeft;
    if (left < 0) return false;
    if (left == 0) {
      ++json::testing::allocationsRefused;
      return true;
    }
    --left;
    return false;
  }
  static void* checked(void* p) {
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
};

}  // namespace spotfit::kube::json_memory

namespace spotfit::kube::json {

// The JSON types of spotfit: RapidJSON's, with every allocation (values, the parser's and writers'
// stacks, string buffers) going through ThrowingAllocator. Spell these, never rapidjson::Value,
// rapidjson::Document, rapidjson::StringBuffer or rapidjson::Writer (scripts/json-aliases.py rewrites them).
using ThrowingAllocator = json_memory::ThrowingAllocator;
using BaseAllocator = ThrowingAllocator;
using Allocator = rapidjson::MemoryPoolAllocator<BaseAllocator>;
using Value = rapidjson::GenericValue<rapidjson::UTF8<>, Allocator>;
using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Allocator, BaseAllocator>;
using StringBuffer = rapidjson::GenericStringBuffer<rapidjson::UTF8<>, BaseAllocator>;
template <typename OutputStream = StringBuffer>
using Writer = rapidjson::Writer<OutputStream, rapidjson::UTF8<>, rapidjson::UTF8<>, BaseAllocator>;
template <typename OutputStream = StringBuffer>
using PrettyWriter = rapidjson::PrettyWriter<OutputStream, rapidjson::UTF8<>, rapidjson::UTF8<>, BaseAllocator>;
using Reader = rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, BaseAllocator>;
using Pointer = rapidjson::GenericPointer<Value, BaseAllocator>;

// Bounds every JSON decoder applies to untrusted text (webhook, extender, watch frames, API answers,
// state files, `spotfit mutate`). Kubernetes objects nest fewer than 30 levels; Kubernetes caps the
// labels and annotations of one object at 256 KiB in total.
struct ParseLimits {
  int maxDepth = 64;          // nested objects/arrays; deeper documents are refused
  size_t maxMembers = 10000;  // members of one object
};
inline constexpr ParseLimits kDefaultLimits{};
// Answers of the API server (objects, lists, watch frames): etcd bounds each object (1.5 MiB) and
// Kubernetes accepts more labels than kDefaultLimits allows members, so a member cap would let any pod
// creator wedge spotfit's informers. Depth, duplicate and UTF-8 checks stay.
inline constexpr ParseLimits kApiServerLimits{64, SIZE_MAX};

// The one JSON parser of spotfit. Parses iteratively (no recursion, so nesting cannot overflow the
// stack) and refuses, with code "invalid" and the byte offset: malformed JSON, documents nested deeper
// than limits.maxDepth, objects with more than limits.maxMembers members, duplicate object keys (Go
// keeps the last, RapidJSON look-ups the first: a patch computed from either would be wrong), invalid
// UTF-8 and unpaired UTF-16 surrogate escapes. On error `d` is null.
Status parseInto(Document& d, std::string_view text, const ParseLimits& limits = kDefaultLimits);
// The same in place (destructive on `buffer`, faster: strings point into it); the text ends at the first
// NUL. `buffer` must stay alive and unchanged while the document is used. kInsituPadding NUL bytes are
// appended first: RapidJSON's UTF-8 validation reads (and, in place, writes) a multi-byte sequence whole,
// up to 3 bytes past its lead byte, so text ending in a lead byte would be read past its end.
inline constexpr size_t kInsituPadding = 4;
Status parseInsituInto(Document& d, std::string& buffer, const ParseLimits& limits = kDefaultLimits);

// parseInto / parseInsituInto returning the document.
Result<Document> parse(std::string_view text, const ParseLimits& limits = kDefaultLimits);
Result<Document> parseInsitu(std::string& buffer, const ParseLimits& limits = kDefaultLimits);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool validUtf8(std::string_view s);

std::string_view view(const Value& v);  // the string value of v (v must be a string)

// Member lookups. `find` returns nullptr when absent or when `obj` is not an object. A JSON null counts
// as absent everywhere (Kubernetes emits null for omitted optional fields).
const Value* find(const Value& obj, std::string_view key);

// Typed optional getters: absent/null → nullopt; present with the wrong type → Error (code "invalid")
// whose message names `path` + "." + key.
Result<std::optional<std::string_view>> optString(const Value& obj, std::string_view key, std::string_view path);
Result<std::optional<int64_t>> optInt(const Value& obj, std::string_view key, std::string_view path);
Result<std::optional<bool>> optBool(const Value& obj, std::string_view key, std::string_view path);
Result<const Value*> optObject(const Value& obj, std::string_view key, std::string_view path);  // nullptr if absent
Result<const Value*> optArray(const Value& obj, std::string_view key, std::string_view path);   // nullptr if absent

// Required variants: absent → Error "missing field <path>.<key>".
Result<std::string_view> reqString(const Value& obj, std::string_view key, std::string_view path);
Result<const Value*> reqObject(const Value& obj, std::string_view key, std::string_view path);

// Accepts "N", "N%" strings and integers (intstr.IntOrString). Empty → error.
struct IntOrString {
  bool isPercent = false;
  bool isString = false;
  int64_t value = 0;  // the integer, or the percentage when isPercent
};
Result<IntOrString> intOrString(const Value& v, std::string_view path);

// Serialises a value compactly.
std::string toString(const Value& v);

// Appends a JSON string literal (with quotes and escaping) to out.
void appendQuoted(std::string& out, std::string_view s);
std::string quoted(std::string_view s);

// RFC 6901 escaping of one reference token: "~" → "~0", "/" → "~1".
std::string escapePointerToken(std::string_view token);

// Builders that keep string ownership explicit: copies `s` into the document's allocator.
inline Value str(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

Error invalid(std::string_view path, std::string_view what);

// JSON paths for error messages: joinPath("spec", "containers") == "spec.containers",
// indexPath("spec.containers", 2) == "spec.containers[2]".
std::string joinPath(std::string_view path, std::string_view key);
std::string indexPath(std::string_view path, size_t i);

}  // namespace spotfit::kube::json

// Propagates an Error from a Result-returning expression; binds the value otherwise.
#define KUBE_TRY(lhs, expr)                                                        \
  auto KUBE_CONCAT(_r_, __LINE__) = (expr);                                        \
  if (!KUBE_CONCAT(_r_, __LINE__).ok()) return KUBE_CONCAT(_r_, __LINE__).error(); \
  lhs = std::move(KUBE_CONCAT(_r_, __LINE__)).value()
#define KUBE_CONCAT_INNER(a, b) a##b
#define KUBE_CONCAT(a, b) KUBE_CONCAT_INNER(a, b)
