"""A small Kubernetes REST client for the e2e suite (Python 3 standard library only).

Authenticates with a client certificate, speaks JSON, and raises ApiError with the server's Status
message for every non-2xx answer so tests can assert on the exact refusal text.
"""

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    def __init__(self, method, path, code, body):
        self.method = method
        self.path = path
        self.code = code
        self.body = body
        self.status = None
        try:
            self.status = json.loads(body)
        except ValueError:
            pass
        message = self.status.get("message", body) if isinstance(self.status, dict) else body
        self.message = message
        super().__init__(f"{method} {path}: HTTP {code}: {message}")


class TimeoutError_(AssertionError):
    """A wait_for deadline passed; an AssertionError so unittest reports it as a test failure."""


def wait_for(what, probe, timeout, interval=0.2):
    """Calls probe() until it returns a truthy value or timeout seconds pass; returns that value.

    Exceptions from probe count as 'not yet' until the deadline, when the last one is reported.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except (ApiError, OSError) as error:
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError_(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


class Kube:
    def __init__(self, server, ca_file, cert_file, key_file, timeout=30):
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file)
        self.context.load_cert_chain(cert_file, key_file)

    def request(self, method, path, body=None, content_type="application/json", query=None, raw=False):
        url = self.server + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as error:
            raise ApiError(method, path, error.code, error.read().decode(errors="replace")) from None
        if raw:
            return payload.decode(errors="replace")
        return json.loads(payload) if payload else None

    def get(self, path, **query):
        return self.request("GET", path, query=query or None)

    def create(self, path, obj, **query):
        return self.request("POST", path, obj, query=query or None)

    def delete(self, path, **query):
        return self.request("DELETE", path, query=query or None)

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def get_or_none(self, path, **query):
        """The object at path, or None if there is none (404)."""
        try:
            return self.get(path, **query)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def exists(self, path):
        return self.get_or_none(path) is not None

    # Convenience wrappers for the objects the scenarios use.

    def create_namespace(self, name, labels=None):
        return self.create("/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels or {}}})

    def wait_default_service_account(self, namespace, timeout=60):
        """Pods are refused until the controller-manager created the namespace's default ServiceAccount."""
        wait_for(f"ServiceAccount {namespace}/default",
                 lambda: self.exists(f"/api/v1/namespaces/{namespace}/serviceaccounts/default"), timeout)

    def create_ready_node(self, name, cpu="4", memory="8Gi", pods="110", labels=None, extra_capacity=None,
                          taints=None):
        """Registers a Node that no kubelet backs (as kwok does) and reports it Ready.

        The TaintNodesByCondition admission plugin adds node.kubernetes.io/not-ready on create; the
        node-lifecycle controller would lift it shortly after the node reports Ready, but removing it
        here makes the node usable as soon as this returns.
        """
        capacity = {"cpu": cpu, "memory": memory, "pods": pods}
        capacity.update(extra_capacity or {})
        base_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "type": "kwok"}
        base_labels.update(labels or {})
        self.create("/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": base_labels,
                         "annotations": {"kwok.x-k8s.io/node": "fake"}},
            "spec": {"taints": taints or []}})
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.request("PATCH", f"/api/v1/nodes/{name}/status", {
            "status": {
                "capacity": capacity, "allocatable": capacity,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "fake node", "lastHeartbeatTime": now,
                                "lastTransitionTime": now}],
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                             "kubeletVersion": "fake", "containerRuntimeVersion": "fake",
                             "kernelVersion": "", "osImage": "", "kubeProxyVersion": "",
                             "machineID": "", "systemUUID": "", "bootID": ""}}},
            content_type="application/strategic-merge-patch+json")
        # Controllers (ttl, taint managers) update new nodes concurrently: replace the taints only on the
        # version we read, and read again when someone else got there first.
        for attempt in range(20):
            node = self.get(f"/api/v1/nodes/{name}")
            kept = [t for t in node["spec"].get("taints", []) if t["key"] != "node.kubernetes.io/not-ready"]
            try:
                return self.request("PATCH", f"/api/v1/nodes/{name}",
                                    [{"op": "test", "path": "/metadata/resourceVersion",
                                      "value": node["metadata"]["resourceVersion"]},
                                     {"op": "replace" if "taints" in node["spec"] else "add",
                                      "path": "/spec/taints", "value": kept}],
                                    content_type="application/json-patch+json")
            except ApiError as error:
                if error.code not in (409, 422) or attempt == 19:
                    raise

    def evict(self, namespace, name):
        """POSTs a policy/v1 Eviction for the pod; returns the HTTP status (201 evicted, 429 refused by a
        PodDisruptionBudget, ...) and the response body (the Status)."""
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        url = f"{self.server}/api/v1/namespaces/{namespace}/pods/{name}/eviction"
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Accept": "application/json", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(payload)
            except ValueError:
                return error.code, payload

    def pods(self, namespace, selector=None):
        query = {"labelSelector": selector} if selector else {}
        return self.get(f"/api/v1/namespaces/{namespace}/pods", **query)["items"]

    def set_pod_phase(self, namespace, name, phase):
        """Reports a pod's containers finished, as the kubelet would (phase Succeeded or Failed)."""
        pod = self.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        code = 0 if phase == "Succeeded" else 1
        statuses = [{"name": c["name"], "ready": False, "restartCount": 0, "image": c["image"],
                     "imageID": "", "started": False,
                     "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                              "startedAt": now, "finishedAt": now}}}
                    for c in pod["spec"]["containers"]]
        conditions = [{"type": "Ready", "status": "False", "lastTransitionTime": now,
                       "reason": "PodCompleted"}]
        return self.request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/status",
                            {"status": {"phase": phase, "containerStatuses": statuses,
                                        "conditions": conditions, "startTime": now}},
                            content_type="application/strategic-merge-patch+json")

    def set_pod_running(self, namespace, name):
        """Reports a bound pod's containers started and Ready, as the kubelet would once its probes pass
        (the disruption controller counts only Ready pods as healthy for a PodDisruptionBudget)."""
        pod = self.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        statuses = [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"], "imageID": "",
                     "started": True, "state": {"running": {"startedAt": now}}}
                    for c in pod["spec"]["containers"]]
        conditions = [{"type": t, "status": "True", "lastTransitionTime": now}
                      for t in ("Initialized", "ContainersReady", "Ready")]
        return self.request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/status",
                            {"status": {"phase": "Running", "containerStatuses": statuses, "conditions": conditions,
                                        "startTime": now, "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}]}},
                            content_type="application/strategic-merge-patch+json")


def is_ready(obj):
    """True when a Pod's or Node's Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])
