"""Install, run as shipped (issue 14): spotfit runs from the objects the Helm chart renders, under the chart's
ServiceAccounts, and the apiserver calls the webhook through the chart's Service, with nothing else.

- The chart (tls.mode selfSigned, scaler timings shortened through values) is applied to the real apiserver.
  No kubelet runs its pods, so its two Deployments are scaled to 0 and this test runs their processes on the
  host instead: `spotfit serve --config` with the rendered ConfigMap spotfit-config, the serving pair from the
  rendered Secret spotfit-tls, and a kubeconfig holding only a token the TokenRequest API issued for the
  Deployment's ServiceAccount (spotfit, spotfit-scaler) and the cluster's CA: no admin credentials. Only the
  listen addresses and certificate paths are given as flags (the pods' :8443/:8080 and /etc/spotfit/tls).
- The apiserver runs with --enable-aggregator-routing=true, so it resolves the MutatingWebhookConfiguration's
  service reference (spotfit.spotfit-system:443, as shipped) through the Service's EndpointSlices rather than
  a cluster IP that needs kube-proxy. The test writes the EndpointSlice a cluster's endpoint controller would
  write for a Ready pod, pointing at the loopback port of the webhook process. An IPv4 EndpointSlice refuses
  loopback addresses, so its addressType is FQDN with the name "127.0.0.1", which the apiserver's dialer
  takes as that address; TLS is still checked against spotfit.spotfit-system.svc and the chart's CA bundle.
- Main scenario: a Job in an opted-in namespace is mutated, its PodDisruptionBudget created, its pods make
  the scaler add a node to a NodePool through the kwok provider, they are bound there, the ledger ConfigMap is
  written, the scaler's Events and its Lease appear.
- Least privilege, checked: the apiserver's audit log (level Metadata for spotfit's two ServiceAccounts only)
  shows every request they made was allowed (no 403); the (verb, resource) pairs used are printed beside the
  shipped rules, and a shipped rule no request used must be listed in NOT_USED_HERE with the scenario that
  needs it.
"""

import base64
import json
import os
import re
import unittest

from e2e_common import WAIT, ClusterTestCase, controlplane, node_pool, pool_nodes, unique, wait_for
import spotfitproc
from test_install import NAMESPACE, render_chart

ACCOUNTS = ("spotfit", "spotfit-scaler")
USERS = {f"system:serviceaccount:{NAMESPACE}:{a}": a for a in ACCOUNTS}
# Chart values a user would set for a quick scaler (docs/scaler.md, docs/webhook.md): plan after 1-3 s, write the
# ledger every 2 s, scale down right after a scale-up, and read budgets from the ledger every second.
VALUES = ("config.scaler.batchIdle=1s", "config.scaler.batchMax=3s", "config.scaler.ledgerFlushInterval=2s",
          "config.scaler.scaleDownCooldown=1s", "config.webhook.budgets.refresh=1s")
POOL = "e2e-install"

# Shipped rights (account, apiGroup, resource, verb or None for every verb) that the scenario here does not
# exercise, and why they ship. Every other shipped (resource, verb) must be used by a request in the audit log;
# the read verbs get, list and watch count as one right (an informer lists and watches; get is for what its
# cache misses).
CLUSTER_API = "the clusterapi provider (NodePool provider.type clusterapi; tests/scaler/clusterapi_test.cpp)"
NOT_USED_HERE = {
    ("spotfit-scaler", "", "pods/eviction", None):
        "drains of under-used or interrupted nodes (e2e_job_pdb, e2e_pdb_drain, e2e_scaleup)",
    ("spotfit-scaler", "cluster.x-k8s.io", "machinedeployments/scale", None): CLUSTER_API,
    ("spotfit-scaler", "cluster.x-k8s.io", "machines", None): CLUSTER_API,
    ("spotfit", "", "events", "patch"): "the same Event again raises its count (tests/kube/events_test.cpp)",
    ("spotfit", "karpenter.sh", "nodeclaims", None):
        "the spot cool-off with the karpenter preset; this install runs the spotfit preset (e2e_karpenter_coexist)",
    ("spotfit-scaler", "", "events", "patch"): "the same Event again raises its count (tests/scaler/kube_test.cpp)",
    ("spotfit-scaler", "autoscaling.x-k8s.io", "provisioningrequests/status", None):
        "the conditions of ProvisioningRequests (e2e_provreq)",
    ("spotfit-scaler", "spotfit.io", "budgetpolicies/status", None):
        "the status of BudgetPolicies; this install creates none (e2e_budget_policy)",
}
READ_VERBS = {"get", "list", "watch"}
# Metric families an alert uses that have no sample (and so no line in /metrics) until their event happens,
# which this scenario does not cause, and the e2e test that scrapes them.
FIRST_SAMPLE_ELSEWHERE = {"spotfit_scaler_interruptions_total": "e2e_scaleup (InterruptionTest)",
                          "spotfit_budget_policy_spent_usd": "e2e_budget_policy (a BudgetPolicy exists there)",
                          "spotfit_budget_policy_limit_usd": "e2e_budget_policy (a BudgetPolicy exists there)"}


def alert_metric_names(rule_text):
    """{alert: the spotfit_* metric names its expr uses (histogram series reduced to the family)}, read from the
    PrometheusRule's YAML text (block and plain scalars; the standard library has no YAML parser)."""
    alerts, alert, lines = {}, None, rule_text.splitlines()
    for i, line in enumerate(lines):
        named = re.match(r"\s*- alert:\s*(\S+)", line)
        if named:
            alert = named.group(1)
            alerts[alert] = set()
            continue
        expr = re.match(r"(\s*)expr:\s*(.*)$", line)
        if not expr or alert is None:
            continue
        text, indent = expr.group(2), len(expr.group(1))
        if text.strip() in ("|", ">", "|-", ">-"):
            text = ""
            for more in lines[i + 1:]:
                if more.strip() and len(more) - len(more.lstrip()) <= indent:
                    break
                text += more + "\n"
        alerts[alert] |= {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"\bspotfit_[a-z0-9_]+", text)}
    return alerts


def objects(cluster, rendered):
    """The rendered YAML documents as JSON objects (kubectl converts; the standard library has no YAML)."""
    out = cluster.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", input_text=rendered).stdout
    decoder, items, at = json.JSONDecoder(), [], 0
    while True:  # one JSON object per document, concatenated
        while at < len(out) and out[at].isspace():
            at += 1
        if at == len(out):
            return items
        item, at = decoder.raw_decode(out, at)
        items += item["items"] if item.get("kind") == "List" else [item]


def find(items, kind, name):
    for item in items:
        if item["kind"] == kind and item["metadata"]["name"] == name:
            return item
    raise AssertionError(f"the chart renders no {kind} {name}")


def rule_triples(items, account):
    """(apiGroup, resource, verb, resourceNames) of every rule the rendered (Cluster)RoleBindings grant the
    ServiceAccount `account`."""
    triples = set()
    for binding in items:
        if binding["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(s.get("kind") == "ServiceAccount" and s["name"] == account for s in binding.get("subjects", [])):
            continue
        role = find(items, binding["roleRef"]["kind"], binding["roleRef"]["name"])
        for rule in role.get("rules", []):
            names = tuple(rule.get("resourceNames", []))
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule.get("verbs", []):
                        triples.add((group, resource, verb, names))
    return triples


class InstallRun(ClusterTestCase):

    @classmethod
    def make_cluster(cls):
        return controlplane.Cluster(aggregator_routing=True, audit_users=sorted(USERS))

    def service_account_kubeconfig(self, account):
        """A kubeconfig with a TokenRequest token of ServiceAccount `account` and the cluster's CA only."""
        request = self.kube.create(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{account}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
        directory = os.path.join(self.cluster.workdir, f"sa-{account}")
        os.makedirs(directory, exist_ok=True)
        token = os.path.join(directory, "token")
        with open(token, "w") as f:
            f.write(request["status"]["token"])
        path = os.path.join(directory, "kubeconfig")
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": account,
                       "clusters": [{"name": "e2e", "cluster": {
                           "server": self.cluster.server,
                           "certificate-authority": os.path.join(self.cluster.pki, "ca.crt")}}],
                       "users": [{"name": account, "user": {"tokenFile": token}}],
                       "contexts": [{"name": account, "context": {"cluster": "e2e", "user": account,
                                                                  "namespace": NAMESPACE}}]}, f)
        return path

    def secret_files(self, secret):
        """The TLS Secret's keys as files, in the layout spotfitproc.Spotfit expects of `certs`."""
        directory = os.path.join(self.cluster.workdir, "secret-spotfit-tls")
        os.makedirs(directory, exist_ok=True)
        for key in ("tls.crt", "tls.key", "ca.crt"):
            with open(os.path.join(directory, key), "wb") as f:
                f.write(base64.b64decode(secret["data"][key]))
        with open(os.path.join(directory, "ca-bundle.b64"), "w") as f:
            f.write(secret["data"]["ca.crt"])
        return directory

    def point_service_at(self, service, port):
        """The EndpointSlice of Service `service` a cluster would have for one Ready pod, at 127.0.0.1:port."""
        self.kube.create(f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service['metadata']['name']}-e2e", "labels": {
                "kubernetes.io/service-name": service["metadata"]["name"],
                "endpointslice.kubernetes.io/managed-by": "e2e.spotfit.io"}},
            "addressType": "FQDN",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": p["name"], "port": port, "protocol": "TCP"} for p in service["spec"]["ports"]]})

    def test_spotfit_runs_as_the_shipped_accounts_behind_the_shipped_service(self):
        rendered = render_chart(*VALUES)
        items = objects(self.cluster, rendered)
        self.kube.create_namespace(NAMESPACE)
        self.cluster.kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-", input_text=rendered)
        wait_for("the NodePool CRD to be Established", lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in self.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/spotfitpools.spotfit.io")
            .get("status", {}).get("conditions", [])), WAIT)
        # No kubelet would start the pods: this test runs their processes.
        self.cluster.kubectl("scale", "-n", NAMESPACE, "deployment/spotfit", "deployment/spotfit-scaler",
                             "--replicas=0")

        webhook = find(items, "MutatingWebhookConfiguration", "spotfit")
        self.assertNotIn("url", webhook["webhooks"][0]["clientConfig"])
        config_text = find(items, "ConfigMap", "spotfit-config")["data"]["config.yaml"]
        certs = self.secret_files(find(items, "Secret", "spotfit-tls"))
        for name, args in (("spotfit", []), ("spotfit-scaler", ["--scaler-only"])):
            deployment = find(items, "Deployment", name)["spec"]["template"]["spec"]
            self.assertEqual(deployment["containers"][0]["args"], ["serve", "--config", "/etc/spotfit/config.yaml",
                                                                   *args])
            process = spotfitproc.Spotfit(self.cluster, config_text=config_text, certs=certs, name=name,
                                          kubeconfig=self.service_account_kubeconfig(
                                              deployment["serviceAccountName"]), extra_args=args)
            process.start()
            setattr(self, name.replace("-", "_"), process)
        self.point_service_at(find(items, "Service", "spotfit"), self.spotfit.https_port)

        # Spot m5.xlarge is out of capacity: the scaler falls back to on-demand (and counts the failure).
        self.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool(
            POOL, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
            provider_parameters={"unavailableOfferings": "m5.xlarge:spot"}))
        ns = unique("team")
        self.kube.create_namespace(ns, {"spotfit.io/enabled": "true"})
        self.kube.wait_default_service_account(ns, WAIT)
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "annotations": {
                   "spotfit.io/budget": "100"}},
               "spec": {"parallelism": 2, "completions": 4, "template": {"spec": {
                   "restartPolicy": "Never", "nodeSelector": {"spotfit.io/node-pool": POOL},
                   "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                   "resources": {"requests": {"cpu": "1", "memory": "256Mi"}}}]}}}}
        # The apiserver may not use a just-created webhook configuration or EndpointSlice for a moment.
        wait_for("the apiserver to call the webhook through Service spotfit", lambda: self.kube.create(
            f"/apis/batch/v1/namespaces/{ns}/jobs", job, dryRun="All")["spec"]["template"].get(
            "metadata", {}).get("annotations", {}).get("spotfit.io/mutated"), WAIT)
        created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job)
        self.assertIn("tolerations", created["spec"]["template"]["metadata"]["annotations"]["spotfit.io/mutated"])
        self.assertGreater(self.spotfit.metric("spotfit_webhook_admissions_total"), 0)

        pdb = wait_for("the Job's PodDisruptionBudget", lambda: self.kube.get_or_none(
            f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/train-spotfit"), WAIT)
        self.assertEqual(pdb["metadata"]["ownerReferences"][0]["name"], "train")

        def bound():
            pods = self.kube.pods(ns, "batch.kubernetes.io/job-name=train")
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None
        pods = wait_for("the Job's pods bound on a node the scaler added", bound, 3 * WAIT)
        nodes = {n["metadata"]["name"]: n for n in pool_nodes(self.kube, POOL)}
        self.assertTrue(nodes)
        for node in nodes.values():
            self.assertEqual(node["metadata"]["labels"]["spotfit.io/capacity-type"], "on-demand")
        self.assertGreater(self.spotfit_scaler.metric("spotfit_scaler_scale_up_failures_total", pool=POOL), 0)
        for pod in pods:
            self.assertIn(pod["spec"]["nodeName"], nodes)
            self.assertTrue(any(t.get("key") == "spotfit.io/capacity-type" for t in pod["spec"]["tolerations"]))

        events = wait_for("a TriggeredScaleUp Event", lambda: [
            e for e in self.kube.get(f"/api/v1/namespaces/{ns}/events")["items"]
            if e.get("reason") == "TriggeredScaleUp"], WAIT)
        self.assertEqual(events[0]["involvedObject"]["kind"], "Pod")
        lease = self.kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/spotfit-scaler")
        self.assertTrue(lease["spec"].get("holderIdentity"))
        # Running pods cost money (as a kubelet would report them): the ledger records their namespace.
        for pod in pods:
            self.kube.set_pod_running(ns, pod["metadata"]["name"])
        wait_for("the ledger in ConfigMap spotfit-cost-ledger to record the Job's pods", lambda: f'"{ns}"' in (
            self.kube.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps/spotfit-cost-ledger").get("data") or {}).get(
            "ledger.json", ""), WAIT)

        # The webhook reads the ledger: a Job of the same workflow with a budget of 0 is over it (alert).
        over = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train-again", "annotations": {
            "spotfit.io/workflow": "train", "spotfit.io/budget": "0"}}, "spec": dict(job["spec"], suspend=True)}
        wait_for("the webhook to find workflow train over its budget", lambda: (self.kube.create(
            f"/apis/batch/v1/namespaces/{ns}/jobs", over, dryRun="All"), self.spotfit.metric(
            "spotfit_webhook_budget_decisions_total", decision="alert"))[1] > 0, WAIT)
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", over)
        wait_for("a BudgetExceeded Event on Job train-again", lambda: [
            e for e in self.kube.get(f"/api/v1/namespaces/{ns}/events")["items"]
            if e.get("reason") == "BudgetExceeded" and e["involvedObject"]["name"] == "train-again"], WAIT)

        # More parallelism: the webhook's reconciler patches the PDB (50% of 4).
        self.kube.merge_patch(f"/apis/batch/v1/namespaces/{ns}/jobs/train", {"spec": {"parallelism": 4}})
        wait_for("the PDB to follow the Job's parallelism", lambda: self.kube.get(
            f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/train-spotfit")["spec"].get("minAvailable") == 2,
            WAIT)

        # Every pod finishes (as a kubelet would report it); the empty node is removed.
        def finished():
            state = self.kube.get(f"/apis/batch/v1/namespaces/{ns}/jobs/train").get("status", {})
            if state.get("succeeded", 0) >= 4:
                return True
            for pod in self.kube.pods(ns, "batch.kubernetes.io/job-name=train"):
                if pod["spec"].get("nodeName") and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                    self.kube.set_pod_phase(ns, pod["metadata"]["name"], "Succeeded")
            return False
        wait_for("the Job to complete", finished, 3 * WAIT)
        # Empty nodes go after consolidateAfter (default 60s; not shorter before, or the new node could go before
        # kube-scheduler binds the pods it was made for).
        self.kube.merge_patch(f"/apis/spotfit.io/v1alpha1/spotfitpools/{POOL}",
                              {"spec": {"disruption": {"consolidateAfter": "1s"}}})
        wait_for("the scaler to remove the empty node", lambda: not pool_nodes(self.kube, POOL), 3 * WAIT)

        self.check_monitoring_uses_exported_metrics()
        self.check_least_privilege(items)

    def check_monitoring_uses_exported_metrics(self):
        """Every spotfit_* metric an alert of the shipped PrometheusRule or a dashboard panel uses is exported by one of the two
        running processes (a scrape after the scenario, so the labelled families have samples), except the
        families in FIRST_SAMPLE_ELSEWHERE, which a scrape shows only once their event happened."""
        exported = set(FIRST_SAMPLE_ELSEWHERE)
        for process in (self.spotfit, self.spotfit_scaler):
            exported |= {line.split()[2] for line in process.metrics().splitlines() if line.startswith("# TYPE ")}
        with open(os.path.join(spotfitproc.SOURCE_DIR, "manifests", "monitoring", "prometheusrule.yaml")) as f:
            alerts = alert_metric_names(f.read())
        self.assertGreaterEqual(len(alerts), 10)
        missing = {alert: sorted(names - exported) for alert, names in alerts.items() if names - exported}
        self.assertEqual(missing, {}, "alerts on metrics spotfit does not export")
        # The same for the Grafana dashboard's queries.
        with open(os.path.join(spotfitproc.SOURCE_DIR, "manifests", "monitoring", "grafana-dashboard.json")) as f:
            dashboard = json.load(f)
        panels = {}
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                panels.setdefault(panel["title"], set()).update(
                    re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"\bspotfit_[a-z0-9_]+", target["expr"]))
        self.assertGreaterEqual(len(panels), 15)
        missing = {title: sorted(names - exported) for title, names in panels.items() if names - exported}
        self.assertEqual(missing, {}, "dashboard panels on metrics spotfit does not export")

    def check_least_privilege(self, items):
        events = [e for e in self.cluster.audit_events() if e.get("user", {}).get("username") in USERS]
        used = {a: set() for a in ACCOUNTS}
        refused = []
        for event in events:
            account = USERS[event["user"]["username"]]
            ref = event.get("objectRef") or {}
            resource = ref.get("resource", event.get("requestURI", ""))
            if ref.get("subresource"):
                resource += "/" + ref["subresource"]
            used[account].add((ref.get("apiGroup", ""), resource, event["verb"], ref.get("name", "")))
            if (event.get("responseStatus") or {}).get("code") == 403:
                refused.append(f"{account}: {event['verb']} {event.get('requestURI')}")
        for account in ACCOUNTS:
            shipped = rule_triples(items, account)
            print(f"\n{account}: requests (verb group/resource) beside the shipped rules")
            for verb, resource in sorted({(verb, f"{group}/{resource}") for group, resource, verb, _ in used[account]}):
                print(f"  used    {verb:7} {resource}")
            unused = []
            for group, resource, verb, names in sorted(shipped):
                verbs = READ_VERBS if verb in READ_VERBS else {verb}
                hit = any(g == group and r == resource and v in verbs and (not names or n in names)
                          for g, r, v, n in used[account])
                why = NOT_USED_HERE.get((account, group, resource, verb),
                                        NOT_USED_HERE.get((account, group, resource, None)))
                print(f"  {'rule' if hit else 'UNUSED':7} {verb:7} {group}/{resource}"
                      f"{' ' + ','.join(names) if names else ''}{'' if hit or not why else '  (' + why + ')'}")
                if not hit and not why:
                    unused.append(f"{verb} {group}/{resource}")
                if hit and why:
                    unused.append(f"{verb} {group}/{resource} is used here: drop it from NOT_USED_HERE")
            self.assertTrue(used[account], f"no request by {account} in the audit log")
            with self.subTest(account=account):
                self.assertEqual(unused, [], f"{account}: shipped rules no request used (remove them or list them "
                                             "in NOT_USED_HERE with the scenario that needs them)")
        self.assertEqual(refused, [], "requests by spotfit's accounts the apiserver refused (403)")


if __name__ == "__main__":
    unittest.main()
