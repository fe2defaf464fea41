// The one test object compiled with the checkout's paths (tests/CMakeLists.txt, spotfit_testpaths).
#include "test_paths.hpp"

namespace spotfit::testpaths {

const std::string& sourceDir() {
  static const std::string dir = SPOTFIT_TEST_SOURCE_DIR;
  return dir;
}

const std::string& spotfitBinary() {
  static const std::string path = SPOTFIT_TEST_BINARY;
  return path;
}

}  // namespace spotfit::testpaths
