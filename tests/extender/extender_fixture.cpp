#include "extender_fixture.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "extender/informer_adapter.hpp"
#include "kube/json.hpp"
#include "test_paths.hpp"

namespace spotfit::extender::testing {

std::string readTestdata(const std::string& relative) {
  const std::string path = spotfit::testpaths::sourceDir() + "/tests/extender/testdata/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void loadGoldenCluster(ClusterCache& cache) {
  Status st = loadList(cache, readTestdata("cluster.json"));
  ASSERT_TRUE(st.ok()) << st.error().message;
  cache.synced();
}

spotfit::kube::json::Document parseJson(const std::string& text) {
  spotfit::kube::json::Document d;
  d.Parse(text.c_str(), text.size());
  EXPECT_FALSE(d.HasParseError()) << text.substr(0, 300);
  return d;
}

}  // namespace spotfit::extender::testing
