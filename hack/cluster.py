"""A one-node Kubernetes cluster inside a network namespace of its own (driven by hack/cluster.sh).

Every component is a local process: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, containerd (its own instance: config, socket, root), kubelet, kube-proxy,
a NetworkPolicy engine (kube-network-policies) and an OCI registry that serves the local
registry's storage on the node address; the cluster DNS is CoreDNS in a pod behind the kube-dns
Service, as clusters run it, so that NetworkPolicies select it as they do there.
They all live in one network namespace (`ip netns add`) and one mount namespace (that of a
holder process): every address is local to the namespace, nothing
is routed off the machine, the iptables rules and per-namespace sysctls the kubelet, kube-proxy
and CNI write vanish with the namespace, and the mounts they make (pod volumes, overlays) are
never seen by the host and go away with the last process. The global sysctls the kubelet writes
are read before the start and written back at the stop.

Standard library only: it runs with the system python3, as root. MODELAPI_CLUSTER_NETWORK_POLICIES=off
at the start leaves the engine out: NetworkPolicies are then objects only, as on many clusters.

    cluster.py start    start (or find running) and print the admin kubeconfig's path last
    cluster.py stop     stop every process, delete the namespace, restore the host settings
    cluster.py status   what runs; exit status 1 when the cluster is not up
    cluster.py env      shell lines: KUBECONFIG, the namespace, the registry address
    cluster.py exec CMD...     run CMD in the cluster's network namespace (kubectl, curl)
    cluster.py import IMAGE... load Docker images into the node's containerd (k8s.io)
    cluster.py crossplane      install Crossplane with its Helm chart (core image built offline and
                               imported), then the function package from the registry and the
                               repo's install/rbac.yaml, XRD and Composition; prints the images
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOOLS = Path(
    os.environ.get("MODELAPI_TOOLS")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "function-modelapi"
)
NETNS = os.environ.get("MODELAPI_CLUSTER_NETNS", "modelapi-cluster")
RUN = Path(os.environ.get("MODELAPI_CLUSTER_DIR", TOOLS / "cluster-run"))
# Persistent across runs: containerd's content and snapshots (imported images stay).
CONTAINERD_ROOT = TOOLS / "cluster-containerd"

NODE_IP = "10.209.0.1"
POD_CIDR = "10.209.1.0/24"
SERVICE_CIDR = "10.209.128.0/20"
KUBERNETES_SERVICE_IP = "10.209.128.1"
NODE_NAME = "localhost"
REGISTRY = f"{NODE_IP}:5000"
PAUSE_IMAGE = "modelapi.local/pause:3.10"
KUBE_DNS_IP = "10.209.128.10"
# kube-network-policies' nftables table (its default name), in the cluster's network namespace,
# and the queue it takes packets from (its default number).
NETWORK_POLICY_TABLE = ("inet", "kube-network-policies")
NETWORK_POLICY_QUEUE = "100"
# A cluster without NetworkPolicy enforcement (many are): MODELAPI_CLUSTER_NETWORK_POLICIES=off.
ENFORCE_NETWORK_POLICIES = os.environ.get("MODELAPI_CLUSTER_NETWORK_POLICIES", "on") != "off"

# The global (not per network namespace) sysctls the kubelet sets (setupKernelTunables) and
# kube-proxy might; read before the start, written back at the stop.
HOST_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/netfilter/nf_conntrack_max",
)
# Stop order: first what creates pods, last the store.
ORDER = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
    "kube-network-policies",
    "registry",
)


def log(msg: str) -> None:
    print(f"cluster: {msg}", file=sys.stderr, flush=True)


def run(*args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess:
    out = subprocess.run(list(args), check=False, text=True, capture_output=True, **kw)
    if check and out.returncode:
        raise SystemExit(f"cluster: {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out


def bin_dirs() -> tuple[Path, Path]:
    cluster = Path(run("bash", str(HERE / "install-cluster.sh"), "--dir").stdout.strip())
    plane = Path(run("bash", str(HERE / "install-controlplane.sh"), "--dir").stdout.strip())
    return cluster, plane


def registry_dir() -> Path:
    return TOOLS / "registry"


# --- Host state ---------------------------------------------------------------


def read_sysctls() -> dict[str, str]:
    out = {}
    for name in HOST_SYSCTLS:
        p = Path("/proc/sys") / name
        if p.exists():
            out[name] = p.read_text().strip()
    return out


def restore_sysctls(saved: dict[str, str]) -> list[str]:
    failed = []
    for name, value in saved.items():
        p = Path("/proc/sys") / name
        try:
            if p.read_text().strip() != value:
                p.write_text(value + "\n")
                log(f"restored {name.replace('/', '.')} = {value}")
        except OSError as e:
            failed.append(f"{name}: {e}")
    return failed


def is_mountpoint(path: str) -> bool:
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def cgroup_dirs() -> list[str]:
    """Top-level cgroup directories of every hierarchy (cgroup v1 and v2)."""
    found = []
    root = Path("/sys/fs/cgroup")
    for hier in [root, *root.iterdir()] if root.exists() else []:
        if not hier.is_dir() or hier.is_symlink():
            continue
        with contextlib.suppress(OSError):
            found += [str(d) for d in hier.iterdir() if d.is_dir()]
    return sorted(found)


def remove_cgroup_tree(path: Path) -> None:
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


# --- Processes ------------------------------------------------------------------


def pid_of(name: str) -> int | None:
    p = RUN / "pids" / name
    if not p.exists():
        return None
    pid = int(p.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def holder_pid() -> int | None:
    return pid_of("holder")


def spawn(name: str, args: list[str], env: dict | None = None) -> int:
    """Starts `args` in the holder's network and mount namespaces, logging to logs/NAME.log."""
    holder = holder_pid()
    assert holder, "no holder process"
    (RUN / "logs").mkdir(parents=True, exist_ok=True)
    out = open(RUN / "logs" / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(
        ["nsenter", f"--target={holder}", "--net", "--mount", "--", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        cwd="/",
    )
    (RUN / "pids" / name).write_text(str(proc.pid))
    return proc.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of ours that exited is a zombie until reaped.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def kill(*pids: int, grace: float = 5) -> None:
    """SIGTERM to every one at once, SIGKILL to what is left after `grace` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            log(f"{pid} ignored SIGTERM for {grace} s: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def in_netns(*args: str) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{NETNS}", "--", *args]


def wait(predicate: Callable[[], Any], timeout: float, what: str, name: str | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if name and not pid_of(name):
            break
        time.sleep(0.2)
    tail = ""
    if name and (RUN / "logs" / f"{name}.log").exists():
        tail = "\n".join((RUN / "logs" / f"{name}.log").read_text(errors="replace").splitlines()[-25:])
    raise SystemExit(f"cluster: timed out waiting for {what}\n{tail}")


# --- Certificates, tokens, kubeconfigs --------------------------------------------


def openssl(*args: str) -> None:
    run("openssl", *args)


def make_pki(pki: Path) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    if (pki / "apiserver.crt").exists():
        return
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=modelapi-cluster-ca",
        "-keyout",
        str(pki / "ca.key"),
        "-out",
        str(pki / "ca.crt"),
    )
    sans = ",".join(
        [f"IP:{ip}" for ip in (NODE_IP, KUBERNETES_SERVICE_IP, "127.0.0.1")]
        + [
            f"DNS:{d}"
            for d in (
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            )
        ]
    )
    ext = pki / "apiserver.ext"
    ext.write_text(f"subjectAltName={sans}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=kube-apiserver",
        "-keyout",
        str(pki / "apiserver.key"),
        "-out",
        str(pki / "apiserver.csr"),
    )
    openssl(
        "x509",
        "-req",
        "-in",
        str(pki / "apiserver.csr"),
        "-CA",
        str(pki / "ca.crt"),
        "-CAkey",
        str(pki / "ca.key"),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        str(ext),
        "-out",
        str(pki / "apiserver.crt"),
    )
    openssl("genrsa", "-out", str(pki / "sa.key"), "2048")
    openssl("rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
    # The registry's certificate for the node address, from the local registry's own CA.
    reg = registry_dir()
    ext = pki / "registry.ext"
    ext.write_text(f"subjectAltName=IP:{NODE_IP}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        f"/CN={NODE_IP}",
        "-keyout",
        str(pki / "registry.key"),
        "-out",
        str(pki / "registry.csr"),
    )
    openssl(
        "x509",
        "-req",
        "-in",
        str(pki / "registry.csr"),
        "-CA",
        str(reg / "ca.crt"),
        "-CAkey",
        str(reg / "ca.key"),
        "-CAcreateserial",
        "-CAserial",
        str(pki / "registry.srl"),
        "-days",
        "30",
        "-extfile",
        str(ext),
        "-out",
        str(pki / "registry.crt"),
    )
    for p in pki.glob("*.key"):
        p.chmod(0o600)


USERS = {
    # name: (user, groups). A test cluster: the controller manager and CoreDNS run as admins.
    "admin": ("admin", "system:masters"),
    "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
    "kube-controller-manager": ("system:kube-controller-manager", "system:masters"),
    "kube-scheduler": ("system:kube-scheduler", ""),
    "kube-proxy": ("system:kube-proxy", ""),
    "coredns": ("coredns", "system:masters"),
    "kube-network-policies": ("system:kube-network-policies", ""),
}


def make_auth(pki: Path) -> None:
    tokens_file = pki / "tokens.csv"
    if tokens_file.exists():
        return
    lines = []
    ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
    for name, (user, groups) in USERS.items():
        token = base64.b32encode(os.urandom(20)).decode().lower()
        lines.append(f'{token},{user},{user},"{groups}"')
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "modelapi", "cluster": {"server": f"https://{NODE_IP}:6443", "certificate-authority-data": ca}}
            ],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": "modelapi", "context": {"cluster": "modelapi", "user": name}}],
            "current-context": "modelapi",
        }
        path = RUN / "kubeconfig" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(kubeconfig, indent=1))
        path.chmod(0o600)
    tokens_file.write_text("\n".join(lines) + "\n")
    tokens_file.chmod(0o600)


# --- Configuration files -------------------------------------------------------------


def write_configs(cbin: Path) -> None:
    conf = RUN / "conf"
    (conf / "net.d").mkdir(parents=True, exist_ok=True)
    sock = RUN / "containerd" / "containerd.sock"
    certs = conf / "certs.d" / REGISTRY
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "hosts.toml").write_text(
        f'server = "https://{REGISTRY}"\n\n[host."https://{REGISTRY}"]\n'
        f'  capabilities = ["pull", "resolve"]\n  ca = "{registry_dir() / "ca.crt"}"\n'
    )
    (conf / "containerd.toml").write_text(f"""version = 2
root = "{CONTAINERD_ROOT}"
state = "{RUN / "containerd"}"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{RUN / "containerd" / "ttrpc.sock"}"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{RUN / "containerd-opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{conf / "net.d"}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{conf / "certs.d"}"
""")
    (conf / "net.d" / "10-pods.conflist").write_text(
        json.dumps(
            {
                "cniVersion": "0.4.0",
                "name": "pods",
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": "cni0",
                        "isGateway": True,
                        "ipMasq": False,
                        "hairpinMode": True,
                        "ipam": {
                            "type": "host-local",
                            "dataDir": str(RUN / "cni-ipam"),
                            "ranges": [[{"subnet": POD_CIDR}]],
                            "routes": [{"dst": "0.0.0.0/0"}],
                        },
                    },
                    {"type": "portmap", "capabilities": {"portMappings": True}},
                ],
            },
            indent=1,
        )
    )
    (conf / "resolv.conf").write_text("")
    (conf / "kubelet.json").write_text(
        json.dumps(
            {
                "apiVersion": "kubelet.config.k8s.io/v1beta1",
                "kind": "KubeletConfiguration",
                "address": NODE_IP,
                "port": 10250,
                "readOnlyPort": 0,
                "healthzBindAddress": "127.0.0.1",
                "healthzPort": 10248,
                "cgroupDriver": "cgroupfs",
                "cgroupsPerQOS": False,
                "enforceNodeAllocatable": [],
                "failSwapOn": False,
                "failCgroupV1": False,
                "containerRuntimeEndpoint": f"unix://{sock}",
                "imageServiceEndpoint": f"unix://{sock}",
                "clusterDomain": "cluster.local",
                "clusterDNS": [KUBE_DNS_IP],
                "resolvConf": str(conf / "resolv.conf"),
                "podLogsDir": str(RUN / "pod-logs"),
                "evictionHard": {
                    "memory.available": "100Mi",
                    "nodefs.available": "1%",
                    "imagefs.available": "1%",
                    "nodefs.inodesFree": "1%",
                },
                "imageGCHighThresholdPercent": 100,
                "imageGCLowThresholdPercent": 99,
                "authentication": {
                    "anonymous": {"enabled": True},
                    "webhook": {"enabled": False},
                    "x509": {},
                },
                "authorization": {"mode": "AlwaysAllow"},
                "nodeStatusUpdateFrequency": "5s",
                "serializeImagePulls": False,
                "protectKernelDefaults": False,
                "shutdownGracePeriod": "0s",
                "maxPods": 60,
            },
            indent=1,
        )
    )
    (conf / "kube-proxy.json").write_text(
        json.dumps(
            {
                "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                "kind": "KubeProxyConfiguration",
                "clientConnection": {"kubeconfig": str(RUN / "kubeconfig" / "kube-proxy")},
                "mode": "iptables",
                "hostnameOverride": NODE_NAME,
                "bindAddress": NODE_IP,
                "clusterCIDR": POD_CIDR,
                "healthzBindAddress": "127.0.0.1:10256",
                "metricsBindAddress": "127.0.0.1:10249",
                "nodePortAddresses": [f"{NODE_IP}/32"],
                "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
            },
            indent=1,
        )
    )
    reg = registry_dir()
    (conf / "registry.yml").write_text(f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {reg / "data"}
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {REGISTRY}
  # Ollama's pull wants a blob GET to redirect (ollama/ollama#7244); "?" is the same URL.
  headers:
    Location: ["?"]
  tls:
    certificate: {RUN / "pki" / "registry.crt"}
    key: {RUN / "pki" / "registry.key"}
  debug:
    addr: ""
""")


# --- Start -----------------------------------------------------------------------------


def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cbin, _ = bin_dirs()
    kc = ["--kubeconfig", str(RUN / "kubeconfig" / "admin"), "--cache-dir", str(RUN / "kube-cache")]
    return run(*in_netns(str(cbin / "kubectl"), *kc, *args), check=check)


def apiserver_ready() -> bool:
    # The apiserver answers only inside the namespace: ask through kubectl there.
    return kubectl("get", "--raw", "/readyz", check=False).returncode == 0


def node_ready() -> bool:
    out = kubectl("get", "node", NODE_NAME, "-o", "json", check=False)
    if out.returncode:
        return False
    conds = json.loads(out.stdout).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def make_netns() -> None:
    if Path(f"/run/netns/{NETNS}").exists():
        return
    state = RUN / "host"
    state.mkdir(parents=True, exist_ok=True)
    if not (state / "run-netns.json").exists():
        (state / "run-netns.json").write_text(
            json.dumps({"existed": os.path.isdir("/run/netns"), "mountpoint": is_mountpoint("/run/netns")})
        )
    run("ip", "netns", "add", NETNS)
    ns = ["ip", "-n", NETNS]
    run(*ns, "link", "set", "lo", "up")
    # The node address: on one end of a veth pair whose both ends stay in the namespace.
    run(*ns, "link", "add", "node0", "type", "veth", "peer", "name", "node0-peer")
    run(*ns, "addr", "add", f"{NODE_IP}/32", "dev", "node0")
    run(*ns, "link", "set", "node0-peer", "up")
    run(*ns, "link", "set", "node0", "up")
    # Services: local processes (the API server calling webhooks, kubectl, tests) need a route
    # for the service range before kube-proxy's DNAT; it goes nowhere but this namespace.
    run(*ns, "route", "add", SERVICE_CIDR, "dev", "node0", "src", NODE_IP)


def local_image(tar: Path, image: str, files: dict[str, Path], entrypoint: str) -> Path:
    """IMAGE made of FILES (path in the image: the host's file) with `docker import` and saved to
    TAR for the node's containerd; TAR is the cache."""
    if tar.exists():
        return tar
    run("bash", str(HERE / "dockerd.sh"))
    work = Path(tempfile.mkdtemp(prefix="cluster-image-"))
    layer = work / "layer.tar"
    with tarfile.open(layer, "w") as out:
        dirs = sorted({str(parent) for path in files for parent in Path(path).parents if str(parent) != "."})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            out.addfile(info)
        for path, src in sorted(files.items()):
            out.add(os.path.realpath(src), arcname=path)
    run("docker", "import", "-c", f'ENTRYPOINT ["/{entrypoint}"]', str(layer), image)
    run("docker", "save", "-o", f"{tar}.tmp", image)
    os.replace(f"{tar}.tmp", tar)
    shutil.rmtree(work)
    return tar


def pause_image(cbin: Path) -> Path:
    return local_image(TOOLS / "cluster-pause.tar", PAUSE_IMAGE, {"pause": cbin / "pause"}, "pause")


def coredns_image(cbin: Path) -> tuple[str, Path]:
    """CoreDNS (built with cgo: dynamically linked) and the libraries it loads, at their paths."""
    binary = Path(os.path.realpath(cbin / "coredns"))
    image = f"modelapi.local/coredns:{binary.parent.name.removeprefix('coredns-')}"
    files = {"coredns": binary}
    for line in run("ldd", str(binary)).stdout.splitlines():
        lib = line.split("=>")[-1].split("(")[0].strip()
        if lib.startswith("/"):
            files[lib.lstrip("/")] = Path(lib)
    tar = TOOLS / f"cluster-{image.rsplit('/', 1)[-1].replace(':', '-')}.tar"
    return image, local_image(tar, image, files, "coredns")


def import_tar(image: str, tar: Path) -> str:
    if image not in ctr("images", "ls", "-q").stdout.split():
        ctr("images", "import", str(tar))
    return image


def ctr(*args: str, **kw: Any) -> subprocess.CompletedProcess:
    return run("ctr", "--address", str(RUN / "containerd" / "containerd.sock"), "-n", "k8s.io", *args, **kw)


def import_images(images: list[str]) -> None:
    """Docker images into the node's containerd, unless it has them (by image ID)."""
    have = ctr("images", "ls").stdout
    for image in images:
        image_id = run("docker", "image", "inspect", "-f", "{{.Id}}", image).stdout.strip()
        name = image if "/" in image.split(":")[0] or "." in image.split("/")[0] else f"docker.io/library/{image}"
        line = next((ln for ln in have.splitlines() if ln.split()[:1] == [name]), "")
        # ctr lists the manifest digest, not the config digest: compare through a label.
        if line and f"modelapi.image-id={image_id}" in ctr("images", "ls", f"name=={name}").stdout:
            continue
        proc = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        ctr("images", "import", "-", stdin=proc.stdout)
        proc.wait()
        ctr("images", "label", name, f"modelapi.image-id={image_id}")
        log(f"imported {image}")


# --- Cluster DNS and the NetworkPolicy engine --------------------------------------------

DNS_LABELS = {"k8s-app": "kube-dns"}  # what clusters' DNS pods carry; the function's egress.dns default
COREFILE = """.:53 {
    errors
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig /etc/coredns/kubeconfig modelapi
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
"""


def dns_objects(image: str) -> list[dict]:
    """CoreDNS in a pod of kube-system behind the kube-dns Service: a NetworkPolicy admits DNS by
    selecting pods (a process on the node is no pod, and no policy could name it but by address)."""
    ns = "kube-system"
    kubeconfig = (RUN / "kubeconfig" / "coredns").read_text()
    container = {
        "name": "coredns",
        "image": image,
        "imagePullPolicy": "Never",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 1},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
    }
    config = [{"configMap": {"name": "coredns"}}, {"secret": {"name": "coredns-kubeconfig"}}]
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", "namespace": ns},
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "coredns-kubeconfig", "namespace": ns},
            "stringData": {"kubeconfig": kubeconfig},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": ns, "labels": DNS_LABELS},
            "spec": {
                "selector": {"matchLabels": DNS_LABELS},
                "template": {
                    "metadata": {"labels": DNS_LABELS},
                    "spec": {
                        "dnsPolicy": "Default",
                        "priorityClassName": "system-cluster-critical",
                        "containers": [container],
                        "volumes": [{"name": "config", "projected": {"sources": config}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": ns, "labels": DNS_LABELS},
            "spec": {
                "clusterIP": KUBE_DNS_IP,
                "selector": DNS_LABELS,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                ],
            },
        },
    ]


NETWORK_POLICY_RBAC = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "kube-network-policies"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "kube-network-policies"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kube-network-policies"},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USERS["kube-network-policies"][0]}
        ],
    },
]
# v0.8.0 reads only the in-cluster configuration: the token and CA where a pod has them. A mount
# namespace of its own, with a tmpfs on /run, gives it that path without touching the host's.
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IN_CLUSTER = 'mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -p "$2"; cp "$1/token" "$1/ca.crt" "$2"; shift 2; exec "$@"'


# Where packets reach the engine. Its own nftables table sends them to its queue with nftables'
# queue expression, which this kernel lacks (CONFIG_NFT_QUEUE unset: the flush of its table fails
# and it logs so); the xtables NFQUEUE target (iptables-nft, through nft_compat) is there. So the
# cluster hooks them as its table would: after DNAT, before SNAT; replies pass, so do the node's
# own (root's: the kubelet's probes); every new connection from or to a pod waits for a verdict.
# A pod's packets to the node's own addresses (the API server, the registry) take no POSTROUTING
# and are not judged, as with its table (whose DNS hook in PREROUTING, a workaround for kernels
# before 6.12, is not needed here). No bypass: without the engine, pods' new connections drop,
# as with its own default.
NETWORK_POLICY_CHAIN = "MODELAPI-NETWORK-POLICIES"
NETWORK_POLICY_HOOKS = (
    ("-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"),
    ("-m", "owner", "--uid-owner", "0", "-j", "RETURN"),
    ("-s", POD_CIDR, "-j", "NFQUEUE", "--queue-num", NETWORK_POLICY_QUEUE),
    ("-d", POD_CIDR, "-j", "NFQUEUE", "--queue-num", NETWORK_POLICY_QUEUE),
)


def mangle(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(*in_netns("iptables", "-w", "-t", "mangle", *args), check=check)


def start_network_policies(cbin: Path) -> None:
    """The NetworkPolicy engine: kube-network-policies, the one kind's kindnet embeds, built from
    its Go module as the other components are (kube-router v2.1.0, the other engine served here,
    has reported security flaws). It reads pods, namespaces and NetworkPolicies and gives each
    packet queued to it a verdict: dropped where a policy selects the pod and no rule admits it."""
    apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": NETWORK_POLICY_RBAC}))
    account = RUN / "kube-network-policies"
    account.mkdir(exist_ok=True)
    kubeconfig = json.loads((RUN / "kubeconfig" / "kube-network-policies").read_text())
    (account / "token").write_text(kubeconfig["users"][0]["user"]["token"])
    shutil.copy(RUN / "pki" / "ca.crt", account / "ca.crt")
    spawn(
        "kube-network-policies",
        [
            *("unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", IN_CLUSTER, "sh"),
            *(str(account), SERVICE_ACCOUNT_DIR),
            str(cbin / "kube-network-policies"),
            f"--hostname-override={NODE_NAME}",
            "--metrics-bind-address=127.0.0.1:9080",
            "--v=1",
        ],
        env={"KUBERNETES_SERVICE_HOST": NODE_IP, "KUBERNETES_SERVICE_PORT": "6443"},
    )
    # It takes its queue once its caches are synced (its identity can list what it needs): only
    # then do packets go there.
    wait(queue_bound, 60, "the NetworkPolicy engine on its queue", "kube-network-policies")
    mangle("-N", NETWORK_POLICY_CHAIN)
    for rule in NETWORK_POLICY_HOOKS:
        mangle("-A", NETWORK_POLICY_CHAIN, *rule)
    mangle("-A", "POSTROUTING", "-j", NETWORK_POLICY_CHAIN)


def queue_bound() -> bool:
    """Whether a process listens on the engine's queue, in the cluster's network namespace."""
    out = run(*in_netns("cat", "/proc/net/netfilter/nfnetlink_queue"), check=False).stdout
    return any(line.split()[:1] == [NETWORK_POLICY_QUEUE] for line in out.splitlines())


def start_addons(cbin: Path, dns_image: str) -> None:
    """The NetworkPolicy engine first (unless turned off), so that no pod runs unpoliced; the DNS."""
    if ENFORCE_NETWORK_POLICIES:
        start_network_policies(cbin)
    apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": dns_objects(dns_image)}))


def network_policy_table() -> bool:
    if not Path(f"/run/netns/{NETNS}").exists():
        return False
    return run(*in_netns("nft", "list", "table", *NETWORK_POLICY_TABLE), check=False).returncode == 0


def stop_network_policies() -> list[str]:
    """The hooks first; then the engine with SIGINT, the one signal on which it removes its table
    (SIGTERM ends it at once); a table an engine killed before its cleanup left is deleted here."""
    if hooked():
        mangle("-D", "POSTROUTING", "-j", NETWORK_POLICY_CHAIN, check=False)
        mangle("-F", NETWORK_POLICY_CHAIN, check=False)
        mangle("-X", NETWORK_POLICY_CHAIN, check=False)
    pid = pid_of("kube-network-policies")
    if pid:
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and network_policy_table():
            time.sleep(0.1)
        kill(pid, grace=2)  # it sleeps 5 s after its cleanup
    if network_policy_table():
        log("the NetworkPolicy engine left its nftables table: deleting it")
        run(*in_netns("nft", "delete", "table", *NETWORK_POLICY_TABLE), check=False)
    left = [f"nftables table {' '.join(NETWORK_POLICY_TABLE)}"] if network_policy_table() else []
    left += [f"iptables chain mangle {NETWORK_POLICY_CHAIN}"] if hooked() else []
    return [f"{what} is left in {NETNS}" for what in left]


def hooked() -> bool:
    return Path(f"/run/netns/{NETNS}").exists() and mangle("-S", NETWORK_POLICY_CHAIN, check=False).returncode == 0


def start() -> None:
    cbin, pbin = bin_dirs()
    for d, names in (
        (
            cbin,
            (
                "kubelet",
                "kube-controller-manager",
                "kube-scheduler",
                "kube-proxy",
                "kubectl",
                "coredns",
                "kube-network-policies",
                "crictl",
                "pause",
            ),
        ),
        (pbin, ("etcd", "kube-apiserver")),
    ):
        for n in names:
            if not os.access(d / n, os.X_OK):
                raise SystemExit(
                    f"cluster: {d / n} is missing: run hack/install-cluster.sh and install-controlplane.sh"
                )
    registry_bin = Path(run("bash", str(HERE / "install-registry.sh")).stdout.strip().splitlines()[-1])
    registry_was_up = run("bash", str(HERE / "registry.sh"), "address", check=False).returncode == 0
    run("bash", str(HERE / "registry.sh"), "start")  # makes the registry CA; pushes go to it
    if holder_pid() and node_ready():
        print(RUN / "kubeconfig" / "admin")
        return
    if holder_pid() or Path(f"/run/netns/{NETNS}").exists():
        log("a partial cluster is here: stopping it first")
        stop()
    t0 = time.monotonic()
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "pids").mkdir(exist_ok=True)
    host = RUN / "host"
    host.mkdir(exist_ok=True)
    (host / "sysctls.json").write_text(json.dumps(read_sysctls()))
    (host / "cgroups.json").write_text(json.dumps(cgroup_dirs()))
    (host / "var-lib-cni.json").write_text(json.dumps(os.path.exists("/var/lib/cni")))
    if not registry_was_up:
        (host / "stop-registry").write_text("")
    make_netns()
    # The holder: a mount namespace of its own (slave: host mounts reach it, its mounts stay in it)
    # in the cluster's network namespace. Not `ip netns exec`: its fresh /sys hides the cgroup mounts.
    holder = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--propagation",
            "slave",
            "--",
            "nsenter",
            f"--net=/run/netns/{NETNS}",
            "--",
            "sleep",
            "infinity",
        ],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (RUN / "pids" / "holder").write_text(str(holder.pid))
    pki = RUN / "pki"
    make_pki(pki)
    make_auth(pki)
    write_configs(cbin)
    kc = RUN / "kubeconfig"

    spawn(
        "etcd",
        [
            str(pbin / "etcd"),
            "--name=node",
            f"--data-dir={RUN / 'etcd'}",
            "--listen-client-urls=http://127.0.0.1:2379",
            "--advertise-client-urls=http://127.0.0.1:2379",
            "--listen-peer-urls=http://127.0.0.1:2380",
            "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=node=http://127.0.0.1:2380",
            "--listen-metrics-urls=http://127.0.0.1:2381",
            "--log-level=warn",
            "--quota-backend-bytes=4294967296",
        ],
    )
    spawn(
        "kube-apiserver",
        [
            str(pbin / "kube-apiserver"),
            "--etcd-servers=http://127.0.0.1:2379",
            "--bind-address=0.0.0.0",
            "--secure-port=6443",
            f"--advertise-address={NODE_IP}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
            "--v=1",
        ],
    )
    wait(apiserver_ready, 90, "kube-apiserver /readyz", "kube-apiserver")
    log(f"kube-apiserver ready after {time.monotonic() - t0:.1f} s")
    spawn(
        "kube-controller-manager",
        [
            str(cbin / "kube-controller-manager"),
            f"--kubeconfig={kc / 'kube-controller-manager'}",
            f"--authentication-kubeconfig={kc / 'kube-controller-manager'}",
            f"--authorization-kubeconfig={kc / 'kube-controller-manager'}",
            "--controllers=*,-nodeipam",
            "--allocate-node-cidrs=false",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            "--use-service-account-credentials=false",
            "--bind-address=127.0.0.1",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--v=1",
        ],
    )
    spawn(
        "kube-scheduler",
        [
            str(cbin / "kube-scheduler"),
            f"--kubeconfig={kc / 'kube-scheduler'}",
            f"--authentication-kubeconfig={kc / 'kube-scheduler'}",
            f"--authorization-kubeconfig={kc / 'kube-scheduler'}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--v=1",
        ],
    )
    (RUN / "containerd").mkdir(exist_ok=True)
    spawn("containerd", ["containerd", "--config", str(RUN / "conf" / "containerd.toml")])
    wait(lambda: ctr("version", check=False).returncode == 0, 30, "containerd", "containerd")
    import_tar(PAUSE_IMAGE, pause_image(cbin))
    dns_image = import_tar(*coredns_image(cbin))
    spawn(
        "kubelet",
        [
            str(cbin / "kubelet"),
            f"--config={RUN / 'conf' / 'kubelet.json'}",
            f"--kubeconfig={kc / 'kubelet'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            f"--root-dir={RUN / 'kubelet'}",
            f"--cert-dir={RUN / 'kubelet-pki'}",
            "--v=1",
        ],
    )
    spawn("kube-proxy", [str(cbin / "kube-proxy"), f"--config={RUN / 'conf' / 'kube-proxy.json'}", "--v=1"])
    start_addons(cbin, dns_image)
    spawn(
        "registry",
        [str(registry_bin), "serve", str(RUN / "conf" / "registry.yml")],
        env={"OTEL_TRACES_EXPORTER": "none"},
    )
    wait(node_ready, 90, "the node to be Ready", "kubelet")
    log(f"node Ready after {time.monotonic() - t0:.1f} s")
    wait(
        lambda: kubectl("get", "serviceaccount", "default", check=False).returncode == 0,
        60,
        "the default ServiceAccount",
        "kube-controller-manager",
    )
    wait(lambda: condition_true("deployment", "coredns", "Available", "kube-system"), 120, "the cluster DNS")
    log(f"cluster up in {time.monotonic() - t0:.1f} s (logs: {RUN / 'logs'})")
    print(kc / "admin")


# --- Stop --------------------------------------------------------------------------------


def netns_pids(holder: int) -> list[int]:
    """Processes in the holder's mount namespace (ours: components, shims, containers' parents)."""
    try:
        mnt = os.readlink(f"/proc/{holder}/ns/mnt")
    except OSError:
        return []
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) != holder:
            try:
                if os.readlink(p / "ns" / "mnt") == mnt:
                    found.append(int(p.name))
            except OSError:
                pass
    return found


def stop() -> None:  # noqa: PLR0912, PLR0915 (one step per piece of host state)
    t0 = time.monotonic()
    problems: list[str] = []
    cbin, _ = bin_dirs()
    holder = holder_pid()
    kill(*filter(None, map(pid_of, ("kube-controller-manager", "kube-scheduler", "registry", "kubelet"))))
    sock = RUN / "containerd" / "containerd.sock"
    if pid_of("containerd") and sock.exists():
        # Pods through the CRI, so that the CNI tears their network down (and their namespaces).
        crictl = [str(cbin / "crictl"), f"--runtime-endpoint=unix://{sock}", "--timeout=30s"]
        out = run(*in_netns(*crictl, "pods", "-q"), check=False)
        for pod in out.stdout.split():
            run(*in_netns(*crictl, "stopp", pod), check=False)
            run(*in_netns(*crictl, "rmp", "-f", pod), check=False)
        log(f"pods removed after {time.monotonic() - t0:.1f} s")
    problems += stop_network_policies()
    kill(*filter(None, map(pid_of, ("kube-proxy", "containerd"))))
    kill(*filter(None, map(pid_of, ("kube-apiserver", "etcd"))))
    log(f"processes stopped after {time.monotonic() - t0:.1f} s")
    if holder:
        leftovers = netns_pids(holder)
        if leftovers:
            log(f"stopping leftover processes of the cluster's namespaces: {leftovers}")
            kill(*leftovers, grace=3)
        kill(holder, grace=3)
    if Path(f"/run/netns/{NETNS}").exists():
        r = run("ip", "netns", "del", NETNS, check=False)
        if r.returncode:
            problems.append(f"ip netns del {NETNS}: {r.stderr.strip()}")
    host = RUN / "host"
    if (host / "sysctls.json").exists():
        problems += restore_sysctls(json.loads((host / "sysctls.json").read_text()))
    if (host / "cgroups.json").exists():
        before = set(json.loads((host / "cgroups.json").read_text()))
        for d in cgroup_dirs():
            if d not in before:
                remove_cgroup_tree(Path(d))
                if os.path.exists(d):
                    problems.append(f"cgroup {d} is left (not empty)")
    if (host / "var-lib-cni.json").exists() and not json.loads((host / "var-lib-cni.json").read_text()):
        shutil.rmtree("/var/lib/cni", ignore_errors=True)
    if (host / "stop-registry").exists():
        run("bash", str(HERE / "registry.sh"), "stop", check=False)
    if (host / "run-netns.json").exists():
        was = json.loads((host / "run-netns.json").read_text())
        if os.path.isdir("/run/netns") and not os.listdir("/run/netns"):
            if not was["mountpoint"] and is_mountpoint("/run/netns"):
                run("umount", "/run/netns", check=False)
            if not was["existed"]:
                os.rmdir("/run/netns")
    for p in RUN.iterdir() if RUN.exists() else []:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()
    if problems:
        raise SystemExit("cluster: stopped, but:\n" + "\n".join(problems))
    log(f"stopped in {time.monotonic() - t0:.1f} s; host settings restored")


def status() -> int:
    rc = 0
    for name in ("holder", *ORDER):
        pid = pid_of(name)
        print(f"{name:26} {'running ' + str(pid) if pid else 'not running'}")
        if not pid and (RUN / "pids" / name).exists():
            rc = 1
    if not holder_pid():
        print("no cluster")
        return 1
    ready = node_ready()
    print(f"node {NODE_NAME}: {'Ready' if ready else 'not Ready'}")
    print(f"kubeconfig: {RUN / 'kubeconfig' / 'admin'} (inside the namespace {NETNS})")
    return rc if ready else 1


# --- Crossplane and the function, as users install them ---------------------------------

CROSSPLANE_NS = "crossplane-system"
FUNCTION = "function-modelapi"


def apply(text: str, *extra: str) -> None:
    cbin, _ = bin_dirs()
    run(
        *in_netns(
            str(cbin / "kubectl"),
            "--kubeconfig",
            str(RUN / "kubeconfig" / "admin"),
            "--cache-dir",
            str(RUN / "kube-cache"),
            "apply",
            *extra,
            "-f",
            "-",
        ),
        input=text,
    )


def condition_true(kind: str, name: str, cond: str, ns: str | None = None) -> bool:
    args = ["get", kind, name, "-o", "json"] + (["-n", ns] if ns else [])
    out = kubectl(*args, check=False)
    if out.returncode:
        return False
    conds = json.loads(out.stdout).get("status", {}).get("conditions", [])
    return any(c["type"] == cond and c["status"] == "True" for c in conds)


def install_crossplane() -> None:
    t0 = time.monotonic()
    root = HERE.parent
    cbin, _ = bin_dirs()
    images = run("bash", str(HERE / "build-cluster-images.sh")).stdout.split()
    crossplane_image, litellm_image, backend_image, ollama_image, front_image = images[-5:]
    runtime_image = run("bash", str(HERE / "build-image.sh")).stdout.split()[-1]
    import_images([crossplane_image, litellm_image, backend_image, ollama_image, front_image])
    log(f"images in the node after {time.monotonic() - t0:.1f} s")
    _, plane = bin_dirs()
    chart = plane / "chart"  # the chart of the core the image runs (hack/install-controlplane.sh)
    if not condition_true("deployment", "crossplane", "Available", CROSSPLANE_NS):
        kubectl("create", "namespace", CROSSPLANE_NS, check=False)
        ca = (registry_dir() / "ca.crt").read_text()
        apply(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "registry-ca", "namespace": CROSSPLANE_NS},
                    "data": {"ca.crt": ca},
                }
            )
        )
        repo, tag = crossplane_image.rsplit(":", 1)
        helm_home = RUN / "helm"
        env = {
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data"),
        }
        helm = [str(cbin / "helm"), "--kubeconfig", str(RUN / "kubeconfig" / "admin"), "--namespace", CROSSPLANE_NS]
        state = run(*in_netns(*helm, "status", "crossplane", "-o", "json"), check=False, env={**os.environ, **env})
        if state.returncode == 0 and json.loads(state.stdout)["info"]["status"].startswith("pending"):
            log("an interrupted helm operation: uninstalling the release first")
            run(*in_netns(*helm, "uninstall", "crossplane"), env={**os.environ, **env})
        run(
            *in_netns(
                str(cbin / "helm"),
                "--kubeconfig",
                str(RUN / "kubeconfig" / "admin"),
                "upgrade",
                "--install",
                "crossplane",
                str(chart),
                "--namespace",
                CROSSPLANE_NS,
                "--set",
                f"image.repository={repo}",
                "--set",
                f"image.tag={tag}",
                "--set",
                "image.pullPolicy=Never",
                "--set",
                "registryCaBundleConfig.name=registry-ca",
                "--set",
                "registryCaBundleConfig.key=ca.crt",
                "--set",
                "args={--debug}",
                "--wait",
                "--timeout",
                "5m",
            ),
            env={**os.environ, **env},
        )
        log(f"crossplane installed after {time.monotonic() - t0:.1f} s")
    pushed = run("bash", str(HERE / "push-package.sh")).stdout.split()[-1]
    package = REGISTRY + pushed[pushed.index("/") :]
    apply(
        json.dumps(
            {
                "apiVersion": "pkg.crossplane.io/v1",
                "kind": "Function",
                "metadata": {"name": FUNCTION},
                "spec": {"package": package},
            }
        )
    )
    wait(lambda: condition_true("function.pkg.crossplane.io", FUNCTION, "Healthy"), 300, f"Function {FUNCTION} Healthy")
    log(f"function {package} Healthy after {time.monotonic() - t0:.1f} s")
    for f in ("install/rbac.yaml", "xrds/modelapi.yaml", "compositions/modelapi.yaml"):
        apply((root / f).read_text(), "--server-side")
    wait(lambda: condition_true("xrd", "modelapis.ethical.institute", "Established"), 120, "the XRD Established")
    log(f"Crossplane, the function and the ModelAPI API installed in {time.monotonic() - t0:.1f} s")
    print(
        json.dumps(
            {
                "crossplane": crossplane_image,
                "litellm": litellm_image,
                "backend": backend_image,
                "ollama": ollama_image,
                "front": front_image,
                "runtime": runtime_image,
                "package": package,
            }
        )
    )


def main(argv: list[str]) -> int:
    if os.geteuid() != 0:
        raise SystemExit("cluster: needs root (network namespaces, containerd, kubelet)")
    cmd = argv[0] if argv else "status"
    if cmd == "start":
        start()
    elif cmd == "stop":
        stop()
    elif cmd == "status":
        return status()
    elif cmd == "env":
        print(f"export KUBECONFIG={RUN / 'kubeconfig' / 'admin'}")
        print(f"export MODELAPI_CLUSTER_NETNS={NETNS}")
        print(f"export MODELAPI_CLUSTER_REGISTRY={REGISTRY}")
    elif cmd == "exec":
        cbin, _ = bin_dirs()
        env = {
            **os.environ,
            "KUBECONFIG": str(RUN / "kubeconfig" / "admin"),
            "KUBECACHEDIR": str(RUN / "kube-cache"),  # this cluster's discovery, gone at the stop
            "PATH": f"{cbin}:{os.environ['PATH']}",
        }
        os.execvpe("nsenter", in_netns(*argv[1:]), env)  # noqa: S606
    elif cmd == "import":
        import_images(argv[1:])
    elif cmd == "crossplane":
        install_crossplane()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
