// libFuzzer entry point for the "kube" decoder (see targets.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spotfit::fuzz::targetNamed("kube")(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
