"""Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

Eighteen characters from a 31-character alphabet (digits and capitals without
I, O, S, V, Z). Positions 1-17 carry weights 3^(i-1) mod 31; the check
character is the one whose value is 31 - (weighted sum mod 31), 31 meaning 0.
Because 31 is prime and every weight is non-zero, any single wrong character is
caught, which is why importers can trust the check to stop typos.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: value for value, char in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18


class USCCError(ValueError):
    """A USCC broke one rule; ``code`` names the rule for machines, the message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_character(body: str) -> str:
    """The 18th character for a 17-character body (which must use the alphabet)."""
    total = sum(VALUES[char] * weight for char, weight in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(raw: str) -> str:
    """Trim and upper-case: people type codes in lower case and paste stray blanks."""
    return raw.strip().upper()


def check(raw: str) -> str:
    """Return the normalised code or raise USCCError naming the first rule it breaks."""
    code = normalize(raw)
    if len(code) != LENGTH:
        raise USCCError("length", str(_("must be 18 characters long, got %(n)d") % {"n": len(code)}))
    for position, char in enumerate(code, start=1):
        if char not in VALUES:
            raise USCCError(
                "alphabet",
                str(
                    _(
                        "character %(position)d (%(char)r) is not allowed: "
                        "use digits and capital letters except I, O, S, V, Z"
                    )
                    % {"position": position, "char": char}
                ),
            )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise USCCError(
            "check_character",
            str(
                _("check character is %(got)r but the first 17 characters require %(expected)r")
                % {"got": code[17], "expected": expected}
            ),
        )
    return code


def is_valid(raw: str) -> bool:
    try:
        check(raw)
    except USCCError:
        return False
    return True


def validate_uscc(value: str) -> None:
    """Django field validator."""
    try:
        check(value)
    except USCCError as exc:
        raise ValidationError(
            _("Invalid unified social credit code: %(reason)s"), code=exc.code, params={"reason": exc.message}
        ) from None


# Organisation code (GB 11714) check digit, positions 9-17 of a USCC. Not part of
# the GB 32100 validation above, but demo data honours it so that it looks real.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body8: str) -> str:
    total = sum(VALUES[char] * weight for char, weight in zip(body8, _ORG_WEIGHTS, strict=True))
    digit = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(digit, str(digit))


def build(*, authority: str, kind: str, division: str, body8: str) -> str:
    """Assemble a valid USCC: registration authority, entity kind, division code, organisation code."""
    first17 = authority + kind + division + organisation_code(body8)
    return first17 + check_character(first17)
