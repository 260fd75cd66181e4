"""Who and what the console knows by name: the caller, plants, the tenant's people and assets seen
so far. Used to show names instead of ids; an id it does not know shows as `#id`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.text import Text

from cmms_tui.client import ApiClient
from cmms_tui.client_errors import ApiError
from cmms_tui.models import STAFF, SUPERVISORS, Asset, Me, Person, Plant

ASSET_PRELOAD = 2000  # names for the tables; beyond this, assets show by id until opened


@dataclass
class Directory:
    me: Me
    plants: dict[int, Plant] = field(default_factory=dict)
    users: dict[int, Person] = field(default_factory=dict)
    assets: dict[int, Asset] = field(default_factory=dict)

    @property
    def my_id(self) -> int:
        return int(self.me["user"]["id"])

    @property
    def role(self) -> str:
        return self.me["role"]

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISORS

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def user_name(self) -> str:
        user = self.me["user"]
        return user.get("name") or user["email"]

    async def load(self, api: ApiClient) -> None:
        """Plants and people: small, needed before the first screen."""
        self.plants = {p["id"]: p for p in await api.plants()}
        await self.load_people(api)

    async def load_people(self, api: ApiClient) -> None:
        """Every name of the tenant; a server without the directory (404) leaves staff its user list."""
        try:
            people = await api.people()
        except ApiError as exc:
            if exc.status != 404:
                raise
            staff_list = await api.users() if self.is_staff else []
            people = [
                Person(id=u["id"], name=u["name"], role=u["role"], active=u["active"], email=u["email"])
                for u in staff_list
            ]
        users = {p["id"]: p for p in people}
        me = self.me["user"]
        users.setdefault(me["id"], Person(id=me["id"], name=me["name"], role=me["role"], active=True))
        self.users = users

    def unknown(self, user_ids: Iterable[object]) -> set[int]:
        """The ids among these that have no name here yet (None and non-ids are ignored)."""
        return {int(i) for i in user_ids if isinstance(i, int) and not isinstance(i, bool) and i not in self.users}

    def technicians(self) -> list[Person]:
        """Active technicians by name: who work can be assigned to."""
        found = [p for p in self.users.values() if p["role"] == "technician" and p["active"]]
        return sorted(found, key=lambda p: self.person_name(p["id"]).lower())

    async def load_assets(self, api: ApiClient) -> None:
        """Asset names for the tables; loaded after the first paint (may be many pages)."""
        try:
            for asset in await api.all_assets(ASSET_PRELOAD):
                self.assets.setdefault(asset["id"], asset)
        except ApiError:
            pass

    def person(self, user_id: int | None) -> Text:
        if user_id is None:
            return Text("—", style="dim")
        if user_id == self.my_id:
            return Text("me", style="bold")
        user = self.users.get(user_id)
        label = (user.get("name") or user.get("email")) if user is not None else None
        if user is None or not label:
            return Text(f"#{user_id}", style="dim")
        return Text(label, style="" if user["active"] else "dim", no_wrap=True, overflow="ellipsis")

    def person_name(self, user_id: int | None) -> str:
        return self.person(user_id).plain

    def asset(self, asset_id: int | None) -> Text:
        if asset_id is None:
            return Text("—", style="dim")
        asset = self.assets.get(asset_id)
        if asset is None:
            return Text(f"#{asset_id}", style="dim")
        return Text(asset.get("code") or asset["name"], no_wrap=True, overflow="ellipsis")

    def asset_name(self, asset_id: int | None) -> str:
        asset = self.assets.get(asset_id) if asset_id is not None else None
        if asset is None:
            return "—" if asset_id is None else f"#{asset_id}"
        return f"{asset['code']} · {asset['name']}" if asset.get("code") else asset["name"]

    def plant(self, plant_id: int | None) -> Text:
        if plant_id is None:
            return Text("—", style="dim")
        plant = self.plants.get(plant_id)
        if plant is None:
            return Text(f"#{plant_id}", style="dim")
        return Text(plant.get("code") or plant["name"], no_wrap=True, overflow="ellipsis")

    def plant_name(self, plant_id: int | None) -> str:
        plant = self.plants.get(plant_id) if plant_id is not None else None
        return plant["name"] if plant else ("—" if plant_id is None else f"#{plant_id}")
