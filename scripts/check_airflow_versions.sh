#!/usr/bin/env bash
# Checks the Apache Airflow releases airflow-toggl supports, and prints a table (Markdown).
#
#   scripts/check_airflow_versions.sh                 # the supported releases (SUPPORTED below)
#   scripts/check_airflow_versions.sh --readme        # the same, and the table written into README.md
#   scripts/check_airflow_versions.sh 3.1.0 3.2.1     # any other releases
#
# SUPPORTED is the oldest release pyproject.toml declares (apache-airflow>=) and the newest release
# of each minor series since (`pip index versions apache-airflow` lists them); tests/docs checks
# that it starts at the declared floor and that README's table is this script's output for it.
#
# Each release runs in a virtualenv from scripts/airflow_venv, installed once per machine and then
# reused (the first check of a release takes minutes, later ones only the tests). What runs is the
# marker `versions` (set in tests/conftest.py), on two pytest-xdist workers: every test of the
# Airflow-facing folders (hook, provider, operators, sessions, triggers, DAGs, security) that
# starts no Airflow process, plus the provider's CLI tests and `airflow dags test` of the rotation
# and health DAGs. The client and emulator tests never import Airflow; the other Airflow-process
# tests run in the full suite, on the newest release.
#
# Settings (environment variables):
#   PYTHON               interpreter the virtualenvs are made from (default: python3)
#   AIRFLOW_CONSTRAINTS  see scripts/airflow_venv
#   TEST_PATHS           what pytest runs (default: the subset above)
#   WORKERS              pytest-xdist workers per release (default: 2)
#
# Exits 0 when every release passed, 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
SUPPORTED=(3.1.1 3.1.8 3.2.2 3.3.2)
TEST_PATHS="${TEST_PATHS:-tests}"
WORKERS="${WORKERS:-2}"
README_BEGIN="<!-- airflow-versions: begin (scripts/check_airflow_versions.sh --readme writes this table) -->"
README_END="<!-- airflow-versions: end -->"

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
write_readme=0
if [ "${1:-}" = "--readme" ]; then
  write_readme=1
  shift
  if [ "$#" -gt 0 ]; then
    echo "--readme checks the supported releases; it takes no versions" >&2
    exit 2
  fi
fi
versions=("$@")
[ "${#versions[@]}" -eq 0 ] && versions=("${SUPPORTED[@]}")

WORK="$(mktemp -d "${TMPDIR:-/tmp}/airflow-toggl-versions.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Runs the subset on release $1 and writes "install<TAB>seconds<TAB>summary<TAB>first failure" to
# $WORK/$1.result; pytest's output goes to $WORK/$1.pytest.log (printed when the release fails).
check_version() {
  local version="$1" venv out="$WORK/$1.pytest.log" install summary first start seconds
  if ! venv="$("$ROOT/scripts/airflow_venv" "$version")"; then
    printf '%s\t%s\t%s\t%s\n' "-" "-" "install failed" "see scripts/airflow_venv's log" >"$WORK/$version.result"
    return
  fi
  install="$(cat "$venv/.constraints-kind")"
  start="$(date +%s)"
  # From the checkout, with the checkout first on the path: its code is what runs, in pytest and in
  # the Airflow processes the tests start (they find the venv's `airflow` next to its interpreter).
  # shellcheck disable=SC2086
  (cd "$ROOT" && PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$venv/bin/python" -m pytest $TEST_PATHS \
    -n "$WORKERS" -m versions -p no:cacheprovider -q -rfEx) >"$out" 2>&1
  seconds="$(($(date +%s) - start))"
  summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped|xfailed)[^=]* in [0-9.]+s' "$out" | tail -n 1 \
    | sed -E 's/^=+ //; s/ in [0-9.]+s.*$//')"
  first="$(grep -m 1 -E '^(FAILED|ERROR) ' "$out" | cut -c1-160)"
  if [ -z "$summary" ]; then
    # pytest stopped before running anything (e.g. a conftest failed to import): show the error.
    summary="did not run"
    first="$(grep -m 1 -E '^E +' "$out" | sed -E 's/^E +//' | cut -c1-160)"
  fi
  printf '%s\t%s\t%s\t%s\n' "$install" "$seconds" "$summary" "${first:--}" >"$WORK/$version.result"
}

status=0
for version in "${versions[@]}"; do
  echo "Checking apache-airflow $version ..." >&2
  check_version "$version"
done

table="$WORK/table.md"
{
  echo "| Airflow | Result | Tests (marker \`versions\`) | Time | Constraints |"
  echo "|---|---|---|---|---|"
  for version in "${versions[@]}"; do
    IFS=$'\t' read -r install seconds summary first <"$WORK/$version.result"
    if [[ "$summary" =~ passed ]] && ! [[ "$summary" =~ (^|\ )[0-9]+\ (failed|errors?)(,|$) ]]; then
      result="pass"
    else
      result="FAIL: ${first//|/\\|}"
      status=1
      echo "--- apache-airflow $version: last lines of pytest's output" >&2
      tail -n 40 "$WORK/$version.pytest.log" >&2
    fi
    echo "| $version | $result | $summary | ${seconds} s | $install |"
  done
} >"$table"
echo
cat "$table"

if [ "$write_readme" = "1" ]; then
  "$PYTHON" - "$ROOT/README.md" "$table" "$README_BEGIN" "$README_END" <<'EOF'
import sys
from datetime import datetime, timezone
from pathlib import Path

readme, table, begin, end = Path(sys.argv[1]), Path(sys.argv[2]).read_text(), sys.argv[3], sys.argv[4]
text = readme.read_text()
if begin not in text or end not in text:
    sys.exit(f"{readme} has no {begin} ... {end} block")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
block = f"{begin}\n{table.rstrip()}\n\nChecked on {stamp} (Python {sys.version_info[0]}.{sys.version_info[1]}).\n{end}"
readme.write_text(head + block + tail)
print(f"Table written into {readme}")
EOF
fi
exit "$status"
