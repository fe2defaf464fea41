#pragma once
// RFC 4648 base64 (standard alphabet, padded): AdmissionResponse.patch is a base64 JSON array.

#include <optional>
#include <string>
#include <string_view>

namespace spotfit::webhook {

std::string base64Encode(std::string_view in);
// nullopt when `in` is not valid padded base64.
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace spotfit::webhook
