#!/usr/bin/env bash
# Checks which Apache Airflow releases airflow-toggl works on, and prints a pass/fail table.
#
#   scripts/check_airflow_versions.sh 3.0.6 3.1.8 3.2.2 3.3.2
#
# For each version: a fresh virtualenv under a temporary directory, "apache-airflow==VERSION" with the
# test tools, this checkout installed editable without dependencies, then the quick test subset
# (no end-to-end or reliability tests). The checkout's own .venv is not touched.
#
# Settings (environment variables):
#   PYTHON               interpreter the virtualenvs are made from (default: python3)
#   AIRFLOW_CONSTRAINTS  constraints file for each install: a URL or a path, with {version} and
#                        {python} (e.g. 3.11) replaced. Default: the constraints Airflow publishes
#                        for each release. Old releases need them: newer libraries (cadwyn, fastapi,
#                        structlog...) break their task runner. Set it to "none" to install
#                        unconstrained; a file that cannot be read also means unconstrained, and the
#                        table says so.
#   TEST_PATHS           what pytest runs (default: the quick subset)
#   JOBS                 versions checked at the same time (default: 1)
#   KEEP_VENVS=1         keep the temporary directory (its path is printed)
#
# Exits 0 when every version passed, 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DEFAULT_CONSTRAINTS="https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-{python}.txt"
CONSTRAINTS="${AIRFLOW_CONSTRAINTS:-$DEFAULT_CONSTRAINTS}"
TEST_PATHS="${TEST_PATHS:-tests/unit tests/client tests/hook tests/provider tests/operators tests/emulator}"
JOBS="${JOBS:-1}"

if [ "$#" -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/airflow-toggl-versions.XXXXXX")"
if [ "${KEEP_VENVS:-0}" = "1" ]; then
  echo "Working directory (kept): $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
PY_MINOR="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

# Writes the constraints for $1 to $2; prints where they came from ("" when none could be read).
fetch_constraints() {
  local version="$1" target="$2" source
  [ "$CONSTRAINTS" = "none" ] && return 0
  source="${CONSTRAINTS//\{version\}/$version}"
  source="${source//\{python\}/$PY_MINOR}"
  case "$source" in
    http://* | https://*)
      "$PYTHON" - "$source" "$target" <<'EOF' 2>/dev/null && echo "$source"
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
    data = response.read()
with open(sys.argv[2], "wb") as out:
    out.write(data)
EOF
      ;;
    *) [ -r "$source" ] && cp "$source" "$target" && echo "$source" ;;
  esac
  return 0
}

# Builds the venv for version $1, runs the tests, and writes "install<TAB>summary<TAB>first failure"
# to $WORK/$1.result. Logs go to $WORK/$1.install.log and $WORK/$1.pytest.log.
check_version() {
  local version="$1" venv="$WORK/venv-$1" log="$WORK/$1.install.log" out="$WORK/$1.pytest.log"
  local constraints="$WORK/$1.constraints.txt" source install args=()
  source="$(fetch_constraints "$version" "$constraints")"
  if [ -n "$source" ]; then
    install="constrained"
    args=(--constraint "$constraints")
  else
    install="unconstrained"
  fi
  if ! { "$PYTHON" -m venv "$venv" \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" \
        "apache-airflow==$version" pytest pytest-timeout hypothesis jsonschema \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"; \
    } >"$log" 2>&1; then
    printf '%s\t%s\t%s\n' "$install" "install failed" "see $log" >"$WORK/$version.result"
    return
  fi
  # Run from the checkout (the tests find the venv's `airflow` next to its interpreter).
  # shellcheck disable=SC2086
  (cd "$ROOT" && "$venv/bin/python" -m pytest $TEST_PATHS -p no:cacheprovider -q -rfE) >"$out" 2>&1
  local summary first
  summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped)[^=]* in [0-9.]+s' "$out" | tail -n 1 \
    | sed -E 's/^=+ //; s/ in [0-9.]+s.*$//')"
  first="$(grep -m 1 -E '^(FAILED|ERROR) ' "$out" | cut -c1-160)"
  if [ -z "$summary" ]; then
    # pytest stopped before running anything (e.g. a conftest failed to import): show the error.
    summary="did not run (see $out)"
    first="$(grep -m 1 -E '^E +' "$out" | sed -E 's/^E +//' | cut -c1-160)"
  fi
  printf '%s\t%s\t%s\n' "$install" "$summary" "${first:--}" >"$WORK/$version.result"
}

running=0
for version in "$@"; do
  echo "Checking apache-airflow $version ..." >&2
  check_version "$version" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '\n%-9s %-6s %-14s %-40s %s\n' "Airflow" "Result" "Install" "Tests" "First failure"
for version in "$@"; do
  IFS=$'\t' read -r install summary first <"$WORK/$version.result"
  if [[ "$summary" =~ passed ]] && ! [[ "$summary" =~ failed|error ]]; then
    result="PASS"
  else
    result="FAIL"
    status=1
  fi
  printf '%-9s %-6s %-14s %-40s %s\n' "$version" "$result" "$install" "$summary" "$first"
done
exit "$status"
