#include "base/vocabulary.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "test_paths.hpp"

namespace spotfit::vocab {
namespace {

namespace fs = std::filesystem;

std::string readText(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

const std::regex kName(R"(spotfit\.io/[A-Za-z0-9._-]*[A-Za-z0-9])");

// docs/annotations.md documents exactly the vocabulary: a name added to one but not the other fails.
TEST(Vocabulary, EveryNameIsDocumentedAndEveryDocumentedNameIsInTheVocabulary) {
  const std::string doc = readText(fs::path(testpaths::sourceDir()) / "docs/annotations.md");
  ASSERT_FALSE(doc.empty()) << "docs/annotations.md";
  std::set<std::string> documented;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), kName); it != std::sregex_iterator(); ++it) {
    documented.insert(it->str());
  }
  std::set<std::string> names;
  for (std::string_view n : kAllNames) {
    EXPECT_TRUE(n.starts_with(kPrefix)) << n;
    names.emplace(n);
    EXPECT_NE(doc.find("`" + std::string(n)), std::string::npos) << n << " is not documented in docs/annotations.md";
  }
  for (const auto& n : documented) {
    EXPECT_TRUE(names.count(n)) << n << " is documented in docs/annotations.md but not in src/base/vocabulary.hpp";
  }
  EXPECT_GE(names.size(), 25u);  // distinct names (capacity-type is an annotation, a label and a taint)
}

// The vocabulary is the only place in src/ that spells a spotfit.io/ name in code (comments may name them).
TEST(Vocabulary, NoOtherSourceFileSpellsASpotfitName) {
  const fs::path src = fs::path(testpaths::sourceDir()) / "src";
  const fs::path home = src / "base/vocabulary.hpp";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp") || entry.path() == home) continue;
    ++files;
    std::istringstream text(readText(entry.path()));
    std::string line;
    for (int number = 1; std::getline(text, line); ++number) {
      const auto code = line.substr(0, line.find("//"));
      EXPECT_EQ(code.find("\"spotfit.io/"), std::string::npos)
          << fs::relative(entry.path(), src).string() << ":" << number << ": use src/base/vocabulary.hpp: " << line;
    }
  }
  EXPECT_GT(files, 100);
}

}  // namespace
}  // namespace spotfit::vocab
