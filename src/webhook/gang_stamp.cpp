#include "webhook/gang_stamp.hpp"

#include <string>

#include "placement/gang_detect.hpp"

namespace spotfit::webhook {

bool stampIndexedJobGang(const json::Value& jobSpec, ObjectMeta& tmplMeta) {
  if (!jobSpec.IsObject() || json::string(jobSpec, "completionMode") != std::string_view("Indexed")) return false;
  const json::Value* parallelism = json::member(jobSpec, "parallelism");
  const json::Value* completions = json::member(jobSpec, "completions");
  if (!parallelism || !completions || !parallelism->IsInt64() || !completions->IsInt64()) return false;
  const int64_t n = parallelism->GetInt64();
  // One member is no gang; a size beyond the bound is left to the user's own annotation.
  if (n != completions->GetInt64() || n < 2 || n > placement::kMaxGangSize) return false;
  if (tmplMeta.annotation(placement::kAnnotationGang)) return false;
  tmplMeta.setAnnotation(placement::kAnnotationGang, "true");
  if (!tmplMeta.annotation(placement::kAnnotationGangSize)) {
    tmplMeta.setAnnotation(placement::kAnnotationGangSize, std::to_string(n));
  }
  return true;
}

}  // namespace spotfit::webhook
