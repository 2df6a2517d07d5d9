"""The HTTP server: hosts WSGI and ASGI apps on the shared sans-IO HTTP/1.1 core."""
