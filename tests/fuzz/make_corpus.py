#!/usr/bin/env python3
"""Writes the seed and regression corpus under tests/fuzz/corpus/<target>/ (checked in; rerun only to
regenerate). Seeds are ordinary inputs; files named regress-* are the hostile inputs of issue 15 that
crashed, stalled or bloated spotfit before the decoders were bounded. libFuzzer crashers found later are
added by hand as regress-<what>.<ext> (see tests/fuzz/README.md)."""
import json
import os
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent
repo = root.parent.parent
corpus = root / "corpus"


def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


def review(obj_text, kind='{"group":"","version":"v1","kind":"Pod"}'):
    return ('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":' + kind +
            ',"operation":"CREATE","namespace":"ml","object":' + obj_text + '}}')


def pod(annotations="", containers='{"name":"main","image":"busybox"}', meta_extra=""):
    return ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ml","annotations":{' + annotations +
            '}' + meta_extra + '},"spec":{"restartPolicy":"Never","containers":[' + containers + ']}}')


def nested(n):
    return "[" * n + "]" * n


laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [" + ",".join(["*" + p] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))

# admission: POST /mutate bodies
write("admission", "seed-pod.json", review(pod('"spotfit.io/checkpoint":"save"')))
write("admission", "seed-job.json", review(
    '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"ml"},"spec":{"parallelism":4,'
    '"template":{"metadata":{},"spec":{"restartPolicy":"Never","containers":[{"name":"c","resources":'
    '{"requests":{"cpu":"500m","memory":"1Gi"}}}]}}}}', '{"group":"batch","version":"v1","kind":"Job"}'))
write("admission", "regress-nested-45k.json", review(pod("", '{"name":"main","args":' + nested(45000) + '}')))
write("admission", "regress-nested-150k.json", nested(150000))
write("admission", "regress-duplicate-keys.json", review(pod('"spotfit.io/checkpoint":"save"', '{"name":"a","name":"b"}')))
write("admission", "regress-bad-utf8.json", review(pod('"spotfit.io/checkpoint":"\xff\xfe"')).encode("latin-1"))
write("admission", "regress-lone-surrogate.json", review(pod('"spotfit.io/checkpoint":"\\udc00"')))
write("admission", "regress-amplification.json", review(pod(
    '"spotfit.io/checkpoint":"' + "x" * 4096 + '"', ",".join('{"name":"c%d"}' % i for i in range(1000)))))
write("admission", "regress-many-labels.json", review(pod(
    "", meta_extra=',"labels":{' + ",".join('"l%d":"v"' % i for i in range(10001)) + "}")))

# extender: ExtenderArgs
args_dir = repo / "tests/extender/testdata/args"
for f in sorted(args_dir.glob("*-names.json"))[:2]:
    write("extender", "seed-" + f.name, f.read_bytes())
write("extender", "regress-nested.json", '{"Pod":' + nested(10000) + ',"NodeNames":["a"]}')
write("extender", "regress-duplicate-keys.json", '{"Pod":{},"NodeNames":["a"],"NodeNames":["b"]}')
write("extender", "regress-lone-surrogate.json", '{"Pod":{},"NodeNames":["\\ud800"]}')

# kube: watch frames and API objects
write("kube", "seed-watch-pod.json", '{"type":"ADDED","object":' + pod() + '}')
write("kube", "seed-node.json", '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"a":"b"}},'
      '"status":{"allocatable":{"cpu":"4","memory":"16Gi","pods":"110"}}}')
write("kube", "regress-nested.json", '{"type":"ADDED","object":{"x":' + nested(10000) + '}}')
write("kube", "regress-duplicate-keys.json", '{"type":"ADDED","object":{"metadata":{"name":"a","name":"b"}}}')
write("kube", "regress-bad-utf8.json", b'{"type":"ADDED","object":{"metadata":{"name":"\xc0\xaf"}}}')

# config: serve --config files
cfg = (repo / "manifests/base/config.yaml").read_text()
m = re.search(r"config\.yaml: \|\n((?:    .*\n|\n)+)", cfg)
write("config", "seed-config.yaml", "\n".join(l[4:] for l in m.group(1).splitlines()) + "\n" if m else "server: {}\n")
write("config", "regress-billion-laughs.yaml", laughs)
write("config", "regress-nested.yaml", "webhook: " + nested(10000) + "\n")
write("config", "regress-duplicate-keys.yaml", "webhook:\n  maxBodyBytes: 1024\n  maxBodyBytes: 2048\n")

# workload: simulate -f
write("workload", "seed-mapreduce.yaml", (repo / "examples/mapreduce.yaml").read_bytes())
write("workload", "regress-billion-laughs.yaml", laughs)
write("workload", "regress-nested.yaml", "workflows: " + nested(10000) + "\n")

# mutate: mutate -f input
write("mutate", "seed-pod.yaml", (repo / "tests/webhook/testdata/spark-executor.yaml").read_bytes())
write("mutate", "seed-pod.json", pod('"spotfit.io/checkpoint":"save"'))
write("mutate", "regress-billion-laughs.yaml", laughs)
write("mutate", "regress-duplicate-keys.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, name: b}\nspec: {containers: []}\n")
write("mutate", "regress-bad-utf8.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xff\"}\nspec: {containers: []}\n")
write("mutate", "regress-nested.json", nested(10000))
