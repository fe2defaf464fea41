#include "cli/build_info.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cli/args.hpp"
#include "kube/json.hpp"

namespace spotfit::cli {
namespace {

std::string compilerName() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

std::string platformName() {
  std::string os =
#if defined(__linux__)
      "linux";
#elif defined(__APPLE__)
      "darwin";
#else
      "unknown";
#endif
  std::string arch =
#if defined(__x86_64__)
      "amd64";
#elif defined(__aarch64__)
      "arm64";
#elif defined(__i386__)
      "386";
#elif defined(__arm__)
          "arm";
#else
          "unknown";
#endif
  return os + "/" + arch;
}

}  // namespace

BuildInfo buildInfo() {
  const BuildStamp& s = buildStamp();
  return BuildInfo{version(), s.gitCommit, s.gitTreeState, s.buildDate, compilerName(), platformName()};
}

std::string formatBuildInfo(const BuildInfo& info) {
  return "spotfit " + info.version + "\n" +                                                          //
         "  git commit:  " + info.gitCommit + "\n" +                                                 //
         "  git tree:    " + info.gitTreeState + "\n" + "  build date:  " + info.buildDate + "\n" +  //
         "  compiler:    " + info.compiler + "\n" +                                                  //
         "  platform:    " + info.platform + "\n";
}

std::string buildInfoJson(const BuildInfo& info) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  w.StartObject();
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"version", &info.version},
                                   {"gitCommit", &info.gitCommit},
                                   {"gitTreeState", &info.gitTreeState},
                                   {"buildDate", &info.buildDate},
                                   {"compiler", &info.compiler},
                                   {"platform", &info.platform}}) {
    w.Key(key);
    w.String(value->c_str(), static_cast<rapidjson::SizeType>(value->size()));
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace spotfit::cli
