#pragma once
// Indexed Jobs as gangs (docs/annotations.md, "Gangs"): the scaler does not watch Jobs, so at Job admission
// the webhook marks the pod template of an Indexed Job that runs all its indexes at once (parallelism ==
// completions) with spotfit.io/gang: "true" and spotfit.io/gang-size: <parallelism>. A template (or Job,
// after inheritance) that already says spotfit.io/gang is left as the user wrote it.

#include "webhook/json.hpp"
#include "webhook/pod_template.hpp"

namespace spotfit::webhook {

// True when it set the annotations.
bool stampIndexedJobGang(const json::Value& jobSpec, ObjectMeta& tmplMeta);

}  // namespace spotfit::webhook
