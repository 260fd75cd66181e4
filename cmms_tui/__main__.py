"""`cmms-tui [--server URL] [--tenant T] [--email E]` (entry point: cmms_tui.__main__:main)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cmms_tui.app import Options, make_app


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="cmms-tui", description="The CMMS technicians' console.")
    parser.add_argument("--server", help="Server URL (default: the saved session's, else http://127.0.0.1:8080)")
    parser.add_argument("--tenant", help="Tenant name, pre-filled on the login screen")
    parser.add_argument("--email", help="Email, pre-filled on the login screen")
    parser.add_argument("--config-dir", type=Path, help="Where the saved session lives (default: user config dir)")
    parser.add_argument(
        "--downloads",
        type=Path,
        help="Where job results (exports, reports) are saved (default: your Downloads folder, else the current one)",
    )
    args = parser.parse_args(argv)
    return Options(
        server=args.server, tenant=args.tenant, email=args.email, config_dir=args.config_dir, downloads=args.downloads
    )


def main(argv: Sequence[str] | None = None) -> int:
    app = make_app(parse(argv))
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
