// Golden corpus: each testdata/<case>.yaml holds an object (Pod or Job) and the world around it (config,
// VPAs, Jobs, spend); testdata/<case>.expected.json is the object the apiserver must end up with. The
// webhook answers an AdmissionReview; its patch is applied with the test's own RFC 6902 implementation and
// compared with the expected object. Then the patched object is reviewed again: it must get no patch.
// Regenerate expectations with SPOTFIT_UPDATE_GOLDEN=1 (and review the diff).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/base64.hpp"
#include "test_paths.hpp"
#include "webhook/admitter.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"
#include "webhook/yaml_json.hpp"

namespace spotfit::webhook {
namespace {

namespace fs = std::filesystem;
using testing::applyJsonPatch;
using testing::parseJson;
using testing::toJson;
using testing::toPrettyJson;

const fs::path kData = fs::path(spotfit::testpaths::sourceDir()) / "tests/webhook/testdata";

struct World {
  WebhookConfig config;
  VpaIndex vpas;
  JobIndex jobs;
  StaticSpend spend;
  RecordingPdbEnsurer pdbs;
  RecordingEvents events;
  std::string ns;
  json::Document object;
};

void load(const fs::path& file, World& w) {
  json::Document doc;
  Status s = yamlToJson(testing::readFile(file.string()), doc);
  ASSERT_TRUE(s) << s.error().message;
  YAML::Node raw = YAML::LoadFile(file.string());
  if (raw["config"]) {
    auto c = parseWebhookConfig(raw["config"]);
    ASSERT_TRUE(c) << c.error().message;
    w.config = *c;
  }
  w.ns = doc["namespace"].GetString();
  if (const json::Value* vpas = json::array(doc, "vpas")) {
    for (const auto& v : vpas->GetArray()) {
      auto vpa = decodeVpa(v);
      ASSERT_TRUE(vpa) << vpa.error().message;
      w.vpas.upsert(*vpa);
    }
  }
  if (const json::Value* jobs = json::array(doc, "jobs")) {
    for (const auto& j : jobs->GetArray()) {
      JobInfo info;
      info.uid = j["uid"].GetString();
      info.parallelism = j["parallelism"].GetInt64();
      if (auto cron = json::string(j, "cronJob")) info.cronJob = std::string(*cron);
      w.jobs.upsert(w.ns, j["name"].GetString(), info);
    }
  }
  if (const json::Value* spend = json::object(doc, "spend")) {
    for (auto it = spend->MemberBegin(); it != spend->MemberEnd(); ++it) {
      w.spend.set(w.ns, it->name.GetString(), it->value.GetDouble());
    }
  }
  w.object.CopyFrom(doc["object"], w.object.GetAllocator());
}

std::string reviewFor(const json::Value& object, const std::string& ns, std::string_view uid) {
  const bool job = json::string(object, "kind") == std::string_view("Job");
  std::string kind =
      job ? R"({"group":"batch","version":"v1","kind":"Job"})" : R"({"group":"","version":"v1","kind":"Pod"})";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":")" + std::string(uid) +
         R"(","kind":)" + kind + R"(,"operation":"CREATE","namespace":")" + ns + R"(","object":)" + toJson(object) +
         "}}";
}

// The patch of an AdmissionReview response ("[]" when none); checks the response's invariants.
std::string patchOf(const std::string& body, std::string_view uid) {
  auto resp = parseJson(body);
  EXPECT_STREQ(resp["apiVersion"].GetString(), "admission.k8s.io/v1");
  EXPECT_STREQ(resp["response"]["uid"].GetString(), std::string(uid).c_str());
  EXPECT_TRUE(resp["response"]["allowed"].GetBool());
  const bool hasPatch = resp["response"].HasMember("patch");
  EXPECT_EQ(hasPatch, resp["response"].HasMember("patchType"));
  if (!hasPatch) return "[]";
  EXPECT_STREQ(resp["response"]["patchType"].GetString(), "JSONPatch");
  auto decoded = base::base64Decode(resp["response"]["patch"].GetString());
  EXPECT_TRUE(decoded);
  return decoded.valueOr("[]");
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, PatchProducesTheExpectedObjectAndIsIdempotent) {
  World w;
  load(kData / (GetParam() + ".yaml"), w);
  if (HasFatalFailure()) return;
  AdmitterPorts ports;
  ports.vpas = &w.vpas;
  ports.jobs = &w.jobs;
  ports.spend = &w.spend;
  ports.pdbs = &w.pdbs;
  ports.events = &w.events;
  Admitter admitter(w.config, ports);

  Admission first = admitter.review(reviewFor(w.object, w.ns, "uid-1"));
  ASSERT_EQ(first.httpStatus, 200) << first.body;
  const std::string patch = patchOf(first.body, "uid-1");
  json::Document patched;
  patched.CopyFrom(w.object, patched.GetAllocator());
  ASSERT_EQ(applyJsonPatch(patched, patch), "") << patch;

  const fs::path expectedFile = kData / (GetParam() + ".expected.json");
  if (std::getenv("SPOTFIT_UPDATE_GOLDEN")) {
    std::ofstream(expectedFile) << toPrettyJson(patched) << "\n";
  }
  auto expected = parseJson(testing::readFile(expectedFile.string()));
  EXPECT_TRUE(patched == expected) << "patch: " << patch << "\n got:\n" << toPrettyJson(patched);

  // The apiserver re-invokes the webhook (reinvocationPolicy: IfNeeded) and a Job's pods arrive with the
  // mutated template: the second pass must change nothing.
  Admission second = admitter.review(reviewFor(patched, w.ns, "uid-2"));
  EXPECT_EQ(patchOf(second.body, "uid-2"), "[]") << "not idempotent";
  EXPECT_TRUE(second.changes.empty());
}

std::vector<std::string> cases() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kData)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Corpus, Golden, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(GoldenCorpus, CoversTheListedWorkloads) {
  EXPECT_GE(cases().size(), 10u);
}

}  // namespace
}  // namespace spotfit::webhook
