import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from core import uscc

# Codes as printed on real business licences.
REAL_CODES = ["91110000802100433B", "91350100M000100Y43", "91440300708461136T"]

body17 = st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", REAL_CODES)
def test_it_accepts_real_codes(code):
    assert uscc.check(code) == code


def test_it_normalises_case_and_blanks():
    assert uscc.check("  91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M000100I43", "alphabet"),  # I looks like 1
        ("91350100O000100Y43", "alphabet"),  # O looks like 0
        ("91350100M000100Y4-", "alphabet"),
        ("9135010０M000100Y43", "alphabet"),  # a full-width zero pasted from a document
        ("91350100M000100Y44", "check_character"),
    ],
)
def test_it_names_the_rule_that_failed(raw, rule):
    with pytest.raises(uscc.USCCError) as caught:
        uscc.check(raw)
    assert caught.value.code == rule


def test_the_message_says_which_character_is_wrong():
    with pytest.raises(uscc.USCCError, match=r"character 9 \('O'\)"):
        uscc.check("91350100O000100Y43")
    with pytest.raises(uscc.USCCError, match="'4' but the first 17 characters require '3'"):
        uscc.check("91350100M000100Y44")


def test_the_model_validator_raises_a_django_validation_error_with_the_rule_as_code():
    with pytest.raises(ValidationError) as caught:
        uscc.validate_uscc("91350100M000100Y44")
    assert caught.value.code == "check_character"


@given(body17)
def test_every_body_has_exactly_one_valid_check_character(body):
    valid = [c for c in uscc.ALPHABET if uscc.is_valid(body + c)]
    assert valid == [uscc.check_character(body)]


@given(body17, st.integers(min_value=0, max_value=17), st.sampled_from(uscc.ALPHABET))
def test_any_single_character_substitution_is_caught(body, position, replacement):
    code = body + uscc.check_character(body)
    mutated = code[:position] + replacement + code[position + 1 :]
    assert uscc.is_valid(mutated) == (mutated == code)


@given(body17, st.integers(min_value=0, max_value=16))
def test_swapping_two_different_neighbours_is_caught(body, position):
    code = body + uscc.check_character(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    if swapped != code:
        assert not uscc.is_valid(swapped)


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes_the_check(text):
    try:
        uscc.check(text)
    except uscc.USCCError as exc:
        assert exc.code in {"length", "alphabet", "check_character"}


@given(
    st.sampled_from("19ANY"),
    st.sampled_from("123459"),
    st.from_regex(r"\A[0-9]{6}\Z"),
    st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8),
)
def test_built_codes_are_valid(authority, kind, division, body8):
    assert uscc.is_valid(uscc.build(authority=authority, kind=kind, division=division, body8=body8))
