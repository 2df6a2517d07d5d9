"""Settings added this round refuse bad values with an error naming the setting."""

from __future__ import annotations

from typing import Any

import pytest

import wirekit
from wirekit.server.config import ServerConfig


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"forwarded_headers": "x-real-ip"}, "forwarded_headers must be"),
        ({"static_path": "static"}, "static_path must start with '/'"),
        ({"ssl_dev": True, "ssl_certfile": "cert.pem"}, "ssl_dev makes its own certificate"),
        ({"ssl_keyfile": "key.pem"}, "ssl_keyfile needs ssl_certfile"),
        ({"ssl_ca_certs": "ca.pem"}, "ssl_ca_certs needs ssl_certfile"),
    ],
)
def test_server_config_refuses(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerConfig(**options)


@pytest.mark.parametrize("client_class", [wirekit.Client, wirekit.AsyncClient])
def test_a_decompression_ratio_below_one_is_refused(client_class: Any) -> None:
    with pytest.raises(ValueError, match="max_decompression_ratio must be 1 or more"):
        client_class(max_decompression_ratio=0.5)
