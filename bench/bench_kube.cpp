// Kubernetes client benchmarks: watch-event decode throughput and informer cache memory.
//
//   build/release/bench/bench_kube                       # all
//   build/release/bench/bench_kube --benchmark_filter=Memory
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "kube/informer.hpp"
#include "kube/objects.hpp"

namespace {

using namespace spotfit::kube;

// A watch frame for a realistically sized Job pod as the API server sends it (managedFields included:
// they are most of the bytes on the wire and the decoder must skip them cheaply).
std::string podFrame(int job, int index, const std::string& node) {
  std::string jobName = "train-" + std::to_string(job);
  char uid[64], jobUid[64];
  std::snprintf(uid, sizeof uid, "6f1c2b0e-%04x-4222-8333-%012d", index & 0xffff, job * 1000 + index);
  std::snprintf(jobUid, sizeof jobUid, "0b4f0b7a-aaaa-4bbb-8ccc-%012d", job);
  std::string name = jobName + "-" + std::to_string(index) + "-x7k2p";
  return std::string(R"({"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":")") + name +
         R"(","generateName":")" + jobName + R"(-","namespace":"ml-team-)" + std::to_string(job % 20) + R"(","uid":")" +
         uid + R"(","resourceVersion":"48)" + std::to_string(job * 1000 + index) +
         R"(","creationTimestamp":"2024-05-01T10:00:00Z","labels":{"batch.kubernetes.io/controller-uid":")" + jobUid +
         R"(","batch.kubernetes.io/job-name":")" + jobName + R"(","controller-uid":")" + jobUid +
         R"(","job-name":")" + jobName + R"("},"annotations":{"spotfit.io/capacity-type":"spot-preferred","spotfit.io/workflow":"nightly-)" + std::to_string(job % 50) + R"(","spotfit.io/mutated":"tolerations,affinity,requests,preStop,labels","kubectl.kubernetes.io/default-container":"main"},"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":")" + jobName + R"(","uid":")" + jobUid + R"(","controller":true,"blockOwnerDeletion":true}],"finalizers":["batch.kubernetes.io/job-tracking"],"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:finalizers":{".":{},"v:\"batch.kubernetes.io/job-tracking\"":{}},"f:generateName":{},"f:labels":{".":{},"f:batch.kubernetes.io/controller-uid":{},"f:batch.kubernetes.io/job-name":{},"f:controller-uid":{},"f:job-name":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"x\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},"f:command":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{".":{},"f:limits":{".":{},"f:memory":{}},"f:requests":{".":{},"f:cpu":{},"f:memory":{}}},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}},{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2024-05-01T10:00:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{"k:{\"type\":\"ContainersReady\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStatuses":{},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"10.0.0.1\"}":{".":{},"f:ip":{}}},"f:startTime":{}}},"subresource":"status"}]},"spec":{"volumes":[{"name":"kube-api-access-)" +
         std::to_string(index % 10000) +
         R"(","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],"containers":[{"name":"main","image":"registry.example.com/ml/train:2024.05.01","command":["python","train.py","--epochs","10"],"resources":{"limits":{"memory":"4Gi"},"requests":{"cpu":"1500m","memory":"3Gi"}},"volumeMounts":[{"name":"kube-api-access","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"lifecycle":{"preStop":{"exec":{"command":["/bin/sh","-c","checkpoint.sh"]}}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Never","terminationGracePeriodSeconds":120,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","serviceAccount":"default","nodeName":")" +
         node + R"(","securityContext":{},"affinity":{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":50,"preference":{"matchExpressions":[{"key":"spotfit.io/capacity-type","operator":"In","values":["spot"]}]}}]}},"schedulerName":"default-scheduler","tolerations":[{"key":"spotfit.io/spot","operator":"Exists","effect":"NoSchedule"},{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-05-01T10:00:01Z"},{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-05-01T10:00:05Z"},{"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-05-01T10:00:05Z"},{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2024-05-01T10:00:00Z"}],"hostIP":"10.0.1.17","podIP":"10.244.3.21","podIPs":[{"ip":"10.244.3.21"}],"startTime":"2024-05-01T10:00:01Z","containerStatuses":[{"name":"main","state":{"running":{"startedAt":"2024-05-01T10:00:04Z"}},"lastState":{},"ready":true,"restartCount":0,"image":"registry.example.com/ml/train:2024.05.01","imageID":"registry.example.com/ml/train@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","containerID":"containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","started":true}],"qosClass":"Burstable"}}})";
}

std::string nodeFrame(int i) {
  std::string name = "ip-10-0-" + std::to_string(i / 250) + "-" + std::to_string(i % 250) + ".ec2.internal";
  bool gpu = i % 10 == 0;
  std::string images;
  for (int k = 0; k < 50; ++k) {
    if (k != 0) images += ",";
    images +=
        R"({"names":["registry.example.com/team/image-)" + std::to_string(k) +
        R"(@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","registry.example.com/team/image-)" +
        std::to_string(k) + R"(:v1"],"sizeBytes":)" + std::to_string(100000000 + k) + "}";
  }
  return std::string(R"({"type":"MODIFIED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":")") + name +
         R"(","uid":"node-uid-)" + std::to_string(i) + R"(","resourceVersion":"9)" + std::to_string(i) +
         R"(","labels":{"beta.kubernetes.io/arch":"amd64","beta.kubernetes.io/instance-type":")" +
         (gpu ? "g5.2xlarge" : "m6i.4xlarge") +
         R"(","beta.kubernetes.io/os":"linux","failure-domain.beta.kubernetes.io/region":"us-east-1","failure-domain.beta.kubernetes.io/zone":"us-east-1a","kubernetes.io/arch":"amd64","kubernetes.io/hostname":")" +
         name + R"(","kubernetes.io/os":"linux","node.kubernetes.io/instance-type":")" +
         (gpu ? "g5.2xlarge" : "m6i.4xlarge") +
         R"(","topology.kubernetes.io/region":"us-east-1","topology.kubernetes.io/zone":"us-east-1a","karpenter.sh/capacity-type":")" +
         (i % 3 == 0 ? "on-demand" : "spot") + R"(","spotfit.io/node-pool":")" + (gpu ? "gpu" : "general") + "\"" +
         (gpu ? R"(,"nvidia.com/gpu.product":"NVIDIA-A10G","nvidia.com/gpu.count":"1","nvidia.com/gpu.memory":"23028")"
              : "") +
         R"(},"annotations":{"node.alpha.kubernetes.io/ttl":"0","volumes.kubernetes.io/controller-managed-attach-detach":"true"}},"spec":{"providerID":"aws:///us-east-1a/i-0)" +
         std::to_string(i) +
         R"("},"status":{"capacity":{"cpu":"16","ephemeral-storage":"104845292Ki","memory":"65021492Ki","pods":"234")" +
         (gpu ? R"(,"nvidia.com/gpu":"1")" : "") +
         R"(},"allocatable":{"cpu":"15890m","ephemeral-storage":"95551679124","memory":"64004660Ki","pods":"234")" +
         (gpu ? R"(,"nvidia.com/gpu":"1")" : "") +
         R"(},"conditions":[{"type":"MemoryPressure","status":"False","lastHeartbeatTime":"2024-05-01T10:00:00Z","lastTransitionTime":"2024-05-01T09:00:00Z","reason":"KubeletHasSufficientMemory","message":"kubelet has sufficient memory available"},{"type":"DiskPressure","status":"False","lastHeartbeatTime":"2024-05-01T10:00:00Z","lastTransitionTime":"2024-05-01T09:00:00Z","reason":"KubeletHasNoDiskPressure","message":"kubelet has no disk pressure"},{"type":"Ready","status":"True","lastHeartbeatTime":"2024-05-01T10:00:00Z","lastTransitionTime":"2024-05-01T09:00:00Z","reason":"KubeletReady","message":"kubelet is posting ready status"}],"addresses":[{"type":"InternalIP","address":"10.0.1.17"},{"type":"Hostname","address":")" +
         name +
         R"("}],"nodeInfo":{"kubeletVersion":"v1.30.0","containerRuntimeVersion":"containerd://1.7.11","osImage":"Amazon Linux 2","architecture":"amd64"},"images":[)" +
         images + "]}}}";
}

std::string nodeName(int i) {
  return "ip-10-0-" + std::to_string(i / 250) + "-" + std::to_string(i % 250) + ".ec2.internal";
}

// Parse a watch frame and decode its object, as the informer does.
template <typename T>
void decodeFrames(benchmark::State& state, const std::vector<std::string>& frames, Decoder<T> decode) {
  size_t i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string& f = frames[i++ % frames.size()];
    json::Document doc;
    doc.Parse(f.data(), f.size());
    auto obj = decode(doc["object"]);
    if (!obj.ok()) state.SkipWithError(obj.error().message.c_str());
    benchmark::DoNotOptimize(obj);
    bytes += f.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_DecodePodWatchEvent(benchmark::State& state) {
  std::vector<std::string> frames;
  for (int i = 0; i < 1000; ++i) frames.push_back(podFrame(i / 50, i, nodeName(i % 5000)));
  state.counters["frame_bytes"] = static_cast<double>(frames[0].size());
  decodeFrames<Pod>(state, frames, &decodePod);
}
BENCHMARK(BM_DecodePodWatchEvent);

void BM_DecodeNodeWatchEvent(benchmark::State& state) {
  std::vector<std::string> frames;
  for (int i = 0; i < 200; ++i) frames.push_back(nodeFrame(i));
  state.counters["frame_bytes"] = static_cast<double>(frames[0].size());
  decodeFrames<Node>(state, frames, &decodeNode);
}
BENCHMARK(BM_DecodeNodeWatchEvent);

size_t rssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// Fills informer stores (with the standard indexes) with 5,000 nodes and 150,000 pods decoded from
// watch frames, and reports the resident memory they take.
void BM_CacheMemory(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int pods = static_cast<int>(state.range(1));
  for (auto _ : state) {
    ::malloc_trim(0);
    size_t before = rssBytes();
    auto podStore = std::make_unique<Store<Pod>>();
    podStore->addIndex(std::string(kIndexNodeName), [](const Pod& p) { return std::vector<std::string>{p.nodeName}; });
    podStore->addIndex(std::string(kIndexOwner), [](const Pod& p) {
      const OwnerReference* c = p.meta.controllerRef();
      return c != nullptr ? std::vector<std::string>{ownerKey(p.meta.namespace_, c->kind, c->name)}
                          : std::vector<std::string>{};
    });
    auto nodeStore = std::make_unique<Store<Node>>();
    for (int i = 0; i < nodes; ++i) {
      std::string f = nodeFrame(i);
      json::Document d;
      d.Parse(f.data(), f.size());
      nodeStore->upsert(std::make_shared<const Node>(decodeNode(d["object"]).value()));
    }
    ::malloc_trim(0);
    size_t afterNodes = rssBytes();
    for (int i = 0; i < pods; ++i) {
      std::string f = podFrame(i / 50, i, nodeName(i % nodes));
      json::Document d;
      d.Parse(f.data(), f.size());
      podStore->upsert(std::make_shared<const Pod>(decodePod(d["object"]).value()));
    }
    ::malloc_trim(0);
    size_t after = rssBytes();
    state.counters["nodes"] = nodes;
    state.counters["pods"] = pods;
    state.counters["bytes_per_node"] = static_cast<double>(afterNodes - before) / nodes;
    state.counters["bytes_per_pod"] = static_cast<double>(after - afterNodes) / pods;
    state.counters["cache_MiB"] = static_cast<double>(after - before) / (1024.0 * 1024.0);
    state.counters["process_rss_MiB"] = static_cast<double>(after) / (1024.0 * 1024.0);
    benchmark::DoNotOptimize(podStore->size() + nodeStore->size());
  }
}
BENCHMARK(BM_CacheMemory)->Args({5000, 150000})->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_VpaForTarget(benchmark::State& state) {
  Store<VerticalPodAutoscaler> store;
  store.addIndex(std::string(kIndexTargetRef), [](const VerticalPodAutoscaler& v) {
    return std::vector<std::string>{ownerKey(v.meta.namespace_, v.targetRef->kind, v.targetRef->name)};
  });
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    std::string text =
        R"({"metadata":{"name":"vpa-)" + std::to_string(i) + R"(","namespace":"ml-)" + std::to_string(i % 20) +
        R"("},"spec":{"targetRef":{"apiVersion":"batch/v1","kind":"Job","name":"train-)" + std::to_string(i) +
        R"("}},"status":{"recommendation":{"containerRecommendations":[{"containerName":"main","target":{"cpu":"1","memory":"2Gi"}}]}}})";
    auto d = json::parse(text);
    store.upsert(std::make_shared<const VerticalPodAutoscaler>(decodeVerticalPodAutoscaler(*d).value()));
  }
  std::vector<std::pair<std::string, std::string>> targets;  // (namespace, Job name) of existing VPAs
  for (int i = 0; i < 1024; ++i) {
    int k = (i * 7919) % n;
    targets.emplace_back("ml-" + std::to_string(k % 20), "train-" + std::to_string(k));
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [ns, name] = targets[i++ % targets.size()];
    auto v = vpaForTarget(store, ns, "Job", name);
    if (v == nullptr) state.SkipWithError("VPA not found");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_VpaForTarget);

}  // namespace

BENCHMARK_MAIN();
