"""The ``wirekit`` command line: get, serve, dns, ping, bench, mac, ifaces."""
