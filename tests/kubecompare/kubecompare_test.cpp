// spotfit's arithmetic compared case by case with the real Kubernetes and VPA Go code: main.go prints
// what component-helpers PodRequests and the VPA admission controller compute for cases.json (run by the
// ctest fixture kubecompare_go through scripts/kubecompare.sh), and this test computes the same with
// spotfit's code (kube::decodePod → requests(), webhook::applyVpa) and compares.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "kube/json.hpp"
#include "kube/objects.hpp"
#include "placement/quantity.hpp"
#include "webhook/pod_template.hpp"
#include "webhook/vpa.hpp"

namespace spotfit {
namespace {

using spotfit::kube::json::Value;

spotfit::kube::json::Document load(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto d = kube::json::parse(ss.str());
  EXPECT_TRUE(d.ok()) << path << ": " << (d.ok() ? "" : d.error().message);
  return d.ok() ? std::move(d).value() : spotfit::kube::json::Document();
}

const Value* byName(const Value& list, const std::string& name) {
  for (const auto& v : list.GetArray()) {
    if (v["name"].GetString() == name) return &v;
  }
  return nullptr;
}

// The two files come from ctest's ENVIRONMENT (tests/kubecompare/CMakeLists.txt), not from compile
// definitions, so this object does not depend on the checkout (tests/check_test_objects.py).
const char* fromEnv(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "(unset: run kubecompare through ctest)";
}

class KubeCompare : public ::testing::Test {
 protected:
  spotfit::kube::json::Document cases_ = load(fromEnv("KUBECOMPARE_CASES"));
  spotfit::kube::json::Document answers_ = load(fromEnv("KUBECOMPARE_ANSWERS"));
};

TEST_F(KubeCompare, PodRequestsMatchComponentHelpers) {
  ASSERT_TRUE(cases_.IsObject() && answers_.IsObject());
  ASSERT_EQ(cases_["pods"].Size(), answers_["pods"].Size());
  for (const auto& c : cases_["pods"].GetArray()) {
    const std::string name = c["name"].GetString();
    SCOPED_TRACE("pod case " + name);
    const Value* want = byName(answers_["pods"], name);
    ASSERT_NE(want, nullptr);
    auto pod = kube::decodePod(c["pod"]);
    ASSERT_TRUE(pod.ok()) << pod.error().message;
    placement::Resources got = pod->requests();
    got.pods = 0;  // the slot spotfit counts; PodRequests does not list it
    placement::Resources expected;
    for (const auto& m : (*want)["requests"].GetObject()) expected.set(m.name.GetString(), m.value.GetInt64());
    EXPECT_EQ(placement::toString(got), placement::toString(expected));
  }
}

std::map<std::string, std::string> quantities(const Value& resources, const char* key) {
  std::map<std::string, std::string> out;
  if (!resources.IsObject() || !resources.HasMember(key)) return out;
  for (const auto& m : resources[key].GetObject()) {
    auto q = placement::canonicalize(m.value.GetString());
    out[m.name.GetString()] = q ? *q : std::string("unparsable ") + m.value.GetString();
  }
  return out;
}

std::string show(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + v + " ";
  return s;
}

TEST_F(KubeCompare, VpaAdmissionMatchesTheVpaAdmissionController) {
  ASSERT_TRUE(cases_.IsObject() && answers_.IsObject());
  ASSERT_EQ(cases_["vpas"].Size(), answers_["vpas"].Size());
  for (auto& c : cases_["vpas"].GetArray()) {
    const std::string name = c["name"].GetString();
    SCOPED_TRACE("vpa case " + name);
    const Value* want = byName(answers_["vpas"], name);
    ASSERT_NE(want, nullptr);
    auto vpa = webhook::decodeVpa(c["vpa"]);
    ASSERT_TRUE(vpa.ok()) << vpa.error().message;
    Value& spec = c["pod"]["spec"];
    webhook::PodSpec podSpec(spec, cases_.GetAllocator());
    ASSERT_TRUE(webhook::applyVpa(*vpa, podSpec).ok());
    const Value& containers = spec["containers"];
    ASSERT_EQ(containers.Size(), (*want)["containers"].Size());
    for (rapidjson::SizeType i = 0; i < containers.Size(); ++i) {
      const Value& got = containers[i];
      const Value& expected = (*want)["containers"][i];
      SCOPED_TRACE(std::string("container ") + got["name"].GetString());
      const Value& resources = got["resources"];
      EXPECT_EQ(show(quantities(resources, "requests")), show(quantities(expected, "requests")));
      EXPECT_EQ(show(quantities(resources, "limits")), show(quantities(expected, "limits")));
    }
  }
}

}  // namespace
}  // namespace spotfit
