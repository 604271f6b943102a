#!/usr/bin/env bash
# fuzz/valgrind.sh [FILE_OR_DIR...]
#
# Runs the C core under valgrind's memcheck with --leak-check=full: the replay driver
# (fuzz/replay.c, built with gcc, no sanitizer) over the committed seed corpus (or the given files
# and directories: a crash file, fuzz/out/corpus), once with each SHA-256 path of csrc/pinning.c
# (the default and -DPINNING_SHA256_EVP), and the C unit tests (tests/core/c/test_core.c) when they
# exist. Fails on any memcheck error or definitely/indirectly lost block.
# Environment: FUZZ_OUT (default fuzz/out).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${FUZZ_OUT:-$here/out}
inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
    inputs=("$here/corpus")
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "fuzz/valgrind.sh: valgrind is missing (Debian: apt-get install valgrind)" >&2
    exit 2
fi
mkdir -p "$out/valgrind"

# memcheck NAME COMMAND...: runs COMMAND under memcheck, logging to fuzz/out/valgrind/NAME.log, and
# prints the verdict lines (the whole log on failure).
memcheck() {
    local log="$out/valgrind/$1.log"
    shift
    if ! valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --log-file="$log" "$@"; then
        cat "$log" >&2
        echo "fuzz/valgrind.sh: FAILED under memcheck: $* (log: $log)" >&2
        exit 1
    fi
    grep -E 'in use at exit|definitely lost|indirectly lost|All heap blocks|ERROR SUMMARY' "$log" |
        sed 's/^==[0-9]*== */  /'
}

for variant in default evp; do
    flags=()
    [ "$variant" = evp ] && flags=(-DPINNING_SHA256_EVP)
    binary="$out/valgrind/replay-$variant"
    gcc -std=c11 -g -O1 -Wall -Wextra -Werror -DPIN_FUZZ_REPLAY "${flags[@]}" -I"$root/csrc" \
        "$here/replay.c" "$here/fuzz_spki.c" "$here/fuzz_many.c" "$here/fuzz_chain.c" \
        "$root/csrc/der.c" "$root/csrc/cert.c" "$root/csrc/pinning.c" -lcrypto -o "$binary"
    echo "== valgrind: replay ($variant SHA-256) over ${inputs[*]} =="
    memcheck "replay-$variant" "$binary" "${inputs[@]}"
done

if [ -f "$root/tests/core/c/test_core.c" ]; then
    echo "== valgrind: tests/core/c/test_core.c =="
    cmake -S "$root" -B "$out/valgrind/cmake" -DPINNING_BUILD_TESTS=ON -DPINNING_BUILD_PYTHON=OFF -DPINNING_WERROR=ON \
        -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build "$out/valgrind/cmake" --target test_core >/dev/null
    memcheck test_core "$out/valgrind/cmake/test_core"
else
    echo "== valgrind: no tests/core/c/test_core.c; skipped =="
fi
echo "fuzz/valgrind.sh: no memcheck errors, no leaks"
