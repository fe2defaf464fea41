#include "server/readiness.hpp"

#include <exception>

namespace spotfit::server {

void Readiness::addCheck(std::string name, Check check) {
  std::lock_guard lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

void Readiness::setFeature(std::string name, bool on, std::string detail) {
  std::lock_guard lock(mu_);
  for (auto& f : features_) {
    if (f.name == name) {
      f.on = on;
      f.detail = std::move(detail);
      return;
    }
  }
  features_.push_back(Feature{std::move(name), on, std::move(detail)});
}

void Readiness::setDraining() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

bool Readiness::draining() const {
  std::lock_guard lock(mu_);
  return draining_;
}

Readiness::Report Readiness::evaluate() const {
  std::vector<std::pair<std::string, Check>> checks;
  std::vector<Feature> features;
  bool draining = false;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
    features = features_;
    draining = draining_;
  }
  Report r;
  if (draining) {
    r.ready = false;
    r.body += "[-] shutdown: draining\n";
  }
  for (const auto& [name, check] : checks) {
    CheckResult c;
    try {
      c = check();
    } catch (const std::exception& e) {
      c = CheckResult::fail(std::string("check threw: ") + e.what());
    }
    r.ready = r.ready && c.ok;
    r.body += (c.ok ? "[+] " : "[-] ") + name + ": " + (c.ok ? "ok" : "failed");
    if (!c.detail.empty()) r.body += " (" + c.detail + ")";
    r.body += "\n";
  }
  for (const auto& f : features) {
    r.body += f.name + ": " + (f.on ? "on" : "off");
    if (!f.detail.empty()) r.body += " (" + f.detail + ")";
    r.body += "\n";
  }
  r.body += r.ready ? "ready\n" : "not ready\n";
  return r;
}

}  // namespace spotfit::server
