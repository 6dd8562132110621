import re

import pytest

from function import names

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("my-modelapi", "my-modelapi"),
        ("a", "a"),
        ("x" * 63, "x" * 63),
    ],
)
def test_a_valid_service_name_is_kept(name, want):
    assert names.base_name(name) == want


@pytest.mark.parametrize(
    "name",
    ["my.modelapi", "1st-model", "x" * 64, "x" * 253, "Upper", "a..b", "9", "-", "...", "llama3.1-8b"],
)
def test_other_names_become_a_valid_stable_service_name(name):
    got = names.base_name(name)
    assert DNS1035.match(got), got
    assert got == names.base_name(name)


def test_distinct_names_that_sanitize_alike_stay_distinct():
    assert names.base_name("a.b") != names.base_name("a-b.")
    assert names.base_name("x" * 64) != names.base_name("x" * 65)


def test_selector_labels_are_a_subset_of_the_pod_labels():
    labels = names.labels("m", "litellm-proxy")
    assert names.selector_labels("m").items() <= labels.items()
    assert labels["app"] == "m"
