"""Run the fault matrix against local Toggl emulators and print what each case did.

Every case of ``scripts/devkit/fault_matrix`` (one client method, one fault) runs against a
fresh emulator, with a client whose waits are recorded instead of slept. The table shows the requests
the emulator saw, the waits, how the call ended and whether that is what the retry policy promises.
Exits 1 when any case departs from the policy.

    .venv/bin/python scripts/fault_matrix.py [--only TEXT]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from airflow_toggl.client import TogglAuth, TogglClient
    from airflow_toggl.emulator import TogglEmulator
    from devkit.fault_matrix.cases import Case
    from devkit.fault_matrix.run import Observation


def run(case: Case) -> Observation:
    """One case on its own emulator(s); every client and emulator is closed afterwards."""
    from airflow_toggl.client import ClientConfig, TogglClient
    from airflow_toggl.emulator import TogglEmulator
    from devkit.fault_matrix.run import Bench, RecordingSleep, run_case

    sleep = RecordingSleep()
    clients: list[TogglClient] = []
    emulators: list[TogglEmulator] = []

    def make_client(auth: TogglAuth | None = None, **config: Any) -> TogglClient:
        client = TogglClient(ClientConfig(**config), auth, sleep=sleep)
        clients.append(client)
        return client

    def new_emulator(port: int) -> TogglEmulator:
        emulator = TogglEmulator(port=port).start()
        emulators.append(emulator)
        return emulator

    try:
        return run_case(case, Bench(new_emulator(0), make_client, sleep, new_emulator))
    finally:
        for client in clients:
            client.close()
        for emulator in reversed(emulators):
            emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--only", default="", help="run only the cases whose id contains TEXT")
    args = parser.parse_args(argv)

    from devkit.fault_matrix.cases import CASES, KNOWN_BUGS
    from devkit.fault_matrix.policy import (
        BACKOFF_CAP,
        MAX_QUOTA_WAIT,
        MAX_RETRIES,
        NORMAL_TIMEOUT,
        SHORT_TIMEOUT,
        SLOW_DELAY,
    )
    from devkit.fault_matrix.run import mismatches
    from devkit.fault_matrix.table import matrix_table, policy_table, table_row

    # The client logs every retry and urllib3 every half-written header: the table says it all.
    for name in ("airflow_toggl", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    cases = [case for case in CASES if args.only in case.id]
    if not cases:
        parser.error(f"no case id contains {args.only!r}")

    print(
        f"Client: max_retries={MAX_RETRIES}, max_quota_wait={MAX_QUOTA_WAIT:g}s, backoff_cap={BACKOFF_CAP:g}s, "
        f"timeout={NORMAL_TIMEOUT:g}s ({SHORT_TIMEOUT:g}s against an answer delayed {SLOW_DELAY:g}s)."
    )
    print(f"\nIs another attempt made?\n{policy_table()}")

    rows: list[tuple[str, ...]] = []
    failures: list[str] = []
    for case in cases:
        observed = run(case)
        rows.append(table_row(case, observed, known_bug=case.id in KNOWN_BUGS))
        problems = mismatches(case.expected, observed)
        if problems:
            failures.append(f"{case.id}: {'; '.join(problems)}")

    print(f"\n{matrix_table(rows)}\n")
    print(f"{len(cases)} cases: {len(cases) - len(failures)} as documented, {len(failures)} not.")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    # Importing Airflow (through the package's exceptions) writes into AIRFLOW_HOME: use a scratch one.
    home = tempfile.mkdtemp(prefix="toggl-fault-matrix-")
    os.environ["AIRFLOW_HOME"] = home
    try:
        status = main()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    sys.exit(status)
