#include "scaler/provider.hpp"

namespace spotfit::scaler {

ProviderErrorKind providerErrorKind(const Error& e) {
  if (e.code == kErrInsufficientCapacity) return ProviderErrorKind::InsufficientCapacity;
  if (e.code == kErrQuota) return ProviderErrorKind::Quota;
  return ProviderErrorKind::Other;
}

const char* toString(ProviderErrorKind k) {
  switch (k) {
    case ProviderErrorKind::InsufficientCapacity:
      return kErrInsufficientCapacity;
    case ProviderErrorKind::Quota:
      return kErrQuota;
    case ProviderErrorKind::Other:
      break;
  }
  return kErrOther;
}

}  // namespace spotfit::scaler
