"""The fault matrix: every client method against every network and HTTP fault.

Each case pairs one ``TogglClient`` method with one fault injected into the emulator (or a closed
port) and says what the retry policy in ``docs/architecture.md`` promises: how many requests reach
Toggl, how long the client waits between them, and how the call ends. The expectation is computed
from the policy table alone (:data:`.policy.RETRIED`, row by row) and the client settings of
:mod:`.policy`; it is never read back from the client's own code.

- :mod:`.policy`: the client settings of every case and the policy table;
- :mod:`.faults`: the faults and how the emulator produces them;
- :mod:`.methods`: the client methods, each with the state it needs and a check of its answer;
- :mod:`.cases`: the cases and what the policy promises for each;
- :mod:`.run`: running a case and comparing what happened with the promise;
- :mod:`.table`: the printed table.

Shared by ``tests/faults/test_fault_matrix.py`` and ``scripts/fault_matrix.py``. Nothing here
imports pytest or a test fixture, so the script runs the cases against emulators it starts itself.
"""
