"""``cert=`` in the forms requests takes: path objects, and the pair as a list.

(Found by a differential review of the client's TLS; fixed since: a ``pathlib.Path`` gave
``TypeError: 'PosixPath' object is not subscriptable`` and a list ``unhashable type``.)
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.client.tls_edges.conftest import get
from tests.support.certs import Certs


@pytest.mark.parametrize("form", ["paths", "list", "list of paths"])
def test_client_certificate_in_any_form_is_presented(
    mtls_server: Any, certs: Certs, mode: str, form: str
) -> None:
    pair: Any = {
        "paths": (certs.client_cert_file, certs.client_key_file),
        "list": [str(certs.client_cert_file), str(certs.client_key_file)],
        "list of paths": [certs.client_cert_file, certs.client_key_file],
    }[form]
    response = get(mode, mtls_server.url + "/mtls", verify=certs.ca_file, cert=pair)
    assert response.json()["target"] == "/mtls"
    peer = mtls_server.tls_peer_certs[-1]
    assert peer is not None
    assert ("DNS", "client.wirekit.test") in peer["subjectAltName"]


def test_a_cert_of_the_wrong_shape_names_the_forms(certs: Certs, mode: str) -> None:
    with pytest.raises(TypeError, match=r"cert= takes a file, \(certfile, keyfile\)"):
        get(mode, "https://127.0.0.1:9/", cert=["a", "b", "c", "d"])
