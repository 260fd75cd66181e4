"""`cmms demo`: a realistic tenant to try the product with, built through the same services as the API."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from typing import Any

from cmms.demo_parts import seed_parts
from cmms.demo_work import seed_work
from cmms.domain.model import AssetIn, OrderIn, OrderPatch, PlanIn, PlantIn, TransitionIn, UserIn
from cmms.domain.roles import Actor, Role
from cmms.domain.workflow import Status
from cmms.services import assets, orders, plans, plants, tenants, users
from cmms.services.deps import Deps
from cmms.welcome import tui_command

TENANT = "demo"
CONSOLE_EMAIL = "tess@demo.cmms.local"  # the technician whom the printed cmms-tui line logs in
SITES = [("Riverside Plant", "RIV", "12 Quay Road"), ("Hillcrest Plant", "HIL", "4 Ridge Avenue")]
LINES = ["Bottling Line", "Packaging Line"]
MACHINES = [
    ("Filler", "filler", "Krones", "Modulfill"),
    ("Conveyor", "conveyor", "Interroll", "RollerDrive"),
    ("Air Compressor", "compressor", "Atlas Copco", "GA 30"),
]
COMPONENTS = [
    ("Drive Motor", "motor", [{"name": "temperature", "unit": "°C", "max": 85}, {"name": "hours", "unit": "h"}]),
    ("Gearbox", "gearbox", [{"name": "vibration", "unit": "mm/s", "max": 7.1}]),
    ("Main Bearing", "bearing", [{"name": "vibration", "unit": "mm/s", "max": 4.5}]),
    ("Pressure Pump", "pump", [{"name": "pressure", "unit": "bar", "min": 2, "max": 9}]),
]
PROBLEMS = [
    "Leaking gasket on {a}",
    "Unusual noise from {a}",
    "{a} overheating",
    "Replace worn belt on {a}",
    "{a} tripping breaker",
    "Calibrate sensor on {a}",
    "Oil leak under {a}",
    "{a} vibration above limit",
    "Inspect guard on {a}",
    "Lubricate {a}",
]
# How many of the 40 orders end in each status.
STATUS_MIX = {
    Status.REQUESTED: 6,
    Status.OPEN: 8,
    Status.IN_PROGRESS: 7,
    Status.ON_HOLD: 4,
    Status.COMPLETED: 6,
    Status.CLOSED: 6,
    Status.CANCELLED: 3,
}
PATHS = {
    Status.REQUESTED: [],
    Status.OPEN: [Status.OPEN],
    Status.IN_PROGRESS: [Status.OPEN, Status.IN_PROGRESS],
    Status.ON_HOLD: [Status.OPEN, Status.IN_PROGRESS, Status.ON_HOLD],
    Status.COMPLETED: [Status.OPEN, Status.IN_PROGRESS, Status.COMPLETED],
    Status.CLOSED: [Status.OPEN, Status.IN_PROGRESS, Status.COMPLETED, Status.CLOSED],
    Status.CANCELLED: [Status.CANCELLED],
}


async def seed_demo(deps: Deps) -> list[dict[str, str]]:
    """Create the demo tenant; returns the logins (email, password, role)."""
    rng = random.Random(7)
    tenant = await tenants.create(deps, TENANT, "Demo Manufacturing")
    operator = Actor(tenant_id=tenant["id"], user_id=None, role=Role.ADMIN, request_id="demo")
    logins: list[dict[str, str]] = []
    people: dict[str, Actor] = {}
    for role, name in [
        (Role.ADMIN, "Ada Admin"),
        (Role.MANAGER, "Max Manager"),
        (Role.TECHNICIAN, "Tess Technician"),
        (Role.TECHNICIAN, "Theo Technician"),
        (Role.REQUESTER, "Rita Requester"),
    ]:
        first = name.split()[0].lower()
        email = f"{first}@demo.cmms.local"
        password = secrets.token_urlsafe(9)
        user = await users.create(deps, operator, UserIn(email=email, name=name, role=role, password=password))
        people[first] = Actor(tenant_id=tenant["id"], user_id=user["id"], role=role, request_id="demo")
        logins.append({"email": email, "password": password, "role": role.value})
    manager = people["max"]
    technicians = [people["tess"], people["theo"]]

    machines: list[dict[str, Any]] = []
    components: list[dict[str, Any]] = []
    for site, code, address in SITES:
        plant = await plants.create(deps, manager, PlantIn(name=site, code=code, address=address))
        for li, line_name in enumerate(LINES, 1):
            line = await assets.create(
                deps,
                manager,
                AssetIn(
                    name=f"{line_name} {li}",
                    plant_id=plant["id"],
                    code=f"{code}-L{li}",
                    type="line",
                    criticality="high",
                ),
            )
            for mi, (mname, mtype, maker, model) in enumerate(MACHINES, 1):
                machine = await assets.create(
                    deps,
                    manager,
                    AssetIn(
                        name=f"{mname} {li}.{mi}",
                        plant_id=plant["id"],
                        parent_id=line["id"],
                        code=f"{code}-L{li}-M{mi}",
                        type=mtype,
                        manufacturer=maker,
                        model=model,
                        serial=f"SN{rng.randint(100000, 999999)}",
                        criticality=rng.choice(["medium", "high", "critical"]),
                        meters=[{"name": "hours", "unit": "h"}],
                    ),
                )
                machines.append(machine)
                for ci, (cname, ctype, meters) in enumerate(COMPONENTS, 1):
                    components.append(
                        await assets.create(
                            deps,
                            manager,
                            AssetIn(
                                name=f"{cname} {li}.{mi}.{ci}",
                                plant_id=plant["id"],
                                parent_id=machine["id"],
                                code=f"{code}-L{li}-M{mi}-C{ci}",
                                type=ctype,
                                criticality=rng.choice(["low", "medium", "high"]),
                                meters=meters,
                            ),
                        )
                    )

    now = deps.clock()
    for i, machine in enumerate(machines[:10]):
        if i % 3 == 2:
            plan = PlanIn(
                asset_id=machine["id"],
                title=f"Service {machine['name']} every 500 h",
                instructions="Change oil and filters; check belts.",
                trigger="meter",
                meter="hours",
                meter_interval=500,
                lead_days=7,
                priority="medium",
            )
        else:
            plan = PlanIn(
                asset_id=machine["id"],
                title=f"Monthly inspection of {machine['name']}",
                instructions="Inspect, clean, lubricate; record findings.",
                trigger="calendar",
                schedule="fixed" if i % 2 else "floating",
                interval_days=30,
                lead_days=5,
                next_due_at=now + timedelta(days=rng.randint(-3, 25)),
                priority="low",
            )
        await plans.create(deps, manager, plan)

    statuses = [s for s, n in STATUS_MIX.items() for _ in range(n)]
    rng.shuffle(statuses)
    for status in statuses:
        target = rng.choice(components + machines)
        title = rng.choice(PROBLEMS).format(a=target["name"])
        requester = people["rita"] if status == Status.REQUESTED or rng.random() < 0.3 else manager
        tech = rng.choice(technicians)
        order = await orders.create(
            deps,
            requester,
            OrderIn(
                title=title,
                description=f"Reported at {target['code']}.",
                asset_id=target["id"],
                priority=rng.choice(["low", "medium", "medium", "high", "critical"]),
                type=rng.choice(["corrective", "corrective", "inspection", "emergency"]),
                due_at=now + timedelta(days=rng.randint(-5, 20)),
            ),
        )
        path = list(PATHS[status])
        if requester is manager and path and path[0] == Status.OPEN:
            path = path[1:]  # a manager's order starts open
        if path:
            order = await orders.update(deps, manager, order["id"], OrderPatch(assignee_id=tech.user_id), None)
        for to in path:
            actor = tech if to in (Status.IN_PROGRESS, Status.ON_HOLD, Status.COMPLETED) else manager
            await orders.transition(deps, actor, order["id"], TransitionIn(to=to), None)
    pumps = [c for c in components if c["type"] == "pump"]
    await seed_work(deps, manager, {"tess": people["tess"], "theo": people["theo"]}, machines, pumps)
    await seed_parts(deps, manager, people["tess"], machines)
    return logins


def summary(logins: list[dict[str, str]], url: str) -> list[str]:
    """What `cmms demo` prints: the logins, then the exact command lines to log in with."""
    lines = [f"demo tenant '{TENANT}' created. Logins (tenant {TENANT}):"]
    lines += [f"  {login['role']:<11} {login['email']:<28} {login['password']}" for login in logins]
    technician = next((x["email"] for x in logins if x["role"] == Role.TECHNICIAN.value), CONSOLE_EMAIL)
    lines += [
        "Log in with the technicians' console (it asks for the password):",
        f"  {tui_command(url, TENANT, technician)}",
        "or with the API:",
        f"  curl -s {url}/api/v1/auth/login -H 'Content-Type: application/json' \\",
        f'    -d \'{{"tenant": "{TENANT}", "email": "{technician}", "password": "..."}}\'',
    ]
    return lines
