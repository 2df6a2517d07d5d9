"""SOCKS5 / SOCKS4(a) tunnels as network backends, on top of the ``python-socks`` package.

``SocksBackend("socks5h://user:pass@127.0.0.1:1080")`` is a drop-in ``NetworkBackend``:
``connect_tcp`` returns an ordinary stream tunnelled through the proxy. ``socks5`` and
``socks4`` resolve the target locally (our resolver), ``socks5h`` and ``socks4a`` let the
proxy resolve it (remote DNS).

The backend is written once, in ``_async/socks.py``; ``SocksBackend`` is generated from it
into ``_sync/socks.py`` by ``scripts/unasync.py``. The proxy URL and the shared helpers live
in ``_socks_shared.py``.
"""

from __future__ import annotations

from wirekit._io._async.socks import AsyncSocksBackend
from wirekit._io._socks_shared import DEFAULT_SOCKS_PORT, SocksProxyURL
from wirekit._io._sync.socks import SocksBackend

__all__ = ["DEFAULT_SOCKS_PORT", "AsyncSocksBackend", "SocksBackend", "SocksProxyURL"]
