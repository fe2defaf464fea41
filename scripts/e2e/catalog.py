"""One instance-type list, two catalogs: Karpenter's kwok provider file (INSTANCE_TYPES_FILE_PATH) and
spotfit's NodePool instanceTypes, so both provisioners choose among the same machines at the same prices
(Python 3 standard library only).

An entry: {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.0666}
where cpu and memory are the machine's capacity. Karpenter's kwok instance types reserve 100m CPU and 10Mi
(kubeReserved, sigs.k8s.io/karpenter/kwok/cloudprovider), so their nodes' allocatable is capacity minus that;
spotfit's instanceTypes give allocatable directly, so they get the same subtraction. Both sides allow
MAX_PODS pods per node.
"""

import json
import re

KUBE_RESERVED_CPU_MILLI = 100
KUBE_RESERVED_MEMORY_MI = 10
MAX_PODS = 110
ZONE = "test-zone-a"

_MEMORY_UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def cpu_milli(quantity):
    text = str(quantity)
    if text.endswith("m"):
        return int(text[:-1])
    return int(round(float(text) * 1000))


def memory_mi(quantity):
    match = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|Ti)?", str(quantity))
    if not match:
        raise ValueError(f"unsupported memory quantity {quantity!r}")
    if match.group(2):
        return int(round(float(match.group(1)) * _MEMORY_UNITS[match.group(2)]))
    return int(round(float(match.group(1)) / (1024 * 1024)))  # bytes


def allocatable(entry):
    """(cpu millicores, memory MiB) a node of this type offers to pods on either side."""
    return (cpu_milli(entry["cpu"]) - KUBE_RESERVED_CPU_MILLI, memory_mi(entry["memory"]) - KUBE_RESERVED_MEMORY_MI)


def offerings(entry):
    """[(capacity type, price)] of an entry: on-demand always, spot when it has a positive spotPrice."""
    result = [("on-demand", float(entry["onDemandPrice"]))]
    if float(entry.get("spotPrice") or 0) > 0:
        result.append(("spot", float(entry["spotPrice"])))
    return result


def karpenter_instance_types(types):
    """Karpenter's kwok provider instance-types file content (a list, to be written as JSON)."""
    out = []
    for entry in types:
        out.append({
            "name": entry["name"],
            "offerings": [{"Price": price, "Available": True, "Requirements": [
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity_type]},
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [ZONE]}]}
                for capacity_type, price in offerings(entry)],
            "architecture": "amd64",
            "operatingSystems": ["linux"],
            "resources": {"cpu": str(entry["cpu"]), "memory": str(entry["memory"]), "pods": str(MAX_PODS)},
        })
    return out


def write_karpenter_instance_types(types, path):
    with open(path, "w") as f:
        json.dump(karpenter_instance_types(types), f, indent=1)
    return path


def spotfit_instance_types(types):
    """spotfit NodePool spec.instanceTypes with the same allocatable and prices."""
    out = []
    for entry in types:
        cpu, memory = allocatable(entry)
        item = {"name": entry["name"], "cpu": f"{cpu}m", "memory": f"{memory}Mi", "maxPods": MAX_PODS,
                "onDemandPrice": float(entry["onDemandPrice"])}
        if float(entry.get("spotPrice") or 0) > 0:
            item["spotPrice"] = float(entry["spotPrice"])
        out.append(item)
    return out


def price_table(types):
    """{(instance type, capacity type): USD per hour} for the cost recorder."""
    return {(entry["name"], capacity_type): price for entry in types for capacity_type, price in offerings(entry)}
