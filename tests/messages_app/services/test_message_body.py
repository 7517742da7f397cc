"""Names of the entries in "download all": unique, never a path, and extractable on Windows."""

import pytest

from messages_app.services.message_body import unique_names

WINDOWS_FORBIDDEN = set('<>:"/\\|?*') | {chr(code) for code in range(32)}


@pytest.mark.parametrize(("given", "expected"), [
    ('offerta "finale".pdf', "offerta _finale_.pdf"),
    ("a<b>c:d|e?f*.txt", "a_b_c_d_e_f_.txt"),
    ("fattura.pdf.", "fattura.pdf"),
    ("verbale. . .", "verbale"),
    ("CON.txt", "_CON.txt"),
    ("nul", "_nul"),
    ("lpt1.doc", "_lpt1.doc"),
    ("tab\there.txt", "tab_here.txt"),
    ("console.txt", "console.txt"),
    ("..\\..\\windows\\system32.dll", "_.._windows_system32.dll"),
])
def test_names_are_safe_on_windows(given, expected):
    assert unique_names([given]) == [expected]


def test_names_made_equal_by_cleaning_stay_distinct():
    names = unique_names(["a?.pdf", "a*.pdf", "a_.pdf", "", "..."])

    assert names == ["a_.pdf", "a_ (2).pdf", "a_ (3).pdf", "attachment-4", "attachment-5"]
    assert not any(set(name) & WINDOWS_FORBIDDEN or name.endswith((".", " ")) for name in names)
