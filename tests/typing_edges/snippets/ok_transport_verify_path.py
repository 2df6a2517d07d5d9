"""HTTPTransport/AsyncHTTPTransport with a CA bundle given as a pathlib.Path.

create_ssl_context (which the transport hands ``verify`` to) is typed to take
``bool | str | os.PathLike[str] | ssl.SSLContext`` and os.fspath()s it; ``cert=`` on the
same transports takes path objects; docs/client.md: "str or path objects"."""

import pathlib

import wirekit

CA = pathlib.Path("/etc/myapp/ca.pem")

transport = wirekit.HTTPTransport(verify=CA, cert=(CA.parent / "c.pem", CA.parent / "k.pem"))
client = wirekit.Client(transport=transport)
atransport = wirekit.AsyncHTTPTransport(verify=CA)
aclient = wirekit.AsyncClient(transport=atransport)
