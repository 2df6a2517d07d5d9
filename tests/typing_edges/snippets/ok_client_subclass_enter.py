"""Subclassing a client (the source says "Subclassing a client is common" and keeps the
compiled classes subclassable for it) and using the subclass as a context manager."""

import wirekit


class ApiClient(wirekit.Client):
    def users(self) -> list[str]:
        return [str(u) for u in self.get("/users").json()]


class AsyncApiClient(wirekit.AsyncClient):
    async def users(self) -> list[str]:
        return [str(u) for u in (await self.get("/users")).json()]


def sync_main() -> None:
    with ApiClient(base_url="http://api.test") as api:
        print(api.users())


async def async_main() -> None:
    async with AsyncApiClient(base_url="http://api.test") as api:
        print(await api.users())
