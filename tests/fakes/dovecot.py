"""A throwaway real Dovecot IMAP server on 127.0.0.1 (plain IMAP and IMAPS, free ports).

Started once per test session (Dovecot takes 2-5 s to stop). Each test works in its own
folder (``new_folder``), so UIDs and UIDVALIDITY never leak between tests. Needs root (CI is
root): the master runs as root, mail processes as ``nobody``, which owns the Maildir.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port, wait_for_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "bot@example.test", "botpass"
MAIL_UID = 65534
INSTALL_HINT = (
    "Dovecot is not installed: run `sudo apt-get install -y dovecot-imapd` "
    "(scripts/test does this for you)"
)


@dataclass
class Dovecot:
    root: Path
    port: int
    tls_port: int
    pid: int

    @property
    def cert(self) -> Path:
        return self.root / "tls" / "cert.pem"

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


def new_folder() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def start_dovecot() -> Dovecot:
    if not Path(DOVECOT).is_file():
        raise RuntimeError(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="frontdesk-dovecot-"))
    root.chmod(0o755)  # the login and auth processes run as dovenull/dovecot
    for sub in ("run", "state", "tls", "mail/bot/Maildir/cur", "mail/bot/Maildir/new",
                "mail/bot/Maildir/tmp"):  # fmt: skip
        (root / sub).mkdir(parents=True, exist_ok=True)
    for dirpath, _, files in os.walk(root / "mail"):
        os.chown(dirpath, MAIL_UID, MAIL_UID)
        for name in files:
            os.chown(Path(dirpath) / name, MAIL_UID, MAIL_UID)
    tls = root / "tls"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    (root / "users").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{MAIL_UID}:{MAIL_UID}::{root}/mail/bot\n"
    )
    port, tls_port = free_port(), free_port()
    config = root / "dovecot.conf"
    config.write_text(_CONFIG.format(root=root, port=port, tls_port=tls_port,
                                     name=root.name))  # fmt: skip
    # Dovecot daemonizes; its child would keep captured pipes open forever.
    subprocess.run([DOVECOT, "-c", str(config)], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    pidfile = root / "run" / "master.pid"
    deadline = time.monotonic() + 10
    while not pidfile.is_file() or not pidfile.read_text().strip():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Dovecot did not start; see {root / 'dovecot.log'}")
        time.sleep(0.02)
    server = Dovecot(root=root, port=port, tls_port=tls_port, pid=int(pidfile.read_text()))
    try:
        wait_for_port(port)
        wait_for_port(tls_port)
    except RuntimeError:
        server.stop()
        raise
    return server


_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = {name}
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""
