#pragma once
// Readiness checks and feature notes behind /readyz.
//
// A check is a function the shell calls on every /readyz request; all must pass for 200. Features are
// facts about what this process runs with, reported in the body but never failing readiness, e.g.
// "kubernetes: off (no kubeconfig, not in a pod)". Thread-safe; checks may be added at any time.

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace spotfit::server {

struct CheckResult {
  bool ok = true;
  std::string detail;  // shown after the check's name
  static CheckResult pass(std::string detail = {}) { return {true, std::move(detail)}; }
  static CheckResult fail(std::string detail) { return {false, std::move(detail)}; }
};

class Readiness {
 public:
  using Check = std::function<CheckResult()>;

  void addCheck(std::string name, Check check);
  // Adds or replaces the note for `name`: "<name>: on|off (<detail>)".
  void setFeature(std::string name, bool on, std::string detail = {});
  // Once set, readiness fails with "shutdown: draining" (set on SIGTERM).
  void setDraining();
  bool draining() const;

  struct Report {
    bool ready = true;
    std::string body;  // "[+] tls: ok (...)\n[-] informers: not synced\n...\nkubernetes: off (...)\nready\n"
  };
  Report evaluate() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Check>> checks_;
  struct Feature {
    std::string name;
    bool on;
    std::string detail;
  };
  std::vector<Feature> features_;
  bool draining_ = false;
};

}  // namespace spotfit::server
