"""The tests themselves cannot reach beyond loopback, in this process or in a `qa` child."""

import socket
import subprocess
import sys

import pytest


def test_connect_outside_loopback_fails_here():
    with pytest.raises(ConnectionRefusedError, match="must not leave loopback"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_connect_outside_loopback_fails_in_children():
    code = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "must not leave loopback" in out.stderr
