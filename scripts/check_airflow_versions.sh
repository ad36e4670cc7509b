#!/usr/bin/env bash
# Checks which Apache Airflow releases airflow-toggl works on, and prints a pass/fail table.
#
#   scripts/check_airflow_versions.sh 3.1.0 3.1.1 3.2.2 3.3.2
#
# For each version: a fresh virtualenv under a temporary directory, "apache-airflow==VERSION" with the
# test tools, this checkout installed editable without dependencies, then the quick test subset
# (no end-to-end or reliability tests). The checkout's own .venv is not touched.
#
# Old Airflow releases need the library versions of their day: today's cadwyn, fastapi or structlog
# break their task runner before any provider code runs. So each install is constrained, by the
# first of these that is available ("Install" column):
#   official  the constraints file Airflow published for the release (needs network access)
#   custom    the file AIRFLOW_CONSTRAINTS names
#   pins      a few pins per release series, kept below (enough for the task runner to work)
#   none      AIRFLOW_CONSTRAINTS=none: whatever pip resolves today
#
# Settings (environment variables):
#   PYTHON               interpreter the virtualenvs are made from (default: python3)
#   AIRFLOW_CONSTRAINTS  where to read the constraints: a URL or a path, with {version} and {python}
#                        (e.g. 3.11) replaced; "none" for no constraints. Default: Airflow's URL.
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
TEST_PATHS="${TEST_PATHS:-tests/client tests/hooks tests/sessions tests/triggers tests/provider tests/operators tests/dags tests/emulator}"
JOBS="${JOBS:-1}"

if [ "$#" -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

# Pins for when the published constraints cannot be read: the versions these releases were tested
# with here (cadwyn 9 and fastapi 0.16x break 3.0-3.2's execution API; structlog 26 breaks 3.1.0;
# 3.1's Fernet wrapper fails on cryptography 51, and its JWTs on PyJWT 2.15).
series_pins() {
  case "$1" in
    3.0.*) printf '%s\n' cadwyn==5.3.3 fastapi==0.115.12 starlette==0.46.2 pydantic==2.11.5 ;;
    3.1.*) printf '%s\n' cadwyn==5.4.6 fastapi==0.117.1 starlette==0.48.0 structlog==25.4.0 cryptography==44.0.3 pyjwt==2.10.1 ;;
    3.2.*) printf '%s\n' cadwyn==7.0.0 fastapi==0.136.3 ;;
    *) ;;
  esac
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/airflow-toggl-versions.XXXXXX")"
if [ "${KEEP_VENVS:-0}" = "1" ]; then
  echo "Working directory (kept): $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
PY_MINOR="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

# Writes the constraints for version $1 to file $2 and prints their kind (see the header).
write_constraints() {
  local version="$1" target="$2" source kind
  if [ "$CONSTRAINTS" = "none" ]; then
    : >"$target"
    echo "none"
    return
  fi
  source="${CONSTRAINTS//\{version\}/$version}"
  source="${source//\{python\}/$PY_MINOR}"
  kind="official"
  [ -n "${AIRFLOW_CONSTRAINTS:-}" ] && kind="custom"
  case "$source" in
    http://* | https://*)
      if "$PYTHON" - "$source" "$target" 2>/dev/null <<'EOF'; then
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
    data = response.read()
with open(sys.argv[2], "wb") as out:
    out.write(data)
EOF
        echo "$kind"
        return
      fi
      ;;
    *)
      if [ -r "$source" ] && cp "$source" "$target"; then
        echo "$kind"
        return
      fi
      ;;
  esac
  series_pins "$version" >"$target"
  echo "pins"
}

# Builds the venv for version $1, runs the tests, and writes "install<TAB>summary<TAB>first failure"
# to $WORK/$1.result. Logs go to $WORK/$1.install.log and $WORK/$1.pytest.log.
check_version() {
  local version="$1" venv="$WORK/venv-$1" log="$WORK/$1.install.log" out="$WORK/$1.pytest.log"
  local constraints="$WORK/$1.constraints.txt" install summary first
  install="$(write_constraints "$version" "$constraints")"
  if ! { "$PYTHON" -m venv "$venv" \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --constraint "$constraints" \
        "apache-airflow==$version" pytest pytest-timeout hypothesis jsonschema \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"; \
    } >"$log" 2>&1; then
    printf '%s\t%s\t%s\n' "$install" "install failed" "see $log" >"$WORK/$version.result"
    return
  fi
  # Run from the checkout (the tests find the venv's `airflow` next to its interpreter).
  # shellcheck disable=SC2086
  (cd "$ROOT" && "$venv/bin/python" -m pytest $TEST_PATHS -p no:cacheprovider -q -rfE) >"$out" 2>&1
  summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped)[^=]* in [0-9.]+s' "$out" | tail -n 1 \
    | sed -E 's/^=+ //; s/ in [0-9.]+s.*$//')"
  first="$(grep -m 1 -E '^(FAILED|ERROR) ' "$out" | cut -c1-160)"
  if [ -z "$summary" ]; then
    # pytest stopped before running anything (e.g. a conftest failed to import): show the error.
    summary="did not run"
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
printf '\n%-9s %-6s %-9s %-44s %s\n' "Airflow" "Result" "Install" "Tests" "First failure"
for version in "$@"; do
  IFS=$'\t' read -r install summary first <"$WORK/$version.result"
  if [[ "$summary" =~ passed ]] && ! [[ "$summary" =~ failed|error ]]; then
    result="PASS"
  else
    result="FAIL"
    status=1
  fi
  printf '%-9s %-6s %-9s %-44s %s\n' "$version" "$result" "$install" "$summary" "$first"
done
exit "$status"
