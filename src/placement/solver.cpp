#include "placement/solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include "placement/fit.hpp"
#include "placement/pool_limits.hpp"

namespace spotfit::placement {

double ScaleUpPlan::newNodesHourlyCost() const {
  double sum = 0;
  for (const auto& n : newNodes) sum += n.hourlyPrice;
  return sum;
}

NodeInfo nodeFromOffering(const NodePool& pool, const InstanceType& type, const Offering& offering, std::string name) {
  NodeInfo n;
  n.name = std::move(name);
  n.labels = pool.labels;
  for (const auto& [k, v] : type.labels) n.labels[k] = v;
  n.labels[std::string(kLabelInstanceType)] = type.name;
  n.labels[std::string(kLabelNodePool)] = pool.name;
  n.labels[std::string(kLabelCapacityType)] = std::string(toString(offering.capacityType));
  n.labels[std::string(kLabelKarpenterCapacityType)] = std::string(toString(offering.capacityType));
  if (!type.gpuProduct.empty()) n.labels[std::string(kLabelGpuProduct)] = type.gpuProduct;
  n.taints = pool.taints;
  n.allocatable = type.allocatable;
  if (n.allocatable.pods == 0) n.allocatable.pods = 110;
  n.capacityType = offering.capacityType;
  n.hourlyPrice = offering.hourlyPrice;
  n.gpuProduct = type.gpuProduct;
  n.pool = pool.name;
  n.instanceType = type.name;
  return n;
}

namespace {

using Vec = std::vector<int64_t>;

// Resource dimensions of one solve: cpu, memory, ephemeral-storage, pods, then every extended resource
// some pending pod requests.
struct Dims {
  std::vector<std::string> extended;
  size_t size() const { return 4 + extended.size(); }
  Vec of(const Resources& r) const {
    Vec v;
    v.reserve(size());
    v.push_back(r.cpuMilli);
    v.push_back(r.memory);
    v.push_back(r.ephemeralStorage);
    v.push_back(r.pods);
    for (const auto& name : extended) v.push_back(r.get(name));
    return v;
  }
};

// How many copies of req fit into free (req has pods = 1, so this is finite).
int64_t fitCount(const int64_t* free, const int64_t* req, size_t d) {
  int64_t k = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < d; ++i) {
    if (req[i] <= 0) continue;
    if (free[i] < req[i]) return 0;
    k = std::min(k, free[i] / req[i]);
  }
  return k;
}

struct Option {
  size_t pool = 0;
  size_t type = 0;
  CapacityType capacityType = CapacityType::OnDemand;
  double price = 0;
  Vec alloc;
  NodeInfo templ;
};

struct Group {
  size_t rep = 0;               // a pod of the group (all share its constraints)
  bool isolated = false;        // anti-affinity / topology spread: one pod per new node, no existing nodes
  bool affinity = false;        // required pod affinity: not planned
  bool gpu = false;             // some class requests GPUs
  std::vector<size_t> options;  // compatible options
  std::vector<size_t> nodes;    // compatible existing nodes
};

struct PodClass {
  size_t group = 0;
  Vec req;
  Resources reqRes;
  std::vector<size_t> pods;  // unplaced pods are pods[0, remaining)
  size_t remaining = 0;
  double size = 0;   // normalized, for decreasing orders
  double ratio = 0;  // memory per cpu, for partitioning
};

struct NewNode {
  size_t option = 0;
  Vec used;
  std::vector<size_t> pods;
  std::vector<size_t> groups;  // sorted
  bool closed = false;         // isolated pod: nothing else joins
};

struct PoolState {
  int64_t nodes = 0;
  Resources capacity;
};

class Solver {
 public:
  Solver(const ScaleUpInput& in, const SolverOptions& opt) : in_(in), opt_(opt) {}

  ScaleUpPlan run() {
    buildDims();
    buildOptions();
    buildPoolState();
    buildClasses();
    placeOnExisting();
    planNewNodes();
    if (opt_.rightSize) rightSize();
    return output();
  }

 private:
  const ScaleUpInput& in_;
  const SolverOptions& opt_;
  Dims dims_;
  std::vector<Resources> requests_;
  std::vector<Option> options_;
  std::vector<PoolState> pools_;
  std::unordered_map<std::string, size_t> poolIndex_;
  std::vector<Group> groups_;
  std::vector<std::vector<char>> compat_;  // [group][option]
  std::vector<PodClass> classes_;
  std::vector<Vec> nodeFree_;
  std::vector<NewNode> newNodes_;
  std::vector<PodAssignment> onExisting_;
  std::map<size_t, std::string> unplaced_;
  Vec norm_;

  size_t d() const { return dims_.size(); }

  void buildDims() {
    requests_.reserve(in_.pods.size());
    std::vector<std::string> ext;
    for (const PodInfo& p : in_.pods) {
      requests_.push_back(podRequests(p));
      for (const auto& [name, v] : requests_.back().extended) {
        if (v > 0) ext.push_back(name);
      }
    }
    std::sort(ext.begin(), ext.end());
    ext.erase(std::unique(ext.begin(), ext.end()), ext.end());
    dims_.extended = std::move(ext);
  }

  void buildOptions() {
    for (size_t pi = 0; pi < in_.pools.size(); ++pi) {
      const NodePool& pool = in_.pools[pi];
      for (size_t ti = 0; ti < pool.instanceTypes.size(); ++ti) {
        const InstanceType& type = pool.instanceTypes[ti];
        for (const Offering& off : type.offerings) {
          if (!off.available) continue;
          if (off.capacityType == CapacityType::Spot ? !pool.allowSpot : !pool.allowOnDemand) continue;
          Option o;
          o.pool = pi;
          o.type = ti;
          o.capacityType = off.capacityType;
          o.price = std::max(off.hourlyPrice, 0.0);
          o.templ = nodeFromOffering(pool, type, off, pool.name + "-template");
          o.alloc = dims_.of(o.templ.allocatable);
          options_.push_back(std::move(o));
        }
      }
    }
    norm_.assign(d(), 1);
    for (const Option& o : options_) {
      for (size_t i = 0; i < d(); ++i) norm_[i] = std::max(norm_[i], o.alloc[i]);
    }
  }

  void buildPoolState() {
    pools_.resize(in_.pools.size());
    for (size_t i = 0; i < in_.pools.size(); ++i) poolIndex_[in_.pools[i].name] = i;
    for (const NodeInfo& n : in_.nodes) {
      auto it = poolIndex_.find(n.pool);
      if (it == poolIndex_.end()) continue;
      pools_[it->second].nodes += 1;
      pools_[it->second].capacity += n.allocatable;
    }
    nodeFree_.reserve(in_.nodes.size());
    for (const NodeInfo& n : in_.nodes) {
      Vec f = dims_.of(n.allocatable);
      Vec u = dims_.of(n.requested);
      for (size_t i = 0; i < f.size(); ++i) f[i] -= u[i];
      nodeFree_.push_back(std::move(f));
    }
  }

  static void appendSignature(std::string& s, const PodInfo& p) {
    for (const auto& [k, v] : p.nodeSelector) s += k + "=" + v + ";";
    s += "|";
    for (const auto& term : p.requiredNodeAffinity) {
      for (const auto* list : {&term.matchExpressions, &term.matchFields}) {
        for (const auto& r : *list) {
          s += r.key + std::string(toString(r.op));
          for (const auto& v : r.values) s += "," + v;
          s += ";";
        }
        s += "/";
      }
      s += "||";
    }
    s += "|";
    for (const auto& t : p.tolerations) {
      s += t.key + (t.op == TolerationOperator::Exists ? "?" : "=") + t.value + ":" +
           (t.effect ? std::string(toString(*t.effect)) : std::string("*")) + ";";
    }
    s += "|" + p.gpuProduct + "|" + std::string(toString(p.capacityPolicy));
    s += p.hasPodAffinity ? "|A" : "|-";
    s += (p.hasPodAntiAffinity || p.hasTopologySpread) ? "I" : "-";
  }

  void buildClasses() {
    std::unordered_map<std::string, size_t> groupBySig;
    std::unordered_map<std::string, size_t> classByKey;
    std::string sig;
    for (size_t i = 0; i < in_.pods.size(); ++i) {
      const PodInfo& p = in_.pods[i];
      sig.clear();
      appendSignature(sig, p);
      auto [git, gnew] = groupBySig.try_emplace(sig, groups_.size());
      if (gnew) {
        Group g;
        g.rep = i;
        g.affinity = p.hasPodAffinity;
        g.isolated = !g.affinity && (p.hasPodAntiAffinity || p.hasTopologySpread);
        groups_.push_back(std::move(g));
      }
      size_t gi = git->second;
      Vec req = dims_.of(requests_[i]);
      if (requests_[i].gpus() > 0) groups_[gi].gpu = true;
      // Isolated pods each get a class of their own: they never share a node.
      std::string key = std::to_string(gi);
      key += ':';
      if (groups_[gi].isolated) {
        key += '#';
        key += std::to_string(i);
      }
      for (int64_t v : req) {
        key += std::to_string(v);
        key += ',';
      }
      auto [cit, cnew] = classByKey.try_emplace(key, classes_.size());
      if (cnew) {
        PodClass c;
        c.group = gi;
        c.req = req;
        c.reqRes = requests_[i];
        double sz = 0;
        for (size_t k = 0; k < req.size(); ++k) sz += static_cast<double>(req[k]) / static_cast<double>(norm_[k]);
        c.size = sz;
        c.ratio = static_cast<double>(req[1]) / static_cast<double>(std::max<int64_t>(req[0], 1));
        classes_.push_back(std::move(c));
      }
      classes_[cit->second].pods.push_back(i);
    }
    for (auto& c : classes_) {
      // Place the lowest pod indices first: pods[0, remaining) are unplaced, taken from the back.
      std::reverse(c.pods.begin(), c.pods.end());
      c.remaining = c.pods.size();
    }
    compat_.assign(groups_.size(), std::vector<char>(options_.size(), 0));
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      Group& g = groups_[gi];
      const PodInfo& rep = in_.pods[g.rep];
      for (size_t oi = 0; oi < options_.size(); ++oi) {
        if (staticallyCompatible(rep, options_[oi].templ)) {
          compat_[gi][oi] = 1;
          g.options.push_back(oi);
        }
      }
      if (g.isolated || g.affinity) continue;
      for (size_t ni = 0; ni < in_.nodes.size(); ++ni) {
        if (staticallyCompatible(rep, in_.nodes[ni])) g.nodes.push_back(ni);
      }
      // Ready nodes before in-flight ones, then by name: deterministic.
      std::stable_sort(g.nodes.begin(), g.nodes.end(), [&](size_t a, size_t b) {
        const NodeInfo& x = in_.nodes[a];
        const NodeInfo& y = in_.nodes[b];
        if (x.inFlight != y.inFlight) return !x.inFlight;
        return x.name < y.name;
      });
    }
  }

  std::vector<size_t> classOrder() const {
    std::vector<size_t> order(classes_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const PodClass& x = classes_[a];
      const PodClass& y = classes_[b];
      if (x.size != y.size) return x.size > y.size;
      return x.pods.back() < y.pods.back();
    });
    return order;
  }

  void placeOnExisting() {
    for (size_t ci : classOrder()) {
      PodClass& c = classes_[ci];
      const Group& g = groups_[c.group];
      if (g.affinity || g.isolated) continue;
      for (size_t ni : g.nodes) {
        if (c.remaining == 0) break;
        int64_t k = fitCount(nodeFree_[ni].data(), c.req.data(), d());
        if (k <= 0) continue;
        int64_t take = std::min<int64_t>(k, static_cast<int64_t>(c.remaining));
        for (int64_t t = 0; t < take; ++t) {
          onExisting_.push_back(PodAssignment{c.pods[--c.remaining], in_.nodes[ni].name});
          for (size_t i = 0; i < d(); ++i) nodeFree_[ni][i] -= c.req[i];
        }
      }
    }
  }

  // ---- new nodes ----

  bool canOpen(size_t oi) const {
    const Option& o = options_[oi];
    const NodePool& pool = in_.pools[o.pool];
    const PoolState& st = pools_[o.pool];
    if (pool.maxNodes >= 0 && st.nodes + 1 > pool.maxNodes) return false;
    return withinLimits(st.capacity + o.templ.allocatable, pool.limits);
  }

  std::string headroomReason(size_t oi) const {
    const Option& o = options_[oi];
    const NodePool& pool = in_.pools[o.pool];
    const PoolState& st = pools_[o.pool];
    if (pool.maxNodes >= 0 && st.nodes + 1 > pool.maxNodes) {
      return "node pool " + pool.name + " is at its maximum of " + std::to_string(pool.maxNodes) + " nodes";
    }
    return "node pool " + pool.name + " would exceed its " +
           std::string(exceededLimit(st.capacity + o.templ.allocatable, pool.limits).value_or("")) + " limit";
  }

  size_t openNode(size_t oi, size_t group) {
    const Option& o = options_[oi];
    pools_[o.pool].nodes += 1;
    pools_[o.pool].capacity += o.templ.allocatable;
    NewNode n;
    n.option = oi;
    n.used.assign(d(), 0);
    n.groups.push_back(group);
    newNodes_.push_back(std::move(n));
    return newNodes_.size() - 1;
  }

  // Places up to `max` pods of class c on new node ni; returns how many.
  int64_t placeOnNew(size_t ni, PodClass& c, int64_t max) {
    NewNode& n = newNodes_[ni];
    const Vec& alloc = options_[n.option].alloc;
    int64_t fitting = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < d() && fitting > 0; ++i) {
      if (c.req[i] <= 0) continue;
      int64_t free = alloc[i] - n.used[i];
      fitting = free < c.req[i] ? 0 : std::min(fitting, free / c.req[i]);
    }
    int64_t take = std::min(max, fitting);
    for (int64_t t = 0; t < take; ++t) n.pods.push_back(c.pods[--c.remaining]);
    for (size_t i = 0; i < d(); ++i) n.used[i] += take * c.req[i];
    if (take > 0) {
      auto it = std::lower_bound(n.groups.begin(), n.groups.end(), c.group);
      if (it == n.groups.end() || *it != c.group) n.groups.insert(it, c.group);
    }
    return take;
  }

  struct Choice {
    size_t option = std::numeric_limits<size_t>::max();
    double cost = std::numeric_limits<double>::infinity();
  };

  // Cheapest way to cover a demand (whose largest pod is maxReq) with whole nodes of one offering plus
  // one tail node of whichever offering is cheapest for the remainder. Ranked by fractional cost first;
  // the exact whole-node cost is computed for the best few.
  Choice bestOption(const std::vector<double>& demand, const Vec& maxReq, const std::vector<size_t>& usable) const {
    constexpr size_t kExact = 8;
    std::vector<std::pair<double, size_t>> ranked;  // (fractional node count, option)
    std::vector<size_t> feasible;
    for (size_t oi : usable) {
      const Option& o = options_[oi];
      bool ok = true;
      double nodes = 0;
      for (size_t i = 0; i < d(); ++i) {
        if (maxReq[i] > o.alloc[i]) {
          ok = false;
          break;
        }
        if (demand[i] > 0) nodes = std::max(nodes, demand[i] / static_cast<double>(o.alloc[i]));
      }
      if (!ok) continue;
      feasible.push_back(oi);
      ranked.emplace_back(nodes, oi);
    }
    auto fractionalLess = [&](const std::pair<double, size_t>& a, const std::pair<double, size_t>& b) {
      double ca = a.first * options_[a.second].price;
      double cb = b.first * options_[b.second].price;
      if (ca != cb) return ca < cb;
      return better(a.second, b.second);
    };
    size_t k = std::min(kExact, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end(), fractionalLess);
    Choice best;
    std::vector<double> rem(d());
    for (size_t r = 0; r < k; ++r) {
      auto [nodes, oi] = ranked[r];
      const Option& o = options_[oi];
      double full = std::floor(nodes + 1e-9);
      bool any = false;
      for (size_t i = 0; i < d(); ++i) {
        rem[i] = std::max(0.0, demand[i] - full * static_cast<double>(o.alloc[i]));
        any = any || rem[i] > 1e-9;
      }
      double cost = o.price * full;
      if (any) {
        double tail = std::numeric_limits<double>::infinity();
        for (size_t qi : feasible) {
          const Option& q = options_[qi];
          double need = 0;
          for (size_t i = 0; i < d(); ++i) {
            if (rem[i] > 1e-9) need = std::max(need, rem[i] / static_cast<double>(q.alloc[i]));
          }
          tail = std::min(tail, q.price * std::ceil(need - 1e-9));
        }
        cost += tail;
      }
      bool none = best.option == std::numeric_limits<size_t>::max();
      if (none || cost < best.cost - 1e-12 || (cost <= best.cost + 1e-12 && better(oi, best.option))) {
        best = Choice{oi, cost};
      }
    }
    return best;
  }

  // Tie-break between equally priced offerings: spot first, then cheaper per node, then input order.
  bool better(size_t a, size_t b) const {
    const Option& x = options_[a];
    const Option& y = options_[b];
    if (x.capacityType != y.capacityType) return x.capacityType == CapacityType::Spot;
    if (x.price != y.price) return x.price < y.price;
    return a < b;
  }

  struct Part {
    std::vector<size_t> classes;
    size_t option = 0;
  };

  void demandOf(const std::vector<size_t>& cls, std::vector<double>& demand, Vec& maxReq) const {
    demand.assign(d(), 0);
    maxReq.assign(d(), 0);
    for (size_t ci : cls) {
      const PodClass& c = classes_[ci];
      for (size_t i = 0; i < d(); ++i) {
        demand[i] += static_cast<double>(c.req[i]) * static_cast<double>(c.remaining);
        maxReq[i] = std::max(maxReq[i], c.req[i]);
      }
    }
  }

  // Splits the classes where two offerings are cheaper than one, recursively.
  void partition(std::vector<size_t> cls, const std::vector<size_t>& usable, int depth, std::vector<Part>& out) {
    std::vector<double> demand;
    Vec maxReq;
    demandOf(cls, demand, maxReq);
    Choice single = bestOption(demand, maxReq, usable);
    double bestCost = single.cost;
    std::vector<size_t> bestLeft;
    std::vector<size_t> bestRight;
    if (depth > 0 && cls.size() >= 2) {
      for (int ordering = 0; ordering < 2; ++ordering) {
        std::vector<size_t> sorted = cls;
        std::sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
          double ka = ordering == 0 ? classes_[a].ratio : classes_[a].size;
          double kb = ordering == 0 ? classes_[b].ratio : classes_[b].size;
          if (ka != kb) return ka < kb;
          return a < b;
        });
        // Prefix and suffix demand / max.
        size_t n = sorted.size();
        std::vector<std::vector<double>> preD(n + 1, std::vector<double>(d(), 0));
        std::vector<Vec> preM(n + 1, Vec(d(), 0));
        std::vector<std::vector<double>> sufD(n + 1, std::vector<double>(d(), 0));
        std::vector<Vec> sufM(n + 1, Vec(d(), 0));
        std::vector<double> count(n + 1, 0);
        for (size_t j = 0; j < n; ++j) {
          const PodClass& c = classes_[sorted[j]];
          count[j + 1] = count[j] + static_cast<double>(c.remaining);
          for (size_t i = 0; i < d(); ++i) {
            preD[j + 1][i] = preD[j][i] + static_cast<double>(c.req[i]) * static_cast<double>(c.remaining);
            preM[j + 1][i] = std::max(preM[j][i], c.req[i]);
          }
        }
        for (size_t j = n; j-- > 0;) {
          const PodClass& c = classes_[sorted[j]];
          for (size_t i = 0; i < d(); ++i) {
            sufD[j][i] = sufD[j + 1][i] + static_cast<double>(c.req[i]) * static_cast<double>(c.remaining);
            sufM[j][i] = std::max(sufM[j + 1][i], c.req[i]);
          }
        }
        constexpr int kSplits = 16;
        size_t last = 0;
        for (int q = 1; q < kSplits; ++q) {
          double target = count[n] * q / kSplits;
          size_t j = static_cast<size_t>(std::lower_bound(count.begin(), count.end(), target) - count.begin());
          j = std::clamp<size_t>(j, 1, n - 1);
          if (j == last) continue;
          last = j;
          Choice l = bestOption(preD[j], preM[j], usable);
          if (l.cost >= bestCost) continue;
          Choice r = bestOption(sufD[j], sufM[j], usable);
          if (l.cost + r.cost < bestCost * (1 - 1e-9)) {
            bestCost = l.cost + r.cost;
            bestLeft.assign(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(j));
            bestRight.assign(sorted.begin() + static_cast<std::ptrdiff_t>(j), sorted.end());
          }
        }
      }
    }
    if (!bestLeft.empty()) {
      partition(std::move(bestLeft), usable, depth - 1, out);
      partition(std::move(bestRight), usable, depth - 1, out);
      return;
    }
    if (single.option == std::numeric_limits<size_t>::max()) {
      // No single offering holds every pod of this part: split by size so big pods get big nodes.
      if (cls.size() >= 2) {
        std::sort(cls.begin(), cls.end(), [&](size_t a, size_t b) {
          if (classes_[a].size != classes_[b].size) return classes_[a].size < classes_[b].size;
          return a < b;
        });
        size_t half = cls.size() / 2;
        partition(std::vector<size_t>(cls.begin(), cls.begin() + static_cast<std::ptrdiff_t>(half)), usable, 0, out);
        partition(std::vector<size_t>(cls.begin() + static_cast<std::ptrdiff_t>(half), cls.end()), usable, 0, out);
      }
      return;  // a single class nothing holds stays unplaced; the caller explains why
    }
    out.push_back(Part{std::move(cls), single.option});
  }

  // First-fit decreasing of the part onto nodes of its offering.
  // `earlier`: nodes opened for earlier parts of the same group that may still have room; they are
  // already paid for, so the part's pods try them before opening nodes of their own.
  void packPart(const Part& part, size_t group, std::vector<size_t>& earlier) {
    const Option& o = options_[part.option];
    std::vector<size_t> order = part.classes;
    auto share = [&](const PodClass& c) {
      double s = 0;
      for (size_t i = 0; i < d(); ++i) {
        if (o.alloc[i] > 0) s = std::max(s, static_cast<double>(c.req[i]) / static_cast<double>(o.alloc[i]));
      }
      return s;
    };
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      double sa = share(classes_[a]);
      double sb = share(classes_[b]);
      if (sa != sb) return sa > sb;
      return a < b;
    });
    // Minimum request per dimension: an open node that cannot hold it can take nothing more.
    Vec minReq(d(), std::numeric_limits<int64_t>::max());
    for (size_t ci : order) {
      for (size_t i = 0; i < d(); ++i) minReq[i] = std::min(minReq[i], classes_[ci].req[i]);
    }
    auto exhausted = [&](size_t ni) {
      const NewNode& n = newNodes_[ni];
      const Vec& alloc = options_[n.option].alloc;
      for (size_t i = 0; i < d(); ++i) {
        if (minReq[i] > 0 && alloc[i] - n.used[i] < minReq[i]) return true;
      }
      return false;
    };
    std::vector<size_t> before = earlier;
    std::erase_if(before, exhausted);
    std::vector<size_t> open;    // nodes of this part that may still take a pod, in opening order
    std::vector<size_t> opened;  // every node this part opened (later parts may have smaller pods)
    for (size_t ci : order) {
      PodClass& c = classes_[ci];
      bool touchedBefore = false;
      for (size_t k = 0; k < before.size() && c.remaining > 0; ++k) {
        touchedBefore = placeOnNew(before[k], c, static_cast<int64_t>(c.remaining)) > 0 || touchedBefore;
      }
      if (touchedBefore) std::erase_if(before, exhausted);
      size_t from = opt_.packingWindow > 0 && open.size() > opt_.packingWindow ? open.size() - opt_.packingWindow : 0;
      bool touched = false;
      for (size_t k = from; k < open.size() && c.remaining > 0; ++k) {
        touched = placeOnNew(open[k], c, static_cast<int64_t>(c.remaining)) > 0 || touched;
      }
      while (c.remaining > 0 && canOpen(part.option)) {
        size_t ni = openNode(part.option, group);
        open.push_back(ni);
        opened.push_back(ni);
        touched = true;
        if (placeOnNew(ni, c, static_cast<int64_t>(c.remaining)) == 0) break;  // cannot happen: maxReq fits
      }
      if (touched) std::erase_if(open, exhausted);
    }
    earlier.insert(earlier.end(), opened.begin(), opened.end());
  }

  std::string noOfferingReason(size_t ci) const {
    const PodClass& c = classes_[ci];
    const PodInfo& pod = in_.pods[c.pods[0]];
    if (options_.empty()) return "no node pool has an available offering";
    std::map<std::string, int> reasons;
    for (const Option& o : options_) {
      FitVerdict v = fit(pod, c.reqRes, o.templ, FitOptions{.ignoreUsage = true});
      if (!v.fits) reasons[v.reason] += 1;
    }
    std::vector<std::pair<int, std::string>> sorted;
    for (auto& [r, n] : reasons) sorted.emplace_back(n, r);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first > b.first;
      return a.second < b.second;
    });
    std::string s = "no offering fits (" + std::to_string(options_.size()) + " checked): ";
    for (size_t i = 0; i < sorted.size() && i < 3; ++i) {
      if (i > 0) s += "; ";
      s += std::to_string(sorted[i].first) + "x " + sorted[i].second;
    }
    return s;
  }

  void markUnplaced(size_t ci, const std::string& reason) {
    PodClass& c = classes_[ci];
    while (c.remaining > 0) unplaced_[c.pods[--c.remaining]] = reason;
  }

  void fillLeftovers(const std::vector<size_t>& cls) {
    for (size_t ci : cls) {
      PodClass& c = classes_[ci];
      for (size_t ni = 0; ni < newNodes_.size() && c.remaining > 0; ++ni) {
        if (newNodes_[ni].closed || !compat_[c.group][newNodes_[ni].option]) continue;
        placeOnNew(ni, c, static_cast<int64_t>(c.remaining));
      }
    }
  }

  void planGroup(size_t gi, std::vector<size_t> cls) {
    Group& g = groups_[gi];
    if (g.affinity) {
      for (size_t ci : cls) {
        markUnplaced(ci, "required pod affinity is not simulated by spotfit; left to kube-scheduler");
      }
      return;
    }
    // Largest first everywhere below.
    std::sort(cls.begin(), cls.end(), [&](size_t a, size_t b) {
      if (classes_[a].size != classes_[b].size) return classes_[a].size > classes_[b].size;
      return a < b;
    });
    // Classes nothing in the catalog can hold are unschedulable whatever the headroom.
    std::vector<size_t> live;
    for (size_t ci : cls) {
      bool any = false;
      for (size_t oi : g.options) {
        if (fitCount(options_[oi].alloc.data(), classes_[ci].req.data(), d()) > 0) {
          any = true;
          break;
        }
      }
      if (any) {
        live.push_back(ci);
      } else {
        markUnplaced(ci, noOfferingReason(ci));
      }
    }
    if (g.isolated) {
      for (size_t ci : live) planIsolated(ci);
      return;
    }
    if (opt_.fillNewNodeLeftovers) fillLeftovers(live);
    for (int round = 0; round < 64; ++round) {
      std::vector<size_t> rest;
      for (size_t ci : live) {
        if (classes_[ci].remaining > 0) rest.push_back(ci);
      }
      if (rest.empty()) return;
      std::vector<size_t> usable;
      std::string blocked;
      for (size_t oi : g.options) {
        if (canOpen(oi)) {
          usable.push_back(oi);
        } else if (blocked.empty()) {
          blocked = headroomReason(oi);
        }
      }
      std::vector<size_t> placeable;
      for (size_t ci : rest) {
        bool any = false;
        for (size_t oi : usable) {
          if (fitCount(options_[oi].alloc.data(), classes_[ci].req.data(), d()) > 0) {
            any = true;
            break;
          }
        }
        if (any) {
          placeable.push_back(ci);
        } else {
          markUnplaced(ci, blocked.empty() ? noOfferingReason(ci) : blocked);
        }
      }
      if (placeable.empty()) return;
      size_t before = 0;
      for (size_t ci : placeable) before += classes_[ci].remaining;
      std::vector<Part> parts;
      partition(placeable, usable, opt_.maxPartitionDepth, parts);
      // Pods asking for GPUs are packed first, over all parts, so that cpu-only pods cannot take the
      // cpu a later GPU pod needs next to a free GPU; within each pass, parts with the biggest pods
      // first, so smaller pods of later parts fill their gaps.
      std::vector<Part> passes;
      for (int scarce = 1; scarce >= 0; --scarce) {
        std::vector<Part> pass;
        for (const Part& p : parts) {
          Part sub{{}, p.option};
          for (size_t ci : p.classes) {
            if ((classes_[ci].reqRes.gpus() > 0) == (scarce == 1)) sub.classes.push_back(ci);
          }
          if (!sub.classes.empty()) pass.push_back(std::move(sub));
        }
        auto biggest = [&](const Part& p) {
          double m = 0;
          for (size_t ci : p.classes) m = std::max(m, classes_[ci].size);
          return m;
        };
        std::stable_sort(pass.begin(), pass.end(),
                         [&](const Part& a, const Part& b) { return biggest(a) > biggest(b); });
        passes.insert(passes.end(), pass.begin(), pass.end());
      }
      std::vector<size_t> earlier;
      for (const Part& p : passes) packPart(p, gi, earlier);
      size_t after = 0;
      for (size_t ci : placeable) after += classes_[ci].remaining;
      if (after == before) {
        for (size_t ci : placeable) markUnplaced(ci, blocked.empty() ? noOfferingReason(ci) : blocked);
        return;
      }
    }
    for (size_t ci : live) markUnplaced(ci, "scale-up planning gave up after 64 rounds");
  }

  void planIsolated(size_t ci) {
    PodClass& c = classes_[ci];
    while (c.remaining > 0) {
      Choice best;
      std::string blocked;
      for (size_t oi : groups_[c.group].options) {
        if (fitCount(options_[oi].alloc.data(), c.req.data(), d()) <= 0) continue;
        if (!canOpen(oi)) {
          if (blocked.empty()) blocked = headroomReason(oi);
          continue;
        }
        bool none = best.option == std::numeric_limits<size_t>::max();
        if (none || options_[oi].price < best.cost - 1e-12 ||
            (options_[oi].price <= best.cost + 1e-12 && better(oi, best.option))) {
          best = Choice{oi, options_[oi].price};
        }
      }
      if (best.option == std::numeric_limits<size_t>::max()) {
        markUnplaced(ci, blocked.empty() ? noOfferingReason(ci) : blocked);
        return;
      }
      size_t ni = openNode(best.option, c.group);
      placeOnNew(ni, c, 1);
      newNodes_[ni].closed = true;
    }
  }

  void planNewNodes() {
    // GPU groups first (their nodes' spare cpu/memory can then take other pods), then larger groups.
    std::vector<std::vector<size_t>> byGroup(groups_.size());
    std::vector<double> demand(groups_.size(), 0);
    for (size_t ci = 0; ci < classes_.size(); ++ci) {
      if (classes_[ci].remaining == 0) continue;
      byGroup[classes_[ci].group].push_back(ci);
      demand[classes_[ci].group] += classes_[ci].size * static_cast<double>(classes_[ci].remaining);
    }
    std::vector<size_t> order(groups_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (groups_[a].gpu != groups_[b].gpu) return groups_[a].gpu;
      if (demand[a] != demand[b]) return demand[a] > demand[b];
      return a < b;
    });
    for (size_t gi : order) {
      if (!byGroup[gi].empty()) planGroup(gi, byGroup[gi]);
    }
  }

  void rightSize() {
    for (NewNode& n : newNodes_) {
      const Option& cur = options_[n.option];
      size_t best = n.option;
      for (size_t oi = 0; oi < options_.size(); ++oi) {
        const Option& o = options_[oi];
        if (o.price > options_[best].price + 1e-12) continue;
        if (o.price >= options_[best].price - 1e-12 && !(oi != best && better(oi, best))) continue;
        bool ok = true;
        for (size_t i = 0; i < d() && ok; ++i) ok = n.used[i] <= o.alloc[i];
        for (size_t gi : n.groups) ok = ok && compat_[gi][oi];
        if (!ok) continue;
        // Pool headroom for the swap.
        const NodePool& pool = in_.pools[o.pool];
        PoolState st = pools_[o.pool];
        if (o.pool != cur.pool) {
          if (pool.maxNodes >= 0 && st.nodes + 1 > pool.maxNodes) continue;
          if (!withinLimits(st.capacity + o.templ.allocatable, pool.limits)) continue;
        } else if (!withinLimits(st.capacity - cur.templ.allocatable + o.templ.allocatable, pool.limits)) {
          continue;
        }
        best = oi;
      }
      if (best != n.option) {
        const Option& o = options_[best];
        pools_[cur.pool].nodes -= 1;
        pools_[cur.pool].capacity -= cur.templ.allocatable;
        pools_[o.pool].nodes += 1;
        pools_[o.pool].capacity += o.templ.allocatable;
        n.option = best;
      }
    }
  }

  ScaleUpPlan output() {
    ScaleUpPlan plan;
    std::sort(onExisting_.begin(), onExisting_.end(),
              [](const PodAssignment& a, const PodAssignment& b) { return a.pod < b.pod; });
    plan.onExisting = std::move(onExisting_);
    std::map<std::string, int> perPool;
    for (NewNode& n : newNodes_) {
      if (n.pods.empty()) continue;
      const Option& o = options_[n.option];
      const NodePool& pool = in_.pools[o.pool];
      const InstanceType& type = pool.instanceTypes[o.type];
      PlannedNode p;
      p.name = pool.name + "-" + std::to_string(perPool[pool.name]++);
      p.pool = pool.name;
      p.instanceType = type.name;
      p.capacityType = o.capacityType;
      p.hourlyPrice = o.price;
      p.allocatable = o.templ.allocatable;
      std::sort(n.pods.begin(), n.pods.end());
      for (size_t pi : n.pods) p.requested += requests_[pi];
      p.pods = std::move(n.pods);
      plan.newNodes.push_back(std::move(p));
    }
    for (auto& [pod, reason] : unplaced_) plan.unschedulable.push_back(UnplacedPod{pod, reason});
    return plan;
  }
};

}  // namespace

ScaleUpPlan planScaleUp(const ScaleUpInput& input, const SolverOptions& options) {
  return Solver(input, options).run();
}

double fractionalLowerBound(const std::vector<PodInfo>& pods, const std::vector<NodePool>& pools) {
  Resources total;
  for (const PodInfo& p : pods) total += podRequests(p);
  std::vector<std::string> names{"cpu", "memory", "ephemeral-storage"};
  for (const auto& [name, v] : total.extended) names.push_back(name);
  double bound = 0;
  for (const std::string& name : names) {
    int64_t demand = total.get(name);
    if (demand <= 0) continue;
    double cheapest = std::numeric_limits<double>::infinity();
    for (const NodePool& pool : pools) {
      for (const InstanceType& t : pool.instanceTypes) {
        int64_t cap = t.allocatable.get(name);
        if (cap <= 0) continue;
        for (const Offering& o : t.offerings) {
          if (!o.available) continue;
          if (o.capacityType == CapacityType::Spot ? !pool.allowSpot : !pool.allowOnDemand) continue;
          cheapest = std::min(cheapest, o.hourlyPrice / static_cast<double>(cap));
        }
      }
    }
    if (std::isfinite(cheapest)) bound = std::max(bound, cheapest * static_cast<double>(demand));
  }
  return bound;
}

double sizeAwareLowerBound(const std::vector<PodInfo>& pods, const std::vector<NodePool>& pools) {
  struct Unit {
    Resources allocatable;
    double price;
  };
  std::vector<Unit> units;
  for (const NodePool& pool : pools) {
    for (const InstanceType& t : pool.instanceTypes) {
      for (const Offering& o : t.offerings) {
        if (!o.available) continue;
        if (o.capacityType == CapacityType::Spot ? !pool.allowSpot : !pool.allowOnDemand) continue;
        units.push_back(Unit{t.allocatable, o.hourlyPrice});
      }
    }
  }
  std::map<std::string, double> perResource;
  for (const PodInfo& p : pods) {
    Resources req = podRequests(p);
    req.pods = 0;  // pod slots are not priced
    std::vector<std::pair<std::string, int64_t>> dims{{"cpu", req.cpuMilli}, {"memory", req.memory}};
    for (const auto& e : req.extended) dims.push_back(e);
    for (const auto& [name, amount] : dims) {
      if (amount <= 0) continue;
      double cheapest = std::numeric_limits<double>::infinity();
      for (const Unit& u : units) {
        int64_t cap = u.allocatable.get(name);
        if (cap <= 0 || !fits(req, u.allocatable)) continue;
        cheapest = std::min(cheapest, u.price / static_cast<double>(cap));
      }
      if (std::isfinite(cheapest)) perResource[name] += cheapest * static_cast<double>(amount);
    }
  }
  double bound = 0;
  for (const auto& [name, v] : perResource) bound = std::max(bound, v);
  return bound;
}

}  // namespace spotfit::placement
