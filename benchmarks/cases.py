"""The benchmark's requests: each example XR as Crossplane sends it, first without observed
resources (the first reconcile), then with them (every reconcile after: the objects applied,
with the API server's defaults, a Deployment with an available replica, the client Secret)."""

import copy
import pathlib
from dataclasses import dataclass

import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ("dev-ollama", "in-cluster-ollama", "openai", "multi-model")
# The input of the Composition's step, as shipped.
INPUT = yaml.safe_load((ROOT / "compositions/modelapi.yaml").read_text())["spec"]["pipeline"][0]["input"]
COMPOSITION = "modelapi"
RESOURCE_NAME = "crossplane.io/composition-resource-name"
CREATED = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class Case:
    example: str
    observed: bool
    xr: dict
    resources: dict[str, dict]
    # What the function required (its pods), as Crossplane fetched it: name -> objects.
    required: dict[str, list[dict]]

    @property
    def name(self) -> str:
        return f"{self.example} ({'observed' if self.observed else 'first call'})"


def load(example: str) -> dict:
    return yaml.safe_load((ROOT / "examples" / example / "xr.yaml").read_text())


def cases() -> list[Case]:
    """Every example, without and with observed resources."""
    from function.compose import compose  # the objects Crossplane applied are the function's own
    from function.fn import run

    out = []
    for example in EXAMPLES:
        xr = load(example)
        first = compose(xr, INPUT, {})
        out.append(Case(example, False, as_sent(xr, None, first.status), {}, {}))
        applied = {key: applied_object(key, obj, xr) for key, obj in first.resources.items()}
        status = compose(xr, INPUT, applied).status
        case = Case(example, True, as_sent(xr, applied, status), applied, {})
        # As Crossplane does: call, fetch what the function requires, call again with it.
        wants = run(request(case, INPUT)).requirements.resources
        deployment = next(o for o in applied.values() if o["kind"] == "Deployment")
        required = {name: [running_pod(deployment)] if sel.kind == "Pod" else [] for name, sel in wants.items()}
        out.append(Case(example, True, case.xr, applied, required))
    return out


def request(case: Case, fn_input: dict | None, *, required: bool = True) -> fnv1.RunFunctionRequest:
    """The request Crossplane sends; without the required resources for a function that
    does not ask for them (the Go reference)."""
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="bench"))
    req.observed.composite.resource.update(case.xr)
    for key, obj in case.resources.items():
        req.observed.resources[key].resource.update(obj)
    for name, objs in case.required.items() if required else ():
        items = req.required_resources[name].items
        for obj in objs:
            items.add().resource.update(obj)
    if fn_input is not None:
        req.input.update(fn_input)
    return req


def _uid(kind: str, name: str) -> str:
    n = sum(map(ord, kind + name))
    return f"{n:08x}-0000-4000-8000-{n * 7919:012x}"


def as_sent(xr: dict, applied: dict[str, dict] | None, status: dict) -> dict:
    """The XR as Crossplane reads it from its cache (managedFields stripped)."""
    xr = copy.deepcopy(xr)
    meta = xr["metadata"]
    meta.update(
        uid=_uid(xr["kind"], meta["name"]),
        generation=1,
        resourceVersion="4711",
        creationTimestamp=CREATED,
        finalizers=["composite.apiextensions.crossplane.io"],
        labels={"crossplane.io/composite": meta["name"]},
    )
    crossplane: dict = {
        "compositionRef": {"name": COMPOSITION},
        "compositionRevisionRef": {"name": f"{COMPOSITION}-3f2a1b9"},
        "compositionUpdatePolicy": "Automatic",
    }
    if applied is None:
        xr["status"] = {"conditions": [_condition("Synced", "True", "ReconcileSuccess")]}
    else:
        crossplane["resourceRefs"] = [
            {"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"]} for o in applied.values()
        ]
        xr["status"] = {
            **status,
            "conditions": [
                _condition("Synced", "True", "ReconcileSuccess"),
                _condition("Ready", "True", "Available"),
            ],
        }
    xr["spec"]["crossplane"] = crossplane
    return xr


def _condition(kind: str, status: str, reason: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "lastTransitionTime": CREATED, "observedGeneration": 1}


def applied_object(key: str, obj: dict, xr: dict) -> dict:
    """A composed object as the API server returns it: its metadata, defaults and status."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    meta.update(
        uid=_uid(obj["kind"], meta["name"] + key),
        resourceVersion="4712",
        creationTimestamp=CREATED,
        annotations={**meta.get("annotations", {}), RESOURCE_NAME: key},
        labels={**meta.get("labels", {}), "crossplane.io/composite": xr["metadata"]["name"]},
        ownerReferences=[
            {
                "apiVersion": xr["apiVersion"],
                "kind": xr["kind"],
                "name": xr["metadata"]["name"],
                "uid": _uid(xr["kind"], xr["metadata"]["name"]),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    )
    if obj["kind"] == "Deployment":
        _deployment_defaults(obj)
    elif obj["kind"] == "Service":
        obj["spec"].update(
            clusterIP="10.96.12.34",
            clusterIPs=["10.96.12.34"],
            internalTrafficPolicy="Cluster",
            ipFamilies=["IPv4"],
            ipFamilyPolicy="SingleStack",
            sessionAffinity="None",
        )
        obj["status"] = {"loadBalancer": {}}
    return obj


def _deployment_defaults(obj: dict) -> None:
    obj["metadata"].update(
        generation=1, annotations={**obj["metadata"]["annotations"], "deployment.kubernetes.io/revision": "1"}
    )
    spec = obj["spec"]
    spec.update(
        progressDeadlineSeconds=600,
        revisionHistoryLimit=10,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    )
    pod = spec["template"]["spec"]
    pod.update(
        dnsPolicy="ClusterFirst",
        restartPolicy="Always",
        schedulerName="default-scheduler",
        terminationGracePeriodSeconds=30,
    )
    for c in pod.get("initContainers", []) + pod["containers"]:
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c:
                c[probe].update(successThreshold=1)
                if "httpGet" in c[probe]:  # Hosted's Ollama is probed by exec
                    c[probe]["httpGet"]["scheme"] = "HTTP"
    obj["status"] = {
        "availableReplicas": 1,
        "readyReplicas": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
                "lastTransitionTime": CREATED,
                "lastUpdateTime": CREATED,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{obj["metadata"]["name"]}-5d8f7c9b6" has successfully progressed.',
                "lastTransitionTime": CREATED,
                "lastUpdateTime": CREATED,
            },
        ],
    }


def running_pod(deployment: dict) -> dict:
    """The Deployment's one pod, running and ready, as the API server returns it."""
    template = copy.deepcopy(deployment["spec"]["template"])
    meta = deployment["metadata"]
    name = f"{meta['name']}-5d8f7c9b6-x7k2p"
    spec = template["spec"]
    spec.update(
        nodeName="worker-1",
        preemptionPolicy="PreemptLowerPriority",
        priority=0,
        serviceAccount="default",
        serviceAccountName="default",
        tolerations=[
            {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            for t in ("not-ready", "unreachable")
        ],
    )
    started = {"startedAt": CREATED}

    def container_status(c: dict, init: bool) -> dict:
        state = {"terminated": {**started, "exitCode": 0, "reason": "Completed", "finishedAt": CREATED}}
        return {
            "name": c["name"],
            "image": c["image"],
            "imageID": f"docker.io/{c['image']}@sha256:{'ab' * 32}",
            "containerID": f"containerd://{'cd' * 32}",
            "ready": not init,
            "started": not init,
            "restartCount": 0,
            "state": state if init else {"running": started},
            "lastState": {},
        }

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            **template["metadata"],
            "labels": {**template["metadata"]["labels"], "pod-template-hash": "5d8f7c9b6"},
            "name": name,
            "generateName": name[:-5],
            "namespace": meta["namespace"],
            "uid": _uid("Pod", name),
            "resourceVersion": "4790",
            "creationTimestamp": CREATED,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": name[:-6],
                    "uid": _uid("ReplicaSet", name[:-6]),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": CREATED}
                for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "hostIP": "172.18.0.3",
            "hostIPs": [{"ip": "172.18.0.3"}],
            "podIP": "10.244.1.17",
            "podIPs": [{"ip": "10.244.1.17"}],
            "qosClass": "Burstable"
            if any("resources" in c and c["resources"] for c in spec["containers"])
            else "BestEffort",
            "startTime": CREATED,
            "initContainerStatuses": [container_status(c, True) for c in spec.get("initContainers", [])],
            "containerStatuses": [container_status(c, False) for c in spec["containers"]],
        },
    }
