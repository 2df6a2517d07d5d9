"""Shared test peers: scripted raw servers, a keep-alive responder, certificates, external
programs (nginx, squid, microsocks) and the pytest fixtures wrapping them (``fixtures.py``)."""
