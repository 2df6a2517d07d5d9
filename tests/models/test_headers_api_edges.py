"""Review of wirekit.Headers: tests that failed on the code as reviewed (each a real bug).

(Found by a review of the model API against httpx and the RFCs; fixed since: a non-text
value set is refused with the constructor's message; equality keeps the order of a repeated
name's values.)
"""

from __future__ import annotations

import pytest

from wirekit import Headers


@pytest.mark.parametrize("value", [5, None, 1.5])
def test_setting_a_non_text_value_is_refused_with_the_headers_message(value: object) -> None:
    """``headers["Content-Length"] = 5`` raises ``TypeError: 'int' object is not
    iterable``, a message that says nothing about headers, while ``Headers({"X": 5})`` and
    ``headers.add("X", 5)`` give the clear "header names and values must be str or bytes,
    not int" (the very point of ``_text()``, whose comment says the value is "refused here,
    clearly"). httpx raises an AttributeError here, so neither is a model to copy.

    Cause: src/wirekit/_models/headers.py, ``Headers.__setitem__``: any value that is not
    str/bytes is treated as a sequence and iterated (``for v in value``), so an int or None
    fails inside the comprehension. Fix: iterate only list/tuple (as ``__init__`` does) and
    pass anything else to ``_text()``, which raises the clear message.
    """
    headers = Headers()
    with pytest.raises(TypeError, match="str or bytes"):
        headers["X-Count"] = value  # type: ignore[assignment]


def test_equality_keeps_the_order_of_repeated_values_of_one_name() -> None:
    """Two Headers compare equal although ``h["Accept"]`` differs between them:
    ``Headers([("Accept", "a"), ("Accept", "b")]) == Headers([("Accept", "b"), ("Accept",
    "a")])`` is True, yet one reads "a, b" and the other "b, a" (and ``dict(h1) !=
    dict(h2)``). RFC 9110 §5.3: "the order in which field lines with the same name are
    received is ... significant to the interpretation of the field value" (X-Forwarded-For,
    Via, Accept). httpx has the same flaw (it sorts too), but equality that disagrees with
    ``__getitem__`` breaks the Mapping contract wirekit claims.

    Cause: src/wirekit/_models/headers.py, ``Headers.__eq__`` compares
    ``sorted((lower_name, value))``, which also sorts values within one name. Fix: compare
    per name, ignoring order across names but keeping it within a name, e.g.
    ``{k: [v for ...]}`` dicts built from each side's items.
    """
    first = Headers([("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-For", "203.0.113.9")])
    second = Headers([("x-forwarded-for", "203.0.113.9"), ("X-Forwarded-For", "10.0.0.1")])
    assert first["x-forwarded-for"] != second["x-forwarded-for"]
    assert first != second
    # Order across different names still does not matter (the documented choice).
    assert Headers([("A", "1"), ("B", "2")]) == Headers([("b", "2"), ("a", "1")])
