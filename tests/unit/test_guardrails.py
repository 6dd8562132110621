"""The platform's guardrails in the function input: where a Proxy may connect, which models a
team may use, how much a Hosted pod may take, which env vars a team may not set. Each refusal
is a fatal result naming the field and the bound; each bound is off unless set, except the
metadata addresses, which are refused always."""

import ipaddress

import kubernetes_validate
import pytest
from hypothesis import given
from hypothesis import strategies as st

from function import guardrails, names
from function.compose import compose
from function.spec import parse_input
from tests.support.builders import HOSTED, PROXY, refusal, with_, xr

CONFIG = (
    "model_list:\n"
    "- model_name: fast\n  litellm_params: {model: ollama/smollm2:135m, api_base: 'http://ollama.ollama.svc:11434'}\n"
    "- model_name: smart\n  litellm_params: {model: azure/gpt-4, api_base: 'https://team.openai.azure.com'}\n"
)
EGRESS = {"egress": {"allowedHosts": ["ollama.ollama.svc:11434", "*.openai.azure.com", "10.0.0.0/8"]}}


def api_base(url: str) -> dict:
    return with_(PROXY, "proxyConfig.apiBase", url)


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("http://ollama.ollama.svc:11434", EGRESS),  # a host and its port
        ("https://team.openai.azure.com", EGRESS),  # a suffix
        ("http://10.1.2.3:8000/v1", EGRESS),  # a CIDR, for a literal IP
        ("http://OLLAMA.ollama.svc.:11434", EGRESS),  # as DNS reads it: case and a trailing dot
        ("https://api.openai.com", None),  # no list: today's behaviour
        ("http://169.254.169.254", {"egress": {"allowedHosts": ["169.254.169.254"]}}),  # listed itself
        ("http://169.254.10.1", {"egress": {"allowedHosts": ["169.254.10.0/24"]}}),
    ],
)
def test_a_backend_the_platform_allows_is_composed(url, platform):
    assert refusal(api_base(url), platform) is None


@pytest.mark.parametrize(
    ("url", "platform", "message"),
    [
        (
            "http://ollama.ollama.svc:8080",
            EGRESS,
            "spec.proxyConfig.apiBase: ollama.ollama.svc:8080 is not a backend this platform allows "
            "(egress.allowedHosts: ollama.ollama.svc:11434, *.openai.azure.com, 10.0.0.0/8)",
        ),
        ("https://openai.azure.com", EGRESS, "spec.proxyConfig.apiBase: openai.azure.com:443 is not a backend"),
        ("https://evil.com/.openai.azure.com", EGRESS, "spec.proxyConfig.apiBase: evil.com:443 is not a backend"),
        ("http://11.0.0.1", EGRESS, "spec.proxyConfig.apiBase: 11.0.0.1:80 is not a backend"),
        ("http://kubernetes.default.svc", EGRESS, "spec.proxyConfig.apiBase: kubernetes.default.svc:80 is not"),
    ],
)
def test_a_backend_the_platform_does_not_list_is_refused_naming_the_field_and_the_list(url, platform, message):
    assert (refusal(api_base(url), platform) or "").startswith(message)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]:8080/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",  # 169.254.169.254 as libc reads a bare number
        "http://0xa9fea9fe/",
        "http://169.254.43518/",
        "http://100.100.100.200/",
    ],
)
@pytest.mark.parametrize("platform", [None, EGRESS, {"egress": {"allowedHosts": ["0.0.0.0/0", "::/0", "*.internal"]}}])
def test_a_metadata_address_is_refused_always_unless_listed_itself(url, platform):
    message = refusal(api_base(url), platform) or ""
    assert message.startswith("spec.proxyConfig.apiBase: "), message
    assert "link-local or cloud metadata address" in message


def test_each_configyaml_api_base_is_checked_naming_its_entry():
    spec = {"mode": "Proxy", "proxyConfig": {"configYaml": CONFIG}}
    assert refusal(spec, EGRESS) is None
    narrow = {"egress": {"allowedHosts": ["ollama.ollama.svc:11434"]}}
    assert (refusal(spec, narrow) or "").startswith(
        "spec.proxyConfig.configYaml: model_list[1].litellm_params.api_base: team.openai.azure.com:443 is not a backend"
    )


@pytest.mark.parametrize("api_base", ["A://:;", "http://ollama:99999", "http://ollama:port"])
def test_a_configyaml_api_base_whose_port_is_no_number_is_refused_naming_its_entry(api_base):
    """Found by the property tests: urlsplit's port raised out of the check (an internal error).
    The URL is not quoted back: it may carry a password."""
    config = f"model_list:\n- model_name: a\n  litellm_params: {{model: ollama/a, api_base: '{api_base}'}}\n"
    assert refusal({"mode": "Proxy", "proxyConfig": {"configYaml": config}}, None) == (
        "spec.proxyConfig.configYaml: model_list[0].litellm_params.api_base: not a URL with a host and a port "
        "of 1-65535"
    )


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("x y", "not a host such as api.openai.com, *.openai.azure.com or 10.0.0.0/8"),
        ("http://x", "not a"),
        ("a b", "not a host such as"),
        ("*", "not a host such as"),
        ("10.0.0.0/33", "not a CIDR such as 10.0.0.0/8"),
        ("10.0.0.0/8:x", "not a CIDR such as 10.0.0.0/8"),
        ("host:99999", "the port must be 1-65535"),
        ("host:0", "the port must be 1-65535"),
        ("[fd00::1]:65536", "the port must be 1-65535"),
    ],
)
def test_an_allowed_host_that_is_no_host_is_refused_naming_the_input_field(entry, why):
    message = refusal(PROXY, {"egress": {"allowedHosts": [entry]}}) or ""
    assert message.startswith(f"function input input.egress.allowedHosts[0]: {entry}: {why}"), message


@pytest.mark.parametrize(
    "entry",
    [
        "ollama.ollama.svc",
        "Ollama.Ollama.SVC:11434",
        "*.openai.azure.com:443",
        "host:1",
        "host:65535",
        "10.0.0.0/8",
        "10.1.2.3/8:11434",  # a CIDR's host bits are ignored, as a NetworkPolicy's ipBlock takes it
        "fd00::/8",
        "[fd00::1]",
        "[fd00::1]:11434",
    ],
)
def test_an_allowed_host_in_any_form_the_readme_gives_is_taken(entry):
    assert parse_input({"egress": {"allowedHosts": [entry]}}).egress.allowedHosts == [entry]


MODELS = {"models": {"allowed": ["smollm2:*", "llama3.1:*", "hf.co/our-org/*"]}}


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        (HOSTED, None),
        (with_(HOSTED, "serverConfig.model", "hf.co/our-org/model:Q4_K_M"), None),
        (
            with_(HOSTED, "serverConfig.model", "llama3.1:405b"),
            None,
        ),
        (
            with_(HOSTED, "serverConfig.model", "deepseek-r1:671b"),
            "spec.serverConfig.model: deepseek-r1:671b is not a model this platform allows "
            "(models.allowed: smollm2:*, llama3.1:*, hf.co/our-org/*)",
        ),
        (with_(PROXY, "proxyConfig.model", "gpt-4o"), "spec.proxyConfig.model: gpt-4o is not a model"),
        # A wildcard proxy serves whatever a caller names.
        (PROXY, "spec.proxyConfig.model: a proxy without model serves whatever model a caller names"),
    ],
)
def test_a_model_outside_the_allowed_patterns_is_refused_naming_the_field(spec, refused):
    message = refusal(spec, MODELS)
    assert (message or "").startswith(refused) if refused else message is None


LIMITS = {"limits": {"max": {"memory": "16Gi", "nvidia.com/gpu": 1}}}


def test_resources_past_the_platforms_most_are_refused_naming_the_field_and_the_bound():
    spec = with_(HOSTED, "serverConfig.resources", {"limits": {"memory": "32Gi"}})
    assert refusal(spec, LIMITS) == (
        "spec.serverConfig.resources.limits['memory']: 32Gi is more than this platform allows (16Gi, limits.max)"
    )
    gpus = {"requests": {"nvidia.com/gpu": 2}, "limits": {"nvidia.com/gpu": 2}}
    assert (refusal(with_(HOSTED, "serverConfig.resources", gpus), LIMITS) or "").startswith(
        "spec.serverConfig.resources.requests['nvidia.com/gpu']: 2 is more than this platform allows (1, limits.max)"
    )


def container_resources(spec: dict, platform: dict) -> dict:
    out = compose(xr(spec), platform, {})
    return out.resources["deployment"]["spec"]["template"]["spec"]["containers"][0].get("resources", {})


def test_no_pod_runs_unbounded_where_the_platform_sets_bounds():
    """The default where the spec sets none, and each bounded resource limited at the most."""
    platform = {"limits": {**LIMITS["limits"], "default": {"requests": {"memory": "1Gi"}}}}
    assert container_resources(HOSTED, platform) == {"limits": {"memory": "16Gi"}, "requests": {"memory": "1Gi"}}
    own = with_(HOSTED, "serverConfig.resources", {"limits": {"memory": "4Gi"}})
    assert container_resources(own, platform) == {"limits": {"memory": "4Gi"}}  # no GPU: a GPU limit asks for one
    assert container_resources(HOSTED, {}) == {}  # no bounds: as today


ENV = {"env": {"denied": ["HTTPS_PROXY", "LITELLM_*", "OLLAMA_DEBUG"]}}


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "value": "1"}, {"name": "LITELLM_LOG", "value": "DEBUG"}]),
            "spec.proxyConfig.env[1].name: LITELLM_LOG is not allowed on this platform (env.denied: LITELLM_*)",
        ),
        (
            with_(HOSTED, "serverConfig.env", [{"name": "HTTPS_PROXY", "value": "http://p:3128"}]),
            "spec.serverConfig.env[0].name: HTTPS_PROXY is not allowed on this platform (env.denied: HTTPS_PROXY)",
        ),
        (
            {"mode": "Proxy", "proxyConfig": {"configYaml": CONFIG + "environment_variables: {HTTPS_PROXY: x}\n"}},
            "spec.proxyConfig.configYaml: environment_variables.HTTPS_PROXY: HTTPS_PROXY is not allowed",
        ),
        # A name, not a prefix: not denied, but not a variable a guarded proxy is given either.
        (
            with_(PROXY, "proxyConfig.env", [{"name": "HTTPS_PROXY_X", "value": "1"}]),
            "spec.proxyConfig.env[0].name: HTTPS_PROXY_X is not a variable a proxy may be given",
        ),
    ],
)
def test_a_denied_env_var_is_refused_naming_the_entry(spec, refused):
    message = refusal(spec, ENV)
    assert (message or "").startswith(refused) if refused else message is None


# --------------------------------------------------------------------------------------------
# The property: no list of allowed hosts lets a host through that it does not name
# --------------------------------------------------------------------------------------------

LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,7}[a-z0-9])?", fullmatch=True)
HOSTS = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
ENTRIES = st.one_of(
    HOSTS,
    HOSTS.map(lambda h: "*." + h),
    st.builds(lambda h, p: f"{h}:{p}", HOSTS, st.integers(1, 65535)),
    st.builds(lambda a, n: f"{ipaddress.IPv4Address(a)}/{n}", st.integers(0, 2**32 - 1), st.integers(8, 32)),
)
URL_HOSTS = st.one_of(HOSTS, st.integers(0, 2**32 - 1).map(lambda a: str(ipaddress.IPv4Address(a))))


def _named(entry: str, host: str, port: int) -> bool:
    """An independent reading of an entry: does it name host:port?"""
    name, port_part = [*entry.rsplit(":", 1), ""][:2] if "/" not in entry else (entry, "")
    if port_part and int(port_part) != port:
        return False
    if "/" in name:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    if name.startswith("*."):
        return host.endswith(name[1:])
    return host == name


@given(st.lists(ENTRIES, min_size=1, max_size=5), URL_HOSTS, st.integers(1, 65535))
def test_no_allowed_list_lets_through_a_host_it_does_not_name(allowed, host, port):
    message = refusal(api_base(f"http://{host}:{port}"), {"egress": {"allowedHosts": allowed}})
    metadata = guardrails._metadata(host, guardrails._address(host))
    if message is None:
        assert not metadata or any(e.split(":")[0] == host for e in allowed)
        assert any(_named(e, host, port) for e in allowed), (allowed, host, port)
    elif not metadata:
        assert not any(_named(e, host, port) for e in allowed), (allowed, host, port, message)


def test_an_egress_policy_admits_the_cluster_dns_and_what_the_allowed_hosts_can_say_as_a_policy():
    platform = {
        "egress": {
            "allowedHosts": ["ollama.ollama.svc:11434", "vllm.ml.svc.cluster.local", "10.0.0.0/8", "api.openai.com"],
            "networkPolicy": True,
        }
    }
    out = compose(xr(PROXY), platform, {})
    policy = out.resources[names.EGRESS_POLICY]
    kubernetes_validate.validate(policy, "1.34", strict=True)
    assert policy["spec"]["podSelector"] == out.resources[names.DEPLOYMENT]["spec"]["selector"]
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert policy["spec"]["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        },
        {
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ollama"}}}],
            "ports": [{"port": 11434, "protocol": "TCP"}],
        },
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml"}}}]},
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
        # api.openai.com: a policy cannot name an external host (README: allow it as a CIDR).
    ]
    assert names.EGRESS_POLICY not in compose(xr(HOSTED), platform, {}).resources  # Ollama pulls where it must


def test_an_upgrade_keeps_the_policy_of_the_old_name_until_the_new_one_is_observed():
    """Crossplane deletes what is no longer desired before it applies the rest: dropping N-egress
    in the reconcile that first asks for N.egress would leave the pods' egress open between."""
    platform = {"egress": {"allowedHosts": ["ollama.ollama.svc:11434"], "networkPolicy": True}}
    new = compose(xr(PROXY), platform, {}).resources[names.EGRESS_POLICY]
    old = {**new, "metadata": {**new["metadata"], "name": new["metadata"]["name"].replace(".", "-")}}
    upgraded = compose(xr(PROXY), platform, {names.EGRESS_POLICY_BEFORE: old}).resources
    assert upgraded[names.EGRESS_POLICY] == new
    assert upgraded[names.EGRESS_POLICY_BEFORE]["metadata"]["name"] == old["metadata"]["name"]
    assert upgraded[names.EGRESS_POLICY_BEFORE]["spec"] == new["spec"]
    # Once N.egress is observed, N-egress is no longer desired (Crossplane deletes it).
    settled = compose(xr(PROXY), platform, {names.EGRESS_POLICY_BEFORE: old, names.EGRESS_POLICY: new}).resources
    assert names.EGRESS_POLICY_BEFORE not in settled
    assert names.EGRESS_POLICY_BEFORE not in compose(xr(PROXY), {}, {names.EGRESS_POLICY_BEFORE: old}).resources


def test_an_egress_policy_without_allowed_hosts_is_refused_naming_the_input_field():
    assert refusal(PROXY, {"egress": {"networkPolicy": True}}) == (
        "function input input.egress.networkPolicy: needs egress.allowedHosts: a policy without them admits only DNS"
    )


def _dns_rules(dns: dict | None) -> list[dict]:
    egress = {"allowedHosts": ["ollama.ollama.svc:11434"], "networkPolicy": True}
    if dns is not None:
        egress["dns"] = dns
    policy = compose(xr(PROXY), {"egress": egress}, {}).resources[names.EGRESS_POLICY]
    kubernetes_validate.validate(policy, "1.34", strict=True)
    return [r for r in policy["spec"]["egress"] if any(p["port"] == 53 for p in r.get("ports", []))]


@pytest.mark.parametrize(
    ("dns", "peer"),
    [
        (
            None,
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            },
        ),
        (
            {"namespace": "openshift-dns", "podLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
                "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
            },
        ),
        (
            {"namespace": "dns"},  # the default labels
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            },
        ),
        (
            {"podLabels": {}},  # every pod of kube-system, as the platform asks
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {}},
        ),
    ],
    ids=["default", "openshift", "namespace-only", "no-labels"],
)
def test_dns_goes_only_to_the_cluster_dns_pods_the_input_names(dns, peer):
    """Not port 53 of every address: a proxy variable pointing at host:53 would pass that."""
    assert _dns_rules(dns) == [
        {"to": [peer], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    ]


@pytest.mark.parametrize(
    ("dns", "message"),
    [
        ({"namespace": "Kube System"}, "input.egress.dns.namespace: must be a namespace name such as team-a"),
        ({"podLabels": {"k8s-app": "kube dns"}}, "input.egress.dns.podLabels['k8s-app']: must be a label value"),
        ({"podLabels": {"bad key!": "x"}}, "input.egress.dns.podLabels['bad key!']: must be a label key"),
    ],
)
def test_a_dns_peer_that_is_no_selector_is_refused_naming_the_input_field(dns, message):
    egress = {"allowedHosts": ["ollama.ollama.svc:11434"], "networkPolicy": True, "dns": dns}
    told = refusal(PROXY, {"egress": egress}) or ""
    assert told.startswith(f"function input {message}"), told
