#!/usr/bin/env bash
# .ci/abi3_wheel.sh OUT_DIR
#
# Builds pinning's binary wheel (cp310-abi3: one extension for CPython 3.10 and every later one) once,
# from the committed HEAD, with the build requirements pinned to the lower bounds that pyproject.toml
# declares (scikit-build-core, cffi, and CMake from [tool.scikit-build] cmake.version), on the oldest
# supported CPython, without build isolation. Then checks:
#   - the tag is cp310-abi3 and abi3audit finds no symbol outside the stable ABI of 3.10;
#   - a second build, in another clone in another folder, gives a byte-identical wheel;
#   - the wheel and the sdist carry the LICENSE.
# Leaves the wheel in OUT_DIR. Warnings are errors (PINNING_WERROR=ON, through CMAKE_ARGS).
# Environment: PYTHON310 (default: the newest 3.10 under pyenv), ABI3AUDIT (default: abi3audit on
# PATH, from the project's 'test' extra).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: .ci/abi3_wheel.sh OUT_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
abi3audit=${ABI3AUDIT:-abi3audit}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${PYTHON310:-}" ]; then
  v310=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -V | tail -1 || true)
  [ -n "$v310" ] || { echo "abi3 wheel: no CPython 3.10 under pyenv to build it with" >&2; exit 1; }
  PYTHON310="$(pyenv prefix "$v310")/bin/python3"
fi

# The build requirements at their minimum: every ">=X" of [build-system] requires becomes "==X".
mapfile -t minimum < <(python3 - "$root/pyproject.toml" <<'EOF'
import re, sys
try:
    import tomllib
except ModuleNotFoundError:  # CPython 3.10
    import tomli as tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)
cmake = project["tool"]["scikit-build"]["cmake"]["version"]
for requirement in [*project["build-system"]["requires"], "cmake" + cmake]:
    match = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*>=\s*([0-9][0-9.]*)\s*", requirement)
    if not match:
        sys.exit(f"build requirement without a plain lower bound: {requirement!r}")
    print(f"{match[1]}=={match[2]}")
EOF
)
echo "-- build requirements at their minimum: ${minimum[*]} (on $("$PYTHON310" --version))"
"$PYTHON310" -m venv "$work/build-venv"
"$work/build-venv/bin/pip" install -q --disable-pip-version-check "${minimum[@]}" 2>&1 \
  | { grep -v "^WARNING: Location" || true; }

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}
export CMAKE_ARGS="${CMAKE_ARGS:+$CMAKE_ARGS }-DPINNING_WERROR=ON"

# Two clones of HEAD at different depths and names, each built in its own build folder.
build_in() {  # build_in CLONE_DIR WHEEL_DIR
  git clone -q --no-hardlinks "$root" "$1"
  (cd "$1" && "$work/build-venv/bin/pip" wheel -q --disable-pip-version-check --no-build-isolation \
    --no-deps -w "$2" . 2>&1 | { grep -v "^WARNING: Location" || true; })
}
start=$SECONDS
build_in "$work/a/pinning" "$work/wheels-a"
echo "-- built in $((SECONDS - start)) s: $(cd "$work/wheels-a" && ls)"
build_in "$work/elsewhere/second/pinning-copy" "$work/wheels-b"

wheels=("$work"/wheels-a/pinning-*.whl)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || { echo "abi3 wheel: expected one wheel" >&2; exit 1; }
wheel=${wheels[0]}
case "$(basename "$wheel")" in
  pinning-*-cp310-abi3-*.whl) ;;
  *) echo "abi3 wheel: $(basename "$wheel") is not tagged cp310-abi3" >&2; exit 1 ;;
esac
other="$work/wheels-b/$(basename "$wheel")"
if cmp "$wheel" "$other"; then
  echo "-- reproducible: the wheels built in two folders are byte-identical ($(sha256sum <"$wheel" | cut -c1-16)...)"
else
  echo "abi3 wheel: the wheels built in two folders differ:" >&2
  (cd "$work" && mkdir ua ub && unzip -q "$wheel" -d ua && unzip -q "$other" -d ub && diff -r ua ub) >&2 || true
  exit 1
fi

echo "-- abi3audit"
"$abi3audit" --strict --summary "$wheel"

listing=$(unzip -Z1 "$wheel")
grep -Eq '^pinning/core/_native\.abi3\.so$' <<<"$listing" \
  || { echo "abi3 wheel: no pinning/core/_native.abi3.so in it:" >&2; echo "$listing" >&2; exit 1; }
grep -Eq '^pinning-[^/]*\.dist-info/licenses/LICENSE$' <<<"$listing" \
  || { echo "abi3 wheel: no LICENSE in its .dist-info" >&2; exit 1; }
(cd "$work/a/pinning" && "$work/build-venv/bin/python" -c \
  'import sys; from scikit_build_core.build import build_sdist; print(build_sdist(sys.argv[1]))' \
  "$work/sdist" >/dev/null)
sdist=("$work"/sdist/pinning-*.tar.gz)
sdist_listing=$(tar -tzf "${sdist[0]}")  # listed first: grep -q would cut tar's pipe (pipefail)
grep -Eq '^pinning-[^/]*/LICENSE$' <<<"$sdist_listing" \
  || { echo "sdist: no LICENSE at its top" >&2; exit 1; }
echo "-- LICENSE: in the wheel's .dist-info/licenses and at the top of the sdist ($(basename "${sdist[0]}"))"

cp "$wheel" "$out/"
echo "-- the wheel: $out/$(basename "$wheel")"
