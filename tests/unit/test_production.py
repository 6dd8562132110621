"""The proxy as production traffic needs it: replicas and their disruption budget, metrics,
traces and a route in from the platform's Gateway, each as the platform's input turns it on."""

import pytest
import yaml

from function import litellm, names
from function.compose import compose
from function.spec import SpecError
from tests.support.builders import HOSTED, PROXY, config_key, container, kinds_of_keys, secret_value, with_, xr

GATEWAY = {"parentRefs": [{"name": "public", "namespace": "gateways"}], "hostname": "llm.example.com"}
TEAM_CONFIG = (
    "# the team's own comment\n"
    "model_list:\n  - model_name: fast\n    litellm_params: {model: ollama/smollm2:135m, api_base: 'http://o:11434'}\n"
    "litellm_settings:\n  drop_params: true\n  callbacks: [prometheus, custom]\n"
)


def deployment(out) -> dict:
    return out.resources[names.DEPLOYMENT]


def files(out) -> dict[str, str]:
    secret = out.resources[config_key(out.resources)]
    return {k: secret_value(secret, k) for k in secret["data"]}


# ---- replicas and disruption ----------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "fn_input", "replicas"),
    [
        (PROXY, None, 1),
        (with_(PROXY, "proxyConfig.replicas", 3), None, 3),
        (PROXY, {"proxyReplicas": {"default": 2}}, 2),
        (with_(PROXY, "proxyConfig.replicas", 1), {"proxyReplicas": {"default": 2}}, 1),
        # As Crossplane sends it: a protobuf Struct holds doubles.
        (with_(PROXY, "proxyConfig.replicas", 3.0), None, 3),
    ],
    ids=["default", "asked", "platform-default", "asked-over-platform-default", "double"],
)
def test_the_proxy_runs_the_replicas_asked_or_the_platforms_default(spec, fn_input, replicas):
    assert deployment(compose(xr(spec), fn_input, {}))["spec"]["replicas"] == replicas


@pytest.mark.parametrize("replicas", [1, 3])
def test_a_rollout_never_drops_below_the_replicas_asked(replicas):
    out = compose(xr(with_(PROXY, "proxyConfig.replicas", replicas)), None, {})
    assert deployment(out)["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_one_replica_has_no_budget_and_no_spread():
    out = compose(xr(PROXY), None, {})
    assert names.DISRUPTION_BUDGET not in out.resources
    assert "topologySpreadConstraints" not in deployment(out)["spec"]["template"]["spec"]


def test_more_replicas_get_a_budget_that_lets_a_drain_take_one_at_a_time():
    out = compose(xr(with_(PROXY, "proxyConfig.replicas", 3)), None, {})
    budget = out.resources[names.DISRUPTION_BUDGET]
    assert (budget["apiVersion"], budget["kind"]) == ("policy/v1", "PodDisruptionBudget")
    assert budget["metadata"]["name"] == "my-modelapi"
    assert budget["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": names.Naming("my-modelapi", "my-modelapi").selector()},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    # The budget selects exactly the pods of the Deployment.
    assert budget["spec"]["selector"] == deployment(out)["spec"]["selector"]


@pytest.mark.parametrize("replicas", [2, 3])
def test_more_replicas_spread_softly_across_nodes(replicas):
    out = compose(xr(with_(PROXY, "proxyConfig.replicas", replicas)), None, {})
    (spread,) = deployment(out)["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread == {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": names.Naming("my-modelapi", "my-modelapi").selector()},
        "matchLabelKeys": ["pod-template-hash"],
    }


def test_hosted_stays_one_pod_without_a_budget():
    out = compose(xr(HOSTED), {"proxyReplicas": {"default": 3}}, {})
    assert deployment(out)["spec"]["replicas"] == 1
    assert names.DISRUPTION_BUDGET not in out.resources


@pytest.mark.parametrize(
    ("replicas", "fn_input", "message"),
    [
        (
            4,
            {"proxyReplicas": {"max": 3}},
            "spec.proxyConfig.replicas: 4 is more than this platform allows (proxy replicas at most 3, "
            "proxyReplicas.max)",
        ),
        (101, None, "spec.proxyConfig.replicas: must be at most 100"),
        (0, None, "spec.proxyConfig.replicas: must be at least 1"),
        (2.5, None, "spec.proxyConfig.replicas: must be a whole number, not 2.5"),
        ("3", None, "spec.proxyConfig.replicas: must be a whole number, not a string"),
    ],
)
def test_replicas_past_the_bounds_are_refused_naming_the_field(replicas, fn_input, message):
    with pytest.raises(SpecError) as err:
        compose(xr(with_(PROXY, "proxyConfig.replicas", replicas)), fn_input, {})
    assert str(err.value) == message


def test_a_platform_default_past_its_own_max_is_refused():
    with pytest.raises(SpecError) as err:
        compose(xr(PROXY), {"proxyReplicas": {"default": 5, "max": 3}}, {})
    assert str(err.value) == "function input input.proxyReplicas.default: 5 is more than proxyReplicas.max (3)"


@pytest.mark.parametrize(
    ("own", "platform", "want"),
    [
        (None, None, None),
        (None, {"requests": {"memory": "512Mi"}}, {"requests": {"memory": "512Mi"}}),
        ({"limits": {"cpu": "2"}}, None, {"limits": {"cpu": "2"}}),
        # As a whole, not key by key.
        ({"limits": {"cpu": "2"}}, {"requests": {"memory": "512Mi"}}, {"limits": {"cpu": "2"}}),
    ],
)
def test_a_modelapis_own_resources_replace_the_platforms(own, platform, want):
    spec = with_(PROXY, "proxyConfig.resources", own) if own else PROXY
    fn_input = {"proxyResources": platform} if platform else None
    c = container(compose(xr(spec), fn_input, {}).resources, "litellm")
    assert c.get("resources") == want


def test_a_modelapis_own_resources_stay_within_the_platforms_limits():
    spec = with_(PROXY, "proxyConfig.resources", {"limits": {"memory": "32Gi"}})
    with pytest.raises(SpecError) as err:
        compose(xr(spec), {"limits": {"max": {"memory": "16Gi"}}}, {})
    assert str(err.value) == (
        "spec.proxyConfig.resources.limits['memory']: 32Gi is more than this platform allows (16Gi, limits.max)"
    )


@pytest.mark.parametrize(
    ("available", "phase", "message"),
    [
        (0, "Pending", "Waiting for Deployment my-modelapi to have an available replica"),
        (1, "Ready", "1/3 replicas ready"),
        (2, "Ready", "2/3 replicas ready"),
        (3, "Ready", ""),
    ],
)
def test_the_status_is_ready_at_the_first_replica_and_counts_the_others(available, phase, message):
    spec = with_(PROXY, "proxyConfig.replicas", 3)
    observed = {names.DEPLOYMENT: {"status": {"availableReplicas": float(available), "replicas": 3.0}}}
    out = compose(xr(spec), None, observed)
    assert (out.status["phase"], out.status["message"]) == (phase, message)
    assert out.ready[names.DEPLOYMENT] is (available > 0)


# ---- metrics --------------------------------------------------------------------------
def test_metrics_are_served_on_a_named_port_of_the_service_by_litellms_own_process():
    out = compose(xr(PROXY), None, {})
    ports = out.resources[names.SERVICE]["spec"]["ports"]
    assert ports[1] == {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    c = container(out.resources, "litellm")
    assert c["args"][-2:] == ["--prometheus_metrics_port", "9090"]
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in c["ports"]
    assert {"name": "PROMETHEUS_MULTIPROC_DIR", "value": "/var/run/litellm-metrics"} in c["env"]
    assert {"name": "metrics", "mountPath": "/var/run/litellm-metrics"} in c["volumeMounts"]
    volumes = deployment(out)["spec"]["template"]["spec"]["volumes"]
    assert {"name": "metrics", "emptyDir": {"sizeLimit": "1Gi"}} in volumes
    assert yaml.safe_load(files(out)["config.yaml"])["litellm_settings"] == {"callbacks": ["prometheus"]}


def test_metrics_switched_off_leave_no_port_process_or_callback():
    out = compose(xr(PROXY), {"metrics": {"enabled": False}}, {})
    assert [p["name"] for p in out.resources[names.SERVICE]["spec"]["ports"]] == ["http"]
    c = container(out.resources, "litellm")
    assert "--prometheus_metrics_port" not in c["args"]
    assert [p["name"] for p in c["ports"]] == ["http"]
    assert "litellm_settings" not in yaml.safe_load(files(out)["config.yaml"])


def test_hosted_has_no_metrics_port():
    out = compose(xr(HOSTED), None, {})
    assert [p["name"] for p in out.resources[names.SERVICE]["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize(
    ("spec", "fn_input", "monitored"),
    [
        (PROXY, None, False),
        (PROXY, {"metrics": {"serviceMonitor": True}}, True),
        (PROXY, {"metrics": {"enabled": False, "serviceMonitor": True}}, False),
        (HOSTED, {"metrics": {"serviceMonitor": True}}, False),
    ],
)
def test_a_service_monitor_only_where_the_platform_turns_it_on(spec, fn_input, monitored):
    assert (names.SERVICE_MONITOR in compose(xr(spec), fn_input, {}).resources) is monitored


def test_the_service_monitor_scrapes_the_metrics_port_of_this_service_without_credentials():
    out = compose(xr(PROXY), {"metrics": {"serviceMonitor": True, "interval": "15s"}}, {})
    monitor = out.resources[names.SERVICE_MONITOR]
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "team-a"
    assert monitor["spec"] == {
        "selector": {"matchLabels": names.Naming("my-modelapi", "my-modelapi").selector()},
        "endpoints": [{"port": "metrics", "path": "/metrics/", "interval": "15s"}],
    }
    service_labels = out.resources[names.SERVICE]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()


def test_a_network_policy_admits_prometheus_to_the_metrics_port_only():
    fn_input = {"networkPolicy": {"allowNamespaces": ["agents"]}, "metrics": {"allowNamespaces": ["monitoring"]}}
    ingress = compose(xr(PROXY), fn_input, {}).resources[names.NETWORK_POLICY]["spec"]["ingress"]
    allowed = [
        (rule["ports"], rule["from"][1]["namespaceSelector"]["matchExpressions"][0]["values"]) for rule in ingress
    ]
    assert allowed == [
        ([{"port": 8000, "protocol": "TCP"}], ["agents"]),
        ([{"port": 9090, "protocol": "TCP"}], ["agents", "monitoring"]),
    ]


# ---- the platform's callbacks and a team's configYaml ----------------------------------
def test_a_team_config_stays_verbatim_beside_the_platforms_settings():
    out = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": TEAM_CONFIG}}), None, {})
    got = files(out)
    assert got["config.yaml"] == TEAM_CONFIG
    assert yaml.safe_load(got["modelapi.yaml"]) == {"include": ["config.yaml", "platform.yaml"]}
    # LiteLLM's include replaces a section whole: the team's settings are carried, the callbacks added once.
    assert yaml.safe_load(got["platform.yaml"]) == {
        "litellm_settings": {"drop_params": True, "callbacks": ["prometheus", "custom"]}
    }
    assert container(out.resources, "litellm")["args"][2:4] == ["--config", "/etc/litellm/modelapi.yaml"]


def test_a_team_config_without_settings_gets_the_callbacks_alone():
    config = "model_list: [{model_name: a, litellm_params: {model: ollama/a}}]\n"
    fn_input = {"telemetry": {"otlpEndpoint": "http://otel.observability.svc:4318"}}
    out = compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config}}), fn_input, {})
    assert yaml.safe_load(files(out)["platform.yaml"]) == {"litellm_settings": {"callbacks": ["prometheus", "otel"]}}


def test_a_team_config_is_one_verbatim_file_where_the_platform_adds_nothing():
    out = compose(
        xr({"mode": "Proxy", "proxyConfig": {"configYaml": TEAM_CONFIG}}), {"metrics": {"enabled": False}}, {}
    )
    assert files(out) == {"config.yaml": TEAM_CONFIG}
    assert container(out.resources, "litellm")["args"] == ["--port", "8000", "--config", "/etc/litellm/config.yaml"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("litellm_settings: [a]", "litellm_settings must be a mapping"),
        ("litellm_settings: {callbacks: prometheus}", "litellm_settings.callbacks must be a list of callback names"),
        ("litellm_settings: {callbacks: [{a: 1}]}", "litellm_settings.callbacks must be a list of callback names"),
    ],
)
def test_settings_the_callbacks_cannot_join_are_refused(settings, message):
    config = f"model_list: [{{model_name: a, litellm_params: {{model: ollama/a}}}}]\n{settings}\n"
    with pytest.raises(SpecError) as err:
        compose(xr({"mode": "Proxy", "proxyConfig": {"configYaml": config}}), None, {})
    assert str(err.value).startswith(f"spec.proxyConfig.configYaml: {message}")


# ---- traces ---------------------------------------------------------------------------
def test_traces_go_to_the_platforms_otlp_endpoint():
    fn_input = {"telemetry": {"otlpEndpoint": "http://otel.observability.svc:4318"}}
    out = compose(xr(PROXY), fn_input, {})
    assert yaml.safe_load(files(out)["config.yaml"])["litellm_settings"] == {"callbacks": ["prometheus", "otel"]}
    env = {e["name"]: e.get("value") for e in container(out.resources, "litellm")["env"]}
    # Beside the function's own variables, not instead of them.
    assert {"LITELLM_LOCAL_MODEL_COST_MAP", names.MASTER_KEY_ENV, "PROMETHEUS_MULTIPROC_DIR"} <= set(env)
    assert {k: v for k, v in env.items() if k.startswith("OTEL_")} == {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel.observability.svc:4318",
        "OTEL_SERVICE_NAME": "my-modelapi",
        "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=team-a,k8s.namespace.name=team-a",
    }


def test_without_telemetry_no_otel_variable_or_callback():
    out = compose(xr(PROXY), None, {})
    assert not [e for e in container(out.resources, "litellm")["env"] if e["name"].startswith("OTEL_")]
    assert "otel" not in files(out)["config.yaml"]


# ---- a route in -----------------------------------------------------------------------
def test_a_gateway_gets_each_proxy_an_http_route_under_its_namespace_and_name():
    out = compose(xr(PROXY), {"gateway": {**GATEWAY, "timeout": "10m"}}, {})
    route = out.resources[names.HTTP_ROUTE]
    assert (route["apiVersion"], route["kind"]) == ("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert route["metadata"]["namespace"] == "team-a"
    assert route["spec"] == {
        "parentRefs": [{"name": "public", "namespace": "gateways"}],
        "hostnames": ["llm.example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/team-a/my-modelapi"}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                    }
                ],
                "backendRefs": [{"name": "my-modelapi", "port": 8000}],
                "timeouts": {"request": "10m"},
            }
        ],
    }
    assert out.status["externalEndpoint"] == "https://llm.example.com/team-a/my-modelapi"
    assert out.status["endpoint"] == "http://my-modelapi.team-a.svc.cluster.local:8000"


def test_the_route_waits_as_long_as_an_llm_call_by_default():
    route = compose(xr(PROXY), {"gateway": GATEWAY}, {}).resources[names.HTTP_ROUTE]
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "300s"}


def test_paths_cannot_collide_across_namespaces():
    def path(name: str, namespace: str) -> str:
        route = compose(xr(PROXY, name=name, namespace=namespace), {"gateway": GATEWAY}, {}).resources
        return route[names.HTTP_ROUTE]["spec"]["rules"][0]["matches"][0]["path"]["value"]

    # Names and namespaces hold no '/', and a PathPrefix matches whole segments.
    assert path("b-c", "a") != path("c", "a-b")
    assert path("c", "a-b") == "/a-b/c"


@pytest.mark.parametrize(("spec", "fn_input"), [(PROXY, None), (HOSTED, {"gateway": GATEWAY})])
def test_no_route_without_a_gateway_nor_for_a_hosted_endpoint_that_takes_no_key(spec, fn_input):
    out = compose(xr(spec), fn_input, {})
    assert names.HTTP_ROUTE not in out.resources
    assert "externalEndpoint" not in out.status


@pytest.mark.parametrize(
    ("gateway", "message"),
    [
        ({**GATEWAY, "timeout": "5 minutes"}, "input.gateway.timeout: must be a duration such as 300s, 5m or 1h30m"),
        (
            {**GATEWAY, "hostname": "*.example.com"},
            "input.gateway.hostname: must be a host name such as llm.example.com",
        ),
        ({**GATEWAY, "parentRefs": []}, "input.gateway.parentRefs: List should have at least 1 item"),
        (
            {**GATEWAY, "parentRefs": [{"name": "Public"}]},
            "input.gateway.parentRefs[0].name: must be a Gateway or listener name such as public or https",
        ),
        ({"parentRefs": GATEWAY["parentRefs"]}, "input.gateway.hostname: required, and missing"),
    ],
)
def test_a_gateway_input_that_cannot_work_is_refused_naming_the_field(gateway, message):
    with pytest.raises(SpecError) as err:
        compose(xr(PROXY), {"gateway": gateway}, {})
    assert str(err.value).startswith(f"function input {message}")


def test_a_telemetry_endpoint_that_is_no_url_is_refused():
    with pytest.raises(SpecError) as err:
        compose(xr(PROXY), {"telemetry": {"otlpEndpoint": "otel:4318"}}, {})
    assert str(err.value).startswith("function input input.telemetry.otlpEndpoint: must be an http(s) URL")


# ---- optional kinds and secrets -------------------------------------------------------
def test_by_default_no_optional_kind_is_composed():
    out = compose(xr(PROXY), None, {})
    assert kinds_of_keys(out.resources) == {names.DEPLOYMENT, names.SERVICE, names.CLIENT_SECRET, names.LITELLM_CONFIG}


def test_the_new_kinds_carry_no_secret():
    fn_input = {"gateway": GATEWAY, "metrics": {"serviceMonitor": True}}
    out = compose(xr(with_(PROXY, "proxyConfig.replicas", 3)), fn_input, {})
    key = secret_value(out.resources[names.CLIENT_SECRET], names.CLIENT_API_KEY_KEY)
    for k in (names.HTTP_ROUTE, names.SERVICE_MONITOR, names.DISRUPTION_BUDGET):
        text = str(out.resources[k])
        assert key not in text
        assert "secret" not in text.lower(), k


def test_the_egress_policy_and_the_route_are_the_proxys_objects_in_its_namespace():
    platform = {"gateway": GATEWAY, "egress": {"networkPolicy": True, "allowedHosts": ["ollama.ollama.svc:11434"]}}
    out = compose(xr(PROXY), platform, {})
    labels = names.Naming("my-modelapi", "my-modelapi").labels(litellm.COMPONENT)
    egress = out.resources[names.EGRESS_POLICY]["metadata"]
    assert egress == {"name": "my-modelapi.egress", "namespace": "team-a", "labels": labels}
    route = out.resources[names.HTTP_ROUTE]["metadata"]
    assert route == {"name": "my-modelapi", "namespace": "team-a", "labels": labels}
