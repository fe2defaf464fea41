"""Reading the scaler's cost ledger (`ledger.json` in ConfigMap spotfit-cost-ledger) as CostLedger::toJson
writes it, version 2 (docs/scaler.md, "Cost ledger"): workflow totals as [namespace, workflow, usd,
lastActiveMs] rows, running pods grouped as [namespace, workflow, ratePerHour, onDemandRatePerHour,
accruedToMs, "<8-character fingerprint per pod>"]."""

import json

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def fingerprint(uid):
    """scaler::podFingerprint: the low 48 bits of FNV-1a 64 of the uid, 8 base64url characters."""
    h = 14695981039346656037
    for byte in uid.encode():
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "".join(ALPHABET[(h >> (42 - 6 * i)) & 63] for i in range(8))


def read(kube, namespace, name="spotfit-cost-ledger"):
    """The stored ledger (None before the first save)."""
    cm = kube.get_or_none(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    text = ((cm or {}).get("data") or {}).get("ledger.json")
    return json.loads(text) if text else None


def workflow_usd(doc, namespace, workflow):
    """The workflow's total as of the save (0 when the ledger does not record it)."""
    for ns, wf, usd, _ in (doc or {}).get("workflows", []):
        if (ns, wf) == (namespace, workflow):
            return usd
    return 0.0


def running(doc, namespace, workflow):
    """The workflow's running pods: fingerprint -> (USD per hour, accrued up to, ms)."""
    out = {}
    for ns, wf, rate, _, accrued_ms, fps in (doc or {}).get("running", []):
        if (ns, wf) == (namespace, workflow):
            out.update({fps[i:i + 8]: (rate, accrued_ms) for i in range(0, len(fps), 8)})
    return out
