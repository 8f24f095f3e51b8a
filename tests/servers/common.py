"""Helpers shared by the server fixtures: the missing-binary policy, free ports, waiting."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import pytest


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where a missing server is a failure."""
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Apply the policy for an unavailable server: skip locally, fail in CI.

    Args:
        reason: One line naming what is missing and how to install it.
    """
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_binary(path_or_name: str, package: str) -> str:
    """Return the absolute path of a server binary, or skip/fail by :func:`missing`.

    Args:
        path_or_name: An absolute path (``/usr/sbin/dovecot``) or a name looked up on PATH.
        package: The Debian package that provides it, for the message.
    """
    if os.path.isabs(path_or_name):
        if os.access(path_or_name, os.X_OK):
            return path_or_name
    else:
        found = shutil.which(path_or_name)
        if found:
            return found
    missing(f"{path_or_name} not found (apt-get install {package})")
    raise AssertionError("unreachable")  # pragma: no cover - missing() always raises


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> bool:
    """Poll until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file, for failure messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def descendants(root: int) -> set[int]:
    """Every process under ``root`` (children, grandchildren…), read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def mail_with_attachment(n: int, size: int, *, domain: str = "example.test") -> bytes:
    """Message ``n`` from a customer carrying a base64 attachment of about ``size`` bytes (a log, a screenshot)."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n"
    return (
        f"From: Customer {n} <customer{n}@{domain}>\r\nTo: support@northwind.example\r\n"
        f"Subject: Export fails ({n})\r\nMessage-ID: <attached{n}@{domain}>\r\n"
        "Date: Mon, 2 Mar 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe export fails again, the log is attached.\r\n"
        '--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="export.log"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + line * max(1, size // len(line)) + b"--b--\r\n"
