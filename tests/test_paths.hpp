#pragma once
// Where the tests find their fixtures (the checkout's examples/, manifests/, docs/, testdata) and the
// built `spotfit` binary. Only tests/test_paths.cpp knows the two paths, so no other test object depends
// on the checkout it was built in (ccache shares them across checkouts; tests/check_test_objects.py).

#include <string>

namespace spotfit::testpaths {

// The source checkout the build was configured from (PROJECT_SOURCE_DIR), without a trailing '/'.
const std::string& sourceDir();
// The `spotfit` executable of this build.
const std::string& spotfitBinary();

}  // namespace spotfit::testpaths
