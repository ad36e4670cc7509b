"""Run the scheduled session rotation DAG against a local Toggl emulator and say what happened.

Starts ``toggl-emulator`` on a free loopback port with one user, points ``toggl_default`` at it,
runs ``airflow dags test toggl_session_rotation`` twice (the first run creates the stored session,
the second rotates it: the emulator issues sessions shorter than the DAG's rotation threshold), then
prints the sessions the emulator saw created, verified and deleted, and the quota left, and scans
every log file it wrote for the password, the API token and every session cookie ever issued.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
DAG_ID = "toggl_session_rotation"
SESSION_TTL = 3 * 24 * 3600  # shorter than the DAG's 7-day threshold, so every run rotates


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    bin_dir = Path(sys.executable).parent
    email = "demo@example.com"
    password = "demo-" + secrets.token_urlsafe(12)
    api_token = secrets.token_hex(16)
    ready = WORK / "emulator.json"
    emulator = subprocess.Popen(
        [
            str(bin_dir / "toggl-emulator"),
            "--user",
            f"{email}:{password}:{api_token}",
            "--session-ttl",
            str(SESSION_TTL),
            "--rate-limit-rps",
            "1",
            "--rate-limit-burst",
            "3",
            "--quota-limit",
            "30",
            "--cookie-style",
            "no-eyj",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(WORK / "emulator.log").open("w"),
    )
    try:
        url = _wait_for(ready, emulator)["url"]
        print(f"Toggl emulator: {url} (user {email})")
        env = _airflow_env(url, email, password, api_token)
        _run([str(bin_dir / "airflow"), "db", "migrate"], env, WORK / "db-migrate.log")
        for run in (1, 2):
            log_file = WORK / f"dags-test-{run}.log"
            started = time.monotonic()
            _run([str(bin_dir / "airflow"), "dags", "test", DAG_ID], env, log_file)
            print(f"run {run}: airflow dags test {DAG_ID} succeeded in {time.monotonic() - started:.1f}s")
        _summary(url, email)
        _leak_scan(url, {"password": password, "API token": api_token})
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    return 0


def _wait_for(ready: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready.exists() and ready.stat().st_size:
            return json.loads(ready.read_text())
        if process.poll() is not None:
            raise SystemExit(f"the emulator exited early; see {WORK / 'emulator.log'}")
        time.sleep(0.1)
    raise SystemExit("the emulator did not start within 30s")


def _airflow_env(url: str, email: str, password: str, api_token: str) -> dict[str, str]:
    connection = {
        "conn_type": "toggl",
        "login": email,
        "password": password,
        "extra": {
            "api_token": api_token,
            "track_api_url": url,
            "accounts_api_url": url,
            "requests_per_second": 1,
            "max_retries": 5,
        },
    }
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(WORK / "airflow-home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection),
        }
    )
    return env


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _run(command: list[str], env: dict[str, str], log_file: Path) -> None:
    with log_file.open("w") as log:
        result = subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=600
        )
    if result.returncode != 0:
        print(log_file.read_text()[-4000:])
        raise SystemExit(f"{' '.join(command[-3:])} failed (exit {result.returncode}); full log: {log_file}")


def _control(url: str, path: str) -> object:
    with urllib.request.urlopen(f"{url}/_emulator/{path}", timeout=10) as response:  # noqa: S310 - loopback
        return json.load(response)


def _issued_cookies(url: str) -> list[str]:
    """Every session cookie the emulator issued, deleted ones included."""
    return [s["cookie"] for s in _control(url, "sessions?issued=true") if s.get("cookie")]  # type: ignore[union-attr]


def _log_files() -> list[Path]:
    """Every log the demo wrote: the runs' console output, the emulator's, Airflow's own under its home."""
    return sorted(path for path in WORK.rglob("*") if path.is_file() and (path.suffix == ".log" or "logs" in path.parts))


def _leak_scan(url: str, secrets_by_name: dict[str, str]) -> None:
    """Search every log file for the password, the token and every session cookie; say what was scanned."""
    cookies = _issued_cookies(url)
    found = {**secrets_by_name, **{f"session cookie {number}": c for number, c in enumerate(cookies, 1)}}
    files = _log_files()
    hits = [
        f"{name} in {path.relative_to(ROOT)}"
        for path in files
        for name, value in found.items()
        if value in path.read_text(errors="replace")
    ]
    kinds = ", ".join([*secrets_by_name, f"{len(cookies)} session cookie{'' if len(cookies) == 1 else 's'}"])
    print(f"\nleak scan: {len(files)} log files, {len(found)} secrets ({kinds}), {len(hits)} hits")
    if hits:
        raise SystemExit("a secret appears in a log: " + "; ".join(hits))


def _summary(url: str, email: str) -> None:
    counters = _control(url, "counters")
    requests_seen: dict[str, int] = counters["requests"]  # type: ignore[index]
    responses: dict[str, int] = counters["responses"]  # type: ignore[index]
    live = _control(url, f"sessions?email={email}")
    quota = _control(url, f"quota?email={email}")
    rows = [
        ("sessions created (POST /api/sessions 200)", responses.get("POST /api/sessions 200", 0)),
        ("identity checks (GET /api/v9/me 200)", responses.get("GET /api/v9/me 200", 0)),
        ("sessions deleted (DELETE /api/sessions 200)", responses.get("DELETE /api/sessions 200", 0)),
        ("sessions live at the end", len(live)),  # type: ignore[arg-type]
        ("rate limited (429)", counters.get("rate_limited", 0)),  # type: ignore[union-attr]
        ("hourly quota left for the user", quota.get("remaining")),  # type: ignore[union-attr]
        ("requests in all", sum(requests_seen.values())),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
