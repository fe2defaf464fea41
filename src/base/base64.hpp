#pragma once
// RFC 4648 base64, standard alphabet. AdmissionResponse.patch and a webhook's caBundle are written padded;
// kubeconfig and Secret data are read strictly by default, or leniently (whitespace, URL-safe alphabet,
// missing padding) where people paste them by hand.

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::base {

std::string base64Encode(std::string_view in);

enum class Base64 { kStrict, kLenient };
// kStrict: exactly padded standard base64. kLenient: also skips ASCII whitespace, accepts '-' and '_' and
// missing padding. An "invalid" error otherwise.
Result<std::string> base64Decode(std::string_view in, Base64 mode = Base64::kStrict);

}  // namespace spotfit::base
