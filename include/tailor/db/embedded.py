"""The embedded PostgreSQL server behind ``tailor db up``.

Real PostgreSQL binaries (the ``pgserver`` wheel's, or a system install named
by ``TAILOR_PG_BIN``) run with their own data directory under ``.tailor/pg``,
listening on 127.0.0.1 only, with ``wal_level=logical`` so Debezium can read
the write-ahead log. PostgreSQL refuses to run as root, so when Tailor is
started as root the server runs as an unprivileged system user (``tailor``).

The chosen port and the generated superuser password are kept in a small
state file (mode 0600) so every later command finds the same server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tailor.config import Settings

if TYPE_CHECKING:
    import psycopg

SERVICE_USER = "tailor"
SUPERUSER = "tailor"
DATABASES = ("shop", "warehouse")

# Server settings Tailor relies on: logical decoding for Debezium, loopback
# only, and enough WAL headroom for bulk seeding without checkpoint storms.
SERVER_CONF = {
    "listen_addresses": "'127.0.0.1'",
    "wal_level": "logical",
    "max_replication_slots": "16",
    "max_wal_senders": "16",
    "max_wal_size": "'2GB'",
    "wal_buffers": "'64MB'",  # bulk COPY with full WAL logging stalls on the 8MB default
    "shared_buffers": "'256MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "timezone": "'UTC'",
    "log_min_messages": "warning",
}

# Passed on every start (-c), so servers initialised before a setting was
# added get it too. An idle logical slot keeps every WAL segment the whole
# cluster writes after its position, other databases' included: on a
# machine running benchmarks next to an uncaptured shop, one idle slot kept
# 66 GB, filled the disk and crashed the server mid-build. Past the cap
# PostgreSQL invalidates the slot instead (pg_replication_slots.wal_status
# 'lost'; the capture then fails with PostgreSQL's "can no longer get
# changes from replication slot"), which a re-snapshot recovers from; a
# full disk takes both databases down.
START_CONF = {
    "max_slot_wal_keep_size": "10GB",
}


def create_database(conn: psycopg.Connection, name: str) -> None:
    """CREATE DATABASE `name` comparing text byte by byte (collation C).

    The cluster's locale (C.UTF-8 here) orders text by code point too, but
    PostgreSQL only takes its fast path for the collation named C: memcmp
    and abbreviated sort keys instead of strcoll per comparison. Sorting
    100k person ids took 80 ms against 31 ms, and every sort, merge join,
    grouping and index build on a text key in the warehouse pays that. The
    order is the same (UTF-8 bytes sort like code points), and character
    classes (lower(), regular expressions) keep the cluster's LC_CTYPE.
    `conn` is an autocommit connection to another database.
    """
    from psycopg import sql

    (ctype,) = conn.execute("select datctype from pg_database where datname = 'template0'").fetchone()
    conn.execute(sql.SQL("create database {} template template0 lc_collate 'C' lc_ctype {}").format(
        sql.Identifier(name), sql.Literal(ctype)))


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started, stopped or found."""


@dataclass
class ServerState:
    port: int
    password: str
    bin_dir: str
    user: str = SUPERUSER

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"


def find_bin_dir(settings: Settings) -> Path:
    """Where ``initdb``/``pg_ctl`` live: TAILOR_PG_BIN, else the pgserver wheel."""
    if settings.pg_bin_dir:
        candidate = settings.pg_bin_dir
    else:
        # Locate the wheel without importing it: its __init__ does work we don't need.
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedPostgresError(
                "No PostgreSQL binaries: the 'pgserver' package is not installed. "
                "Run 'make install', or set TAILOR_PG_BIN to a PostgreSQL bin directory."
            )
        candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (candidate / "pg_ctl").exists():
        raise EmbeddedPostgresError(
            f"No pg_ctl in {candidate}. Set TAILOR_PG_BIN to the bin directory of "
            "PostgreSQL >= 15 (for example /usr/lib/postgresql/16/bin)."
        )
    return candidate


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(preferred: int) -> int:
    """The preferred port when it is free, else one the OS hands out."""
    if port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """Lifecycle of the embedded server. Every method is idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.pg_data_dir
        self.root = self.data_dir.parent
        self.log_file = self.root / "postgres.log"
        self.state_file = settings.pg_state_file

    # ----- running as an unprivileged user ----------------------------------
    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _ensure_service_user(self) -> None:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            useradd = shutil.which("useradd")
            if not useradd:
                raise EmbeddedPostgresError(
                    "PostgreSQL cannot run as root and there is no 'useradd' to create "
                    f"the '{SERVICE_USER}' user. Run Tailor as an ordinary user instead."
                ) from None
            subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                check=True,
                capture_output=True,
            )

    def _chown_tree(self) -> None:
        entry = pwd.getpwnam(SERVICE_USER)
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {"capture_output": True, "text": True, "cwd": self.root}
        if self._as_root:
            kwargs["user"] = SERVICE_USER
            kwargs["group"] = pwd.getpwnam(SERVICE_USER).pw_gid
            kwargs["extra_groups"] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8" if Path("/usr/lib/locale/C.utf8").exists() else "C"
        kwargs["env"] = env
        result = subprocess.run(args, **kwargs)
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{Path(args[0]).name} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}\nServer log: {self.log_file}"
            )
        return result

    # ----- state --------------------------------------------------------------
    def read_state(self) -> ServerState | None:
        if not self.state_file.exists():
            return None
        return ServerState(**json.loads(self.state_file.read_text()))

    def _write_state(self, state: ServerState) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(state), indent=2))
        os.chmod(self.state_file, 0o600)

    # ----- lifecycle ------------------------------------------------------------
    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        bin_dir = find_bin_dir(self.settings)
        return self._run([str(bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False).returncode == 0

    def init(self) -> ServerState:
        """Create the cluster once; later calls return the existing state."""
        state = self.read_state()
        if self.is_initialized() and state:
            return state
        bin_dir = find_bin_dir(self.settings)
        self.root.mkdir(parents=True, exist_ok=True)
        if self.data_dir.exists() and not self.is_initialized():
            shutil.rmtree(self.data_dir)  # a half-finished initdb from a crash
        password = secrets.token_urlsafe(24)
        pwfile = self.root / ".pwfile"
        pwfile.write_text(password + "\n")
        os.chmod(pwfile, 0o600)
        if self._as_root:
            self._ensure_service_user()
            self._chown_tree()
        try:
            self._run([
                str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer",
                "--encoding=UTF8", "--lc-collate=C", "--no-instructions",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# --- added by tailor db up ---\n")
            conf.write(f"unix_socket_directories = '{self.root}'\n")
            for key, value in SERVER_CONF.items():
                conf.write(f"{key} = {value}\n")
        state = ServerState(port=self.settings.pg_port, password=password, bin_dir=str(bin_dir))
        self._write_state(state)
        return state

    def up(self) -> ServerState:
        """Initialise if needed, start if not running, create the databases."""
        state = self.init()
        if not self.is_running():
            self._clear_stale_pid()
            state.port = pick_port(state.port if port_is_free(state.port) else self.settings.pg_port)
            self._write_state(state)
            if self._as_root:
                self._chown_tree()
            bin_dir = find_bin_dir(self.settings)
            self._run([
                str(bin_dir / "pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", "60", "-o",
                " ".join([f"-c port={state.port}", *(f"-c {key}={value}" for key, value in START_CONF.items())]),
            ])
        self._create_databases(state)
        return state

    def down(self) -> bool:
        """Stop the server; False when it was not running."""
        if not self.is_running():
            return False
        bin_dir = find_bin_dir(self.settings)
        self._run([str(bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"])
        return True

    def _clear_stale_pid(self) -> None:
        """A postmaster.pid left by a crash blocks start only if its pid is alive."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"postgres" in cmdline:
                return  # a live postgres owns it; pg_ctl will report it
        except (ValueError, IndexError, ProcessLookupError, FileNotFoundError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)

    def _create_databases(self, state: ServerState) -> None:
        import psycopg

        with psycopg.connect(state.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            existing = {row[0] for row in conn.execute("select datname from pg_database")}
            for name in DATABASES:
                if name not in existing:
                    create_database(conn, name)
