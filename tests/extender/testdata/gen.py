#!/usr/bin/env python3
"""Generates the extender's golden inputs: real-shaped Node objects (cloud labels, NVIDIA GPU feature
discovery labels, allocatable with GPUs, 50 images in status), bound pods, pending pods, and the
ExtenderArgs kube-scheduler would send for them in both nodeCacheCapable modes.

Run from this directory: python3 gen.py. The expected answers (expected/*.json) are written by hand
from the reasoning in README.md, not by this script.
"""
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def digest(s):
    return "sha256:" + hashlib.sha256(s.encode()).hexdigest()


def images(seed):
    out = []
    repos = ["registry.k8s.io/kube-proxy", "nvcr.io/nvidia/k8s-device-plugin", "nvcr.io/nvidia/gpu-feature-discovery",
             "nvcr.io/nvidia/cuda", "nvcr.io/nvidia/pytorch", "docker.io/library/python", "quay.io/prometheus/node-exporter",
             "public.ecr.aws/eks-distro/kubernetes/pause", "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni",
             "ghcr.io/spotfit/trainer"]
    for i in range(50):
        repo = repos[i % len(repos)]
        tag = f"v{1 + i // 10}.{i % 10}.{seed % 7}"
        out.append({"names": [f"{repo}@{digest(repo + tag + str(seed))}", f"{repo}:{tag}"],
                    "sizeBytes": 10_000_000 + 7_919_113 * i + seed})
    return out


def node(name, zone, instance, capacity_type, cpu_alloc, mem_alloc, cpu_cap, mem_cap, gpu=None, mig=None, taints=None,
         unschedulable=False):
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": "us-east-1",
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance,
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": zone,
        "karpenter.sh/capacity-type": capacity_type,
        "karpenter.sh/nodepool": "gpu" if gpu else "general",
        "karpenter.k8s.aws/instance-family": instance.split(".")[0],
        "karpenter.k8s.aws/instance-size": instance.split(".")[1],
    }
    alloc = {"cpu": cpu_alloc, "ephemeral-storage": "95551679124", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
             "memory": mem_alloc, "pods": "110"}
    cap = {"cpu": cpu_cap, "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
           "memory": mem_cap, "pods": "110"}
    if gpu:
        product, count, memory = gpu
        labels.update({
            "nvidia.com/cuda.driver.major": "535", "nvidia.com/cuda.driver.minor": "104",
            "nvidia.com/cuda.driver.rev": "12", "nvidia.com/cuda.runtime.major": "12",
            "nvidia.com/cuda.runtime.minor": "2", "nvidia.com/gfd.timestamp": "1700000000",
            "nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "0",
            "nvidia.com/gpu.count": str(count), "nvidia.com/gpu.family": "ampere" if "A100" in product else "turing",
            "nvidia.com/gpu.machine": instance, "nvidia.com/gpu.memory": str(memory),
            "nvidia.com/gpu.product": product, "nvidia.com/gpu.replicas": "1",
            "nvidia.com/mig.capable": "true" if "A100" in product else "false",
            "nvidia.com/mig.strategy": "mixed" if mig else "single",
        })
        if mig:
            for profile, n in mig.items():
                labels[f"nvidia.com/{profile}.count"] = str(n)
                labels[f"nvidia.com/{profile}.memory"] = profile.split(".")[1].replace("gb", "") + "000"
                alloc[f"nvidia.com/{profile}"] = str(n)
                cap[f"nvidia.com/{profile}"] = str(n)
            alloc["nvidia.com/gpu"] = "0"
            cap["nvidia.com/gpu"] = "0"
        else:
            alloc["nvidia.com/gpu"] = str(count)
            cap["nvidia.com/gpu"] = str(count)
    seed = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)
    ip = name.split(".")[0][3:].replace("-", ".")
    obj = {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {
            "name": name, "uid": f"6f1c{seed:06x}-0000-4000-8000-{seed:012x}", "resourceVersion": str(100000 + seed % 9999),
            "creationTimestamp": "2026-11-22T08:14:03Z", "labels": labels,
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "karpenter.k8s.aws/ec2nodeclass-hash": "15535182697325354914",
                "karpenter.sh/nodepool-hash": "12393960163388511505",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "finalizers": ["karpenter.sh/termination"],
            "ownerReferences": [{"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim", "name": name.split(".")[0],
                                 "uid": f"1b2c{seed:06x}-1111-4000-8000-{seed:012x}", "blockOwnerDeletion": True}],
        },
        "spec": {"providerID": f"aws:///{zone}/i-0{seed:016x}"},
        "status": {
            "capacity": cap, "allocatable": alloc,
            "conditions": [
                {"type": t, "status": "False", "lastHeartbeatTime": "2026-11-22T12:50:11Z",
                 "lastTransitionTime": "2026-11-22T08:14:03Z", "reason": r, "message": m}
                for t, r, m in [("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available")]
            ] + [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-22T12:50:11Z",
                  "lastTransitionTime": "2026-11-22T08:14:25Z", "reason": "KubeletReady",
                  "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "InternalDNS", "address": name},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": f"ec2{seed:029x}", "systemUUID": f"ec2{seed:05x}-0000-0000-0000-000000000000",
                         "bootID": f"{seed:08x}-aaaa-bbbb-cccc-dddddddddddd", "kernelVersion": "5.10.227-219.884.amzn2.x86_64",
                         "osImage": "Amazon Linux 2", "containerRuntimeVersion": "containerd://1.7.22",
                         "kubeletVersion": "v1.30.4-eks-a737599", "kubeProxyVersion": "v1.30.4-eks-a737599",
                         "operatingSystem": "linux", "architecture": "amd64"},
            "images": images(seed),
        },
    }
    if taints:
        obj["spec"]["taints"] = taints
    if unschedulable:
        obj["spec"]["unschedulable"] = True
    return obj


GPU_TAINT = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
NODES = [
    node("ip-10-0-1-11.ec2.internal", "us-east-1a", "p4d.24xlarge", "spot", "95690m", "1140407264Ki", "96",
         "1176802240Ki", gpu=("NVIDIA-A100-SXM4-40GB", 8, 40960), taints=GPU_TAINT),
    node("ip-10-0-1-12.ec2.internal", "us-east-1a", "g4dn.xlarge", "on-demand", "3920m", "15147828Ki", "4",
         "16149796Ki", gpu=("Tesla-T4", 1, 15360), taints=GPU_TAINT),
    node("ip-10-0-1-13.ec2.internal", "us-east-1b", "g4dn.xlarge", "spot", "3920m", "15147828Ki", "4",
         "16149796Ki", gpu=("Tesla-T4", 1, 15360), taints=GPU_TAINT),
    node("ip-10-0-1-14.ec2.internal", "us-east-1b", "p4d.24xlarge", "on-demand", "95690m", "1140407264Ki", "96",
         "1176802240Ki", gpu=("NVIDIA-A100-SXM4-40GB", 1, 40960), mig={"mig-1g.5gb": 7}, taints=GPU_TAINT),
    node("ip-10-0-1-15.ec2.internal", "us-east-1c", "m5.2xlarge", "spot", "7910m", "31386636Ki", "8",
         "32408588Ki"),
    node("ip-10-0-1-16.ec2.internal", "us-east-1c", "m5.2xlarge", "on-demand", "7910m", "31386636Ki", "8",
         "32408588Ki", taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]),
]
NAMES = [n["metadata"]["name"] for n in NODES]


def pod(name, requests, node_name=None, annotations=None, tolerations=None, phase="Pending", uid=None):
    limits = {k: v for k, v in requests.items() if k.startswith("nvidia.com/")}
    container = {"name": "main", "image": "ghcr.io/spotfit/trainer:v1.2.3", "command": ["python", "train.py"],
                 "resources": {"requests": requests, **({"limits": limits} if limits else {})},
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                 "imagePullPolicy": "IfNotPresent"}
    tol = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
           {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300}] + (tolerations or [])
    spec = {"containers": [container], "restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "schedulerName": "spotfit",
            "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority", "tolerations": tol}
    if node_name:
        spec["nodeName"] = node_name
    h = hashlib.md5(name.encode()).hexdigest()
    meta = {"name": name, "namespace": "ml", "uid": uid or f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}",
            "resourceVersion": "4242", "creationTimestamp": "2026-11-22T12:40:00Z",
            "labels": {"batch.kubernetes.io/job-name": name.rsplit("-", 1)[0], "job-name": name.rsplit("-", 1)[0],
                       "spotfit.io/workflow": "train-42"},
            "annotations": {"spotfit.io/mutated": "tolerations,affinity", **(annotations or {})},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name.rsplit("-", 1)[0],
                                 "uid": "0d9e1c1a-0000-4000-8000-00000000beef", "controller": True,
                                 "blockOwnerDeletion": True}]}
    status = {"phase": phase, "qosClass": "Burstable"}
    if not node_name:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                 "lastTransitionTime": "2026-11-22T12:40:00Z", "reason": "Unschedulable",
                                 "message": "0/6 nodes are available"}]
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

# Pods already bound: the spot T4 node's only GPU is taken, the A100 node runs a 3-GPU job, and a
# finished pod on the A100 node that must not count.
BOUND = [
    pod("infer-t4-0", {"cpu": "1", "memory": "4Gi", "nvidia.com/gpu": "1"}, NAMES[2], tolerations=GPU_TOLERATION,
        phase="Running"),
    pod("train-a100-0", {"cpu": "24", "memory": "200Gi", "nvidia.com/gpu": "3"}, NAMES[0],
        tolerations=GPU_TOLERATION, phase="Running"),
    pod("done-a100-0", {"cpu": "24", "memory": "200Gi", "nvidia.com/gpu": "5"}, NAMES[0],
        tolerations=GPU_TOLERATION, phase="Succeeded"),
    pod("mig-user-0", {"cpu": "2", "memory": "8Gi", "nvidia.com/mig-1g.5gb": "6"}, NAMES[3],
        tolerations=GPU_TOLERATION, phase="Running"),
]

PENDING = {
    "t4": pod("eval-t4-0", {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
              annotations={"spotfit.io/gpu-product": "Tesla-T4"}, tolerations=GPU_TOLERATION),
    "a100x4": pod("train-big-0", {"cpu": "32", "memory": "256Gi", "nvidia.com/gpu": "4"},
                  annotations={"spotfit.io/gpu-product": "NVIDIA-A100-SXM4-40GB"}, tolerations=GPU_TOLERATION),
    "mig": pod("notebook-0", {"cpu": "1", "memory": "4Gi", "nvidia.com/mig-1g.5gb": "1"},
               tolerations=GPU_TOLERATION),
    "cpu-ondemand": pod("etl-0", {"cpu": "2", "memory": "4Gi"}, annotations={"spotfit.io/capacity-type": "on-demand"},
                        tolerations=GPU_TOLERATION),
    "cpu-big": pod("reduce-0", {"cpu": "16", "memory": "8Gi"}),
    "budget": pod("sweep-0", {"cpu": "1", "memory": "1Gi"},
                  annotations={"spotfit.io/budget": "100", "spotfit.io/budget-action": "spot-only",
                               "spotfit.io/workflow": "train-42"},
                  tolerations=GPU_TOLERATION),
}

UNKNOWN = "ip-10-0-9-99.ec2.internal"


def dump(path, obj):
    with open(os.path.join(HERE, path), "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write("\n")


def main():
    os.makedirs(os.path.join(HERE, "args"), exist_ok=True)
    dump("cluster.json", {"kind": "List", "apiVersion": "v1", "items": NODES + BOUND})
    for key, p in PENDING.items():
        dump(f"args/{key}-names.json", {"Pod": p, "Nodes": None, "NodeNames": NAMES + [UNKNOWN]})
        dump(f"args/{key}-nodes.json", {"Pod": p, "Nodes": {"metadata": {}, "items": NODES}, "NodeNames": None})


if __name__ == "__main__":
    main()
