#!/bin/sh
# Conformance runner of the devlab set-top-box reference image.
# usage: run.sh [group...]   groups: boot media network storage drm (default: all)
# Writes JUnit XML to $RESULTS_DIR/junit.xml (default /results); exit 0 only when every check passed.
ROOT=/opt/conformance/checks
OUT=${RESULTS_DIR:-/results}
mkdir -p "$OUT" /tmp
groups="$*"
[ -n "$groups" ] || groups=$(ls "$ROOT")
cases=/tmp/conformance-cases.$$
: > "$cases"
total=0
failed=0
esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
for g in $groups; do
  if [ ! -d "$ROOT/$g" ]; then
    echo "unknown group: $g" >&2
    exit 2
  fi
  for check in "$ROOT/$g"/*.sh; do
    name=${check##*/}
    name=${name%.sh}
    total=$((total + 1))
    start=$(date +%s)
    if out=$(sh "$check" 2>&1); then
      echo "PASS $g/$name"
      printf '  <testcase classname="conformance.%s" name="%s" time="%s"/>\n' "$g" "$name" "$(($(date +%s) - start))" >> "$cases"
    else
      failed=$((failed + 1))
      echo "FAIL $g/$name: $out"
      msg=$(printf '%s' "$out" | head -n 1 | esc)
      body=$(printf '%s' "$out" | esc)
      printf '  <testcase classname="conformance.%s" name="%s" time="%s"><failure message="%s">%s</failure></testcase>\n' \
        "$g" "$name" "$(($(date +%s) - start))" "$msg" "$body" >> "$cases"
    fi
  done
done
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  printf '<testsuite name="conformance" tests="%d" failures="%d">\n' "$total" "$failed"
  cat "$cases"
  echo '</testsuite>'
} > "$OUT/junit.xml"
rm -f "$cases"
echo "$total checks, $failed failed"
[ "$failed" -eq 0 ]
