"""Network utilities: names and DNS, addresses, interfaces, framing, UDP, socket servers."""
