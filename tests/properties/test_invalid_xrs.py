"""Invalid XRs and function inputs: one fatal result naming the field, nothing composed."""

import json

from hypothesis import given, note

from tests.support.mutations import BAD_INPUTS, invalid_cases
from tests.support.properties import assert_rejected, run
from tests.support.strategies import NARROW, PROFILE, valid_cases


@PROFILE
@given(invalid_cases())
def test_an_invalid_xr_gets_one_fatal_result_naming_the_field(example):
    case, prefix, mutation = example
    note(f"{mutation}: {json.dumps(case.xr, default=str)[:2000]}")
    assert_rejected(run(case.xr, case.fn_input), prefix)


@NARROW
@given(valid_cases(), BAD_INPUTS)
def test_a_bad_function_input_gets_one_fatal_result_naming_the_input_field(case, bad):
    fn_input, path = bad
    out = run(case.xr, fn_input)
    assert len(out.fatals) == 1
    assert out.fatals[0].startswith(f"function input {path}:"), out.fatals[0]
    assert out.resources == {}
