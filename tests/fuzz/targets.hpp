#pragma once
// One entry point per decoder of untrusted input. The libFuzzer executables (tests/fuzz/fuzz_*.cpp,
// -DSPOTFIT_FUZZ=ON with clang) call them with generated inputs; the regular test suite replays the
// checked-in corpus (tests/fuzz/corpus/<target>/) through the same functions. Each returns normally for
// any input; a crash, sanitizer report, hang or an answer that is not valid JSON (abort) is a bug.

#include <string_view>

namespace spotfit::fuzz {

void admissionReview(std::string_view data);  // POST /mutate body: decode + admit + encode
void extenderArgs(std::string_view data);     // POST /extender/filter|prioritize body
void kubeObject(std::string_view data);       // a watch frame / API answer: {"type":..,"object":{..}} or an object
void configYaml(std::string_view data);       // serve --config file: server, webhook and scaler sections
void workloadYaml(std::string_view data);     // simulate -f workload
void mutateInput(std::string_view data);      // mutate -f: YAML/JSON documents, each admitted as a Pod or Job

// The targets by name ("admission", "extender", "kube", "config", "workload", "mutate"); nullptr if unknown.
using Target = void (*)(std::string_view);
Target targetNamed(std::string_view name);

}  // namespace spotfit::fuzz
