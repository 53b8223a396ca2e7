"""The README's DATABASE_URL for PostgreSQL over TLS (`?sslmode=verify-full&sslrootcert=…`,
psycopg 3), against a private cluster that accepts TLS connections only: the query survives
config.py, the app's engine (engine_options) connects over TLS, a server whose certificate
another CA signed is refused, and `flask backup` (pg_dump) goes over TLS too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from clinic.backup import backup_postgres
from clinic.extensions import db
from config import engine_options
from tests.conftest import make_test_app
from tests.ops.servers import PrivatePostgres, need
from tests.ops.settings import limiter_kept


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _authority(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
        "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    return key, cert


@pytest.fixture(scope="module")
def tls_cluster():
    """A cluster with a certificate for 127.0.0.1 signed by a private CA; plain (non-TLS)
    connections are refused."""
    need("openssl", shutil.which("openssl"))
    server = PrivatePostgres()
    certs = server.dir / "certs"
    certs.mkdir()
    ca_key, server.ca = _authority(certs, "clinic-db-ca")
    _key, server.other_ca = _authority(certs, "someone-else")
    key, request, cert = certs / "server.key", certs / "server.csr", certs / "server.pem"
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=db.internal",
        "-keyout", str(key), "-out", str(request),
    )  # fmt: skip
    extensions = certs / "san.ext"
    extensions.write_text("subjectAltName = IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(server.ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "1", "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip
    key.chmod(0o600)
    hba = server.data / "pg_hba.conf"
    hba.write_text(
        "local all all trust\n"
        "hostnossl all all 0.0.0.0/0 reject\n"
        "hostssl all all 127.0.0.1/32 trust\n"
    )
    for path in (certs, key, cert, hba):
        server.own(path)
    server.start("ssl=on", f"ssl_cert_file={cert}", f"ssl_key_file={key}")
    try:
        yield server
    finally:
        server.remove()


def _database_url(monkeypatch, url: str) -> str:
    """DATABASE_URL as config.py reads it."""
    import config

    monkeypatch.setenv("DATABASE_URL", url)
    return config._database_url("sqlite://")


def _readme_url(cluster: PrivatePostgres, ca: Path) -> str:
    """The form the README gives (its host, database and CA replaced)."""
    return (
        f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        f"?sslmode=verify-full&sslrootcert={ca}"
    )


def test_the_app_connects_over_tls_with_the_readme_url(tls_cluster, monkeypatch):
    uri = _database_url(monkeypatch, _readme_url(tls_cluster, tls_cluster.ca))
    assert uri.startswith("postgresql+psycopg://")
    parsed = sa.engine.make_url(uri)
    assert parsed.query == {"sslmode": "verify-full", "sslrootcert": str(tls_cluster.ca)}
    with limiter_kept():
        app = make_test_app(uri)
    assert "connect_timeout" in engine_options(app.config)["connect_args"]
    with app.app_context():
        with db.engine.connect() as connection:
            secured = connection.scalar(
                sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
            timeout = connection.scalar(sa.text("SHOW statement_timeout"))
        db.engine.dispose()
    assert secured is True
    assert timeout == "30s"  # the engine's own options still reach the server


def test_a_server_certificate_from_another_authority_is_refused(tls_cluster, monkeypatch):
    uri = _database_url(monkeypatch, _readme_url(tls_cluster, tls_cluster.other_ca))
    engine = sa.create_engine(uri, **engine_options({"SQLALCHEMY_DATABASE_URI": uri}))
    with pytest.raises(sa.exc.OperationalError, match="certificate verify failed"):
        engine.connect()
    engine.dispose()


def test_without_tls_the_server_refuses(tls_cluster):
    plain = f"postgresql+psycopg://postgres@127.0.0.1:{tls_cluster.port}/postgres?sslmode=disable"
    engine = sa.create_engine(plain)
    with pytest.raises(sa.exc.OperationalError, match="no encryption"):
        engine.connect()
    engine.dispose()


def test_backup_goes_over_tls_too(tls_cluster, monkeypatch, tmp_path):
    uri = _database_url(monkeypatch, _readme_url(tls_cluster, tls_cluster.ca))
    target = backup_postgres(sa.engine.make_url(uri), tmp_path / "clinic.dump")
    assert target.stat().st_size > 0
