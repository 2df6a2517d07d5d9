"""The client class reads alike on the pure package and the compiled build (build/compiled).

Found by a parity review of the compiled build. What the compiled class still cannot do
(weak references, attributes set on an instance, ``inspect.signature`` of its methods) is
listed in docs/deployment.md, "The compiled build".
"""

from __future__ import annotations

import wirekit


def test_is_async_reads_as_a_bool_on_the_class() -> None:
    # Compiled: Client.is_async (and AsyncClient.is_async when it was compiled) is a member
    # descriptor, <attribute 'is_async' of 'Client' objects>, which is truthy: code that
    # picks the flavour with `if client_class.is_async:` takes the async branch for Client.
    assert wirekit.Client.is_async is False
    assert wirekit.AsyncClient.is_async is True


def test_client_keeps_its_docstring() -> None:
    # Compiled: Client.__doc__ is None, so help(wirekit.Client) documents nothing.
    assert wirekit.Client.__doc__
    assert "base_url" in wirekit.Client.__doc__


def test_base_url_none_means_no_base_url() -> None:
    # Pure: accepted (like the base_url setter, typed `str | URL | None`). Compiled:
    # TypeError: union[str, wirekit._models.url.URL] object expected; got None, e.g. for
    # Client(base_url=os.environ.get("API_URL")).
    client = wirekit.Client(base_url=None)
    assert client.base_url is None
