#include "cli/args.hpp"

#include <charconv>
#include <iostream>
#include <sstream>

namespace spotfit::cli {

namespace {
std::map<std::string, CommandInfo>& registry() {
  static std::map<std::string, CommandInfo> r;
  return r;
}
}  // namespace

Command::Command(std::string name, std::string summary, Run run) {
  registry()[std::move(name)] = CommandInfo{std::move(summary), std::move(run)};
}

const std::map<std::string, CommandInfo>& commands() {
  return registry();
}

std::string version() {
#ifdef SPOTFIT_VERSION
  return SPOTFIT_VERSION;
#else
  return "dev";
#endif
}

Flags::Flags(std::string command, std::string usage, std::string description)
    : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {}

void Flags::string(const std::string& name, const std::string& valueName, const std::string& help,
                   std::optional<std::string> def) {
  order_.push_back(name);
  specs_[name] = Spec{Kind::String, valueName, help, std::move(def)};
}

void Flags::strings(const std::string& name, const std::string& valueName, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{Kind::Strings, valueName, help, std::nullopt};
}

void Flags::integer(const std::string& name, const std::string& valueName, const std::string& help,
                    std::optional<int64_t> def, int64_t min, int64_t max) {
  order_.push_back(name);
  specs_[name] =
      Spec{Kind::Int, valueName, help, def ? std::optional<std::string>(std::to_string(*def)) : std::nullopt, min, max};
}

void Flags::boolean(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{Kind::Bool, "", help, std::nullopt};
}

void Flags::allowPositional(const std::string& valueName, const std::string& help) {
  positionalSpec_ = std::make_pair(valueName, help);
}

bool Flags::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << help();
      return false;
    }
    if (a == "--") {
      for (size_t j = i + 1; j < args.size(); ++j) {
        if (!positionalSpec_) throw UsageError{"unexpected argument '" + args[j] + "'"};
        positional_.push_back(args[j]);
      }
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (!positionalSpec_) throw UsageError{"unexpected argument '" + a + "' (see --help)"};
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> inlineValue;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    // Short aliases used by the documented commands.
    if (a[1] != '-' && name == "f") name = "file";
    if (a[1] != '-' && name == "o") name = "output";
    auto it = specs_.find(name);
    if (it == specs_.end()) throw UsageError{"unknown flag '" + a + "' (see --help)"};
    Spec& s = it->second;
    if (s.kind == Kind::Bool) {
      std::string v = inlineValue.value_or("true");
      if (v != "true" && v != "false") throw UsageError{"flag --" + name + " takes true or false, got '" + v + "'"};
      values_[name] = {v};
      continue;
    }
    std::string v;
    if (inlineValue) {
      v = *inlineValue;
    } else {
      if (i + 1 >= args.size()) throw UsageError{"flag --" + name + " needs a value " + s.valueName};
      v = args[++i];
    }
    if (s.kind == Kind::Int) {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size())
        throw UsageError{"flag --" + name + " takes a whole number, got '" + v + "'"};
      if (n < s.min || n > s.max)
        throw UsageError{"flag --" + name + " must be between " + std::to_string(s.min) + " and " +
                         std::to_string(s.max) + ", got " + v};
    }
    if (s.kind == Kind::Strings) {
      values_[name].push_back(v);
    } else {
      values_[name] = {v};
    }
  }
  return true;
}

bool Flags::given(const std::string& name) const {
  return values_.count(name) > 0;
}

bool Flags::has(const std::string& name) const {
  if (given(name)) return true;
  auto it = specs_.find(name);
  return it != specs_.end() && it->second.def.has_value();
}

std::string Flags::get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end() && !it->second.empty()) return it->second.back();
  if (auto it = specs_.find(name); it != specs_.end() && it->second.def) return *it->second.def;
  return {};
}

std::vector<std::string> Flags::getAll(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  return {};
}

int64_t Flags::getInt(const std::string& name) const {
  std::string v = get(name);
  int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

bool Flags::getBool(const std::string& name) const {
  return get(name) == "true";
}

void Flags::require(const std::string& name) const {
  if (!has(name)) throw UsageError{"missing required flag --" + name + " (see --help)"};
}

std::string Flags::help() const {
  std::ostringstream o;
  o << "Usage: spotfit " << command_ << (usage_.empty() ? "" : " " + usage_) << "\n\n" << description_ << "\n";
  if (positionalSpec_) o << "\nArguments:\n  " << positionalSpec_->first << "  " << positionalSpec_->second << "\n";
  o << "\nFlags:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --" + name + (s.valueName.empty() ? "" : " " + s.valueName);
    if (name == "file") left = "  -f, --file " + s.valueName;
    if (name == "output") left = "  -o, --output " + s.valueName;
    o << left;
    if (left.size() < 30)
      o << std::string(30 - left.size(), ' ');
    else
      o << "\n" << std::string(30, ' ');
    o << s.help;
    if (s.kind == Kind::Strings) o << " (repeatable)";
    if (s.def) o << " (default " << *s.def << ")";
    o << "\n";
  }
  o << "  -h, --help                  show this help\n";
  return o.str();
}

}  // namespace spotfit::cli
