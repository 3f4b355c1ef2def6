import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from cases.credit_code import ALPHABET, check_character, is_valid, problem, validate_credit_code

# Real-world shaped codes (the sample ledger's) and the GB 32100-2015 worked example.
VALID = ["914115683BJ1XG612H", "91411537D4H3J9HTM2", "91350100M000100Y43"]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass(code):
    assert is_valid(code)
    validate_credit_code(code)


def test_lower_case_and_spaces_are_normalised():
    assert is_valid(" 914115683bj1xg612h ")


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("914115683BJ1XG612X", "check character"),
        ("914115683BJ1XG612", "18 characters"),
        ("914115683BJ1XG612HH", "18 characters"),
        ("914115683BJ1XG61IO", "not allowed"),
        ("", "18 characters"),
    ],
)
def test_invalid_codes_say_what_is_wrong(code, fragment):
    with translation.override("en"):
        message = problem(code)
        assert message is not None and fragment in str(message)
    with pytest.raises(ValidationError):
        validate_credit_code(code)


body = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(body)
def test_computed_check_character_always_validates(first17):
    assert is_valid(first17 + check_character(first17))


@given(body, st.sampled_from(ALPHABET))
def test_any_other_check_character_is_refused(first17, other):
    right = check_character(first17)
    code = first17 + other
    assert is_valid(code) == (other == right)


@given(body, st.integers(min_value=0, max_value=16), st.sampled_from(ALPHABET))
def test_a_single_changed_character_is_detected(first17, position, replacement):
    code = first17 + check_character(first17)
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1 :]
    assert not is_valid(changed)


def test_users_read_the_message_in_chinese():
    with translation.override("zh-hans"):
        assert str(problem("914115683BJ1XG612X")) == "统一社会信用代码校验位不正确。"
