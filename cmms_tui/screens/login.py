"""Login: pre-filled from the command line (or the saved session), focus on the first empty field.

A saved refresh token for the same server, tenant and email is tried first, so the next start needs
no password until the session expires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from cmms_tui.client import ApiClient
from cmms_tui.client_errors import ApiError, SessionExpired, Unreachable
from cmms_tui.failures import ReportsFailures

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp, Options

FIELDS = ("server", "tenant", "email", "password")
LABELS = {"server": "Server", "tenant": "Tenant", "email": "Email", "password": "Password"}


class LoginScreen(ReportsFailures, Screen[None]):
    BINDINGS = [Binding("ctrl+s", "submit", "Log in", priority=True)]
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    #login-box { width: 70; max-width: 100%; height: auto; border: round $accent; padding: 0 1; }
    #login-box .row { height: 1; margin-top: 1; }
    #login-box .row Label { width: 10; }
    #login-box .row Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    #login-box .error { color: $error; height: auto; padding-left: 10; display: none; }
    #login-box .error.-shown { display: block; }
    #login-box Button { margin-top: 1; width: 100%; height: 1; border: none; min-width: 0; }
    #status { margin-top: 1; height: auto; }
    """

    def __init__(self, options: Options, *, message: str = "", resume: bool = True) -> None:
        super().__init__()
        self.options = options
        self.message = message
        self.resume = resume

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Static(Text("CMMS console · log in", style="bold"))
            for name in FIELDS:
                with Horizontal(classes="row"):
                    yield Label(LABELS[name], id=f"label-{name}")
                    yield Input(id=name, password=name == "password", placeholder=self._placeholder(name))
                yield Static("", id=f"error-{name}", classes="error")
            yield Button("Log in", id="login", variant="primary")
            yield Static(Text(self.message), id="status")
        yield Footer(compact=True)

    @staticmethod
    def _placeholder(name: str) -> str:
        return {"server": "http://127.0.0.1:8080", "tenant": "e.g. demo", "email": "you@example.com"}.get(name, "")

    def on_mount(self) -> None:
        saved = self.cmms.session_file.read()
        options = self.options
        server = options.server or (saved.server if saved else "") or ""
        tenant = options.tenant or (saved.tenant if saved and saved.server == server else "") or ""
        email = options.email or (saved.email if saved and saved.server == server else "") or ""
        if not server:
            from cmms_tui.app import DEFAULT_SERVER

            server = DEFAULT_SERVER
        for name, value in (("server", server), ("tenant", tenant), ("email", email)):
            self.query_one(f"#{name}", Input).value = value
        self._focus_first_empty()
        if self.resume and saved is not None and (saved.server, saved.tenant, saved.email) == (server, tenant, email):
            self._status(f"Resuming the saved session of {email}…")
            self.resume_session(saved.refresh_token)

    def _focus_first_empty(self) -> None:
        for name in FIELDS:
            field = self.query_one(f"#{name}", Input)
            if not field.value:
                field.focus()
                return
        self.query_one("#login", Button).focus()

    def _status(self, message: str, style: str = "") -> None:
        self.query_one("#status", Static).update(Text(message, style=style))

    def _values(self) -> dict[str, str]:
        return {name: self.query_one(f"#{name}", Input).value.strip() for name in FIELDS}

    def _show_errors(self, errors: dict[str, str]) -> None:
        for name in FIELDS:
            error = self.query_one(f"#error-{name}", Static)
            error.update(Text(errors.get(name, "")))
            error.set_class(bool(errors.get(name)), "-shown")

    @on(Input.Submitted)
    def _next_or_submit(self, event: Input.Submitted) -> None:
        values = self._values()
        empty = [name for name in FIELDS if not values[name]]
        if empty:
            self.query_one(f"#{empty[0]}", Input).focus()
        else:
            self.action_submit()

    @on(Button.Pressed, "#login")
    def _pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        values = self._values()
        missing = {name: "required" for name in FIELDS if not values[name]}
        self._show_errors(missing)
        if missing:
            self.query_one(f"#{next(iter(missing))}", Input).focus()
            return
        self._status("Logging in…")
        self.log_in(values)

    def _client(self, server: str, tenant: str, email: str) -> ApiClient:
        keeper = self.cmms.session_file
        keeper.bind(server.rstrip("/"), tenant, email)
        return ApiClient(server, keeper=keeper)

    @work(exclusive=True, group="login", exit_on_error=False)
    async def log_in(self, values: dict[str, str]) -> None:
        api = self._client(values["server"], values["tenant"], values["email"])
        try:
            await api.login(values["tenant"], values["email"], values["password"])
            self._status("Loading…")
            await self.cmms.start_session(api)
        except ApiError as exc:
            await api.close()
            errors = exc.by_field()
            if exc.status == 401:
                errors.setdefault("password", exc.detail)
            self._show_errors(errors)
            self._status(exc.detail, "bold red")
            self.query_one("#password", Input).focus()
        except Unreachable as exc:
            await api.close()
            self._show_errors({"server": "cannot reach this server"})
            self._status(str(exc), "bold red")
            self.query_one("#server", Input).focus()

    @work(exclusive=True, group="login", exit_on_error=False)
    async def resume_session(self, refresh_token: str) -> None:
        values = self._values()
        api = self._client(values["server"], values["tenant"], values["email"])
        try:
            await api.resume(refresh_token)
            await self.cmms.start_session(api)
        except SessionExpired:
            await api.close()
            self.cmms.session_file.delete()
            self._status("The saved session has expired: enter your password.", "yellow")
            self.query_one("#password", Input).focus()
        except (ApiError, Unreachable) as exc:
            await api.close()
            self._status(f"Could not resume the saved session: {exc}. Log in, or try again.", "bold red")
            self.query_one("#password", Input).focus()
