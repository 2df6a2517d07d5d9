"""httpx's documented error-handling idiom, written for wirekit.

HTTPStatusError is only ever built with a request (its __init__ requires
``request: Request``) and raise_for_status() always passes one."""

import wirekit


def check(url: str) -> int:
    try:
        response = wirekit.get(url)
        response.raise_for_status()
    except wirekit.HTTPStatusError as exc:
        print(f"Error response {exc.response.status_code} while requesting {exc.request.url!r}.")
        print(exc.request.method, exc.request.headers.get_list("accept"))
        return exc.response.status_code
    return response.status_code
