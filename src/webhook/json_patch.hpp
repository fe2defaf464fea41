#pragma once
// RFC 6902 JSON Patch computed by diffing two JSON documents (house rule 2: policies change a typed
// object; the shell derives the patch). Paths are RFC 6901 JSON Pointers with `~` escaped as `~0` and
// `/` as `~1`. A member missing from `from` is added whole (value included), so the patch never adds a
// child below a parent that does not exist.
//
// Arrays are compared index by index: shared indexes recurse, extra elements of `to` are appended with
// `add /path/<index>` in increasing order, surplus elements of `from` are removed from the end backwards.
// The result is correct for any pair of documents (not necessarily minimal for insertions in the middle,
// which the policies never make).

#include <cstdint>
#include <string>
#include <string_view>

#include "webhook/json.hpp"

namespace spotfit::webhook {

// Appends one RFC 6901 reference token, escaped, to `pointer` (with the leading '/').
void appendPointerToken(std::string& pointer, std::string_view token);

struct JsonPatch {
  std::string json;  // the patch document: a JSON array of operations ("[]" when there is none)
  size_t operations = 0;
  bool tooLarge = false;  // the patch would exceed maxBytes (or nest too deep): json is "[]", operations 0
  bool empty() const { return operations == 0; }
};

// The patch that turns `from` into `to`, in time linear in the size of both (objects with many members
// are indexed by key). Stops as soon as the patch exceeds `maxBytes`, or when the documents nest deeper
// than 100 levels (more than any decoder accepts), and then returns an empty patch with tooLarge set.
JsonPatch diff(const json::Value& from, const json::Value& to, size_t maxBytes = SIZE_MAX);

}  // namespace spotfit::webhook
