#!/usr/bin/env bash
# fuzz/run.sh [SECONDS_PER_HARNESS] [HARNESS...]
#
# Builds each libFuzzer harness (fuzz/fuzz_*.c) with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer against the C core sources, and runs each for SECONDS_PER_HARNESS
# (default 60) with the DER dictionary. The committed seed corpus fuzz/corpus/<harness>/ is only
# read: new inputs go to fuzz/out/corpus/<harness>/ (gitignored), which later runs reuse. Exits
# non-zero on any finding (a crash, a failed check, a sanitizer report, a leak, a timeout or an
# out-of-memory), naming the file that reproduces it.
#
# Environment: CC (default clang), FUZZ_OUT (default fuzz/out), FUZZ_FLAGS (more libFuzzer flags),
# FUZZ_CFLAGS (more compiler flags, e.g. -DPINNING_SHA256_EVP for the EVP path of csrc/pinning.c).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-60}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
    harnesses=(fuzz_spki fuzz_many fuzz_chain)
fi
out=${FUZZ_OUT:-$here/out}
cc=${CC:-clang}
case "$seconds" in
    '' | *[!0-9]*)
        echo "fuzz/run.sh: SECONDS_PER_HARNESS must be a whole number, not '$seconds'" >&2
        exit 2
        ;;
esac

# A clang whose libFuzzer runtime links: install Debian's clang when it is missing and we are root.
can_link_fuzzer() {
    command -v "$cc" >/dev/null 2>&1 &&
        echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d == 0 && n; }' |
        "$cc" -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1
}
if ! can_link_fuzzer; then
    if [ "$cc" = clang ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz/run.sh: no clang with libFuzzer; installing Debian's (apt-get install clang)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
        if ! can_link_fuzzer; then
            version=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
            echo "fuzz/run.sh: installing libclang-rt-$version-dev for the fuzzer runtime"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "libclang-rt-$version-dev" \
                >/dev/null || true
        fi
    fi
    if ! can_link_fuzzer; then
        echo "fuzz/run.sh: '$cc' cannot link a -fsanitize=fuzzer,address,undefined program." >&2
        echo "  Install clang and its runtime (Debian: apt-get install clang" >&2
        echo "  libclang-rt-N-dev, N as in 'clang --version'), or set CC to such a clang." >&2
        exit 2
    fi
fi
if ! echo '#include <openssl/evp.h>' | "$cc" -x c -fsyntax-only - >/dev/null 2>&1; then
    echo "fuzz/run.sh: the OpenSSL headers are missing (Debian: apt-get install libssl-dev)." >&2
    exit 2
fi

mkdir -p "$out/build"
sources=("$root/csrc/der.c" "$root/csrc/cert.c" "$root/csrc/pinning.c")
for harness in "${harnesses[@]}"; do
    if [ ! -f "$here/$harness.c" ]; then
        echo "fuzz/run.sh: no harness fuzz/$harness.c" >&2
        exit 2
    fi
    echo "== building $harness =="
    # shellcheck disable=SC2086
    "$cc" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
        -g -O1 -std=c11 -Wall -Wextra -Werror ${FUZZ_CFLAGS:-} -I"$root/csrc" \
        "$here/$harness.c" "${sources[@]}" -lcrypto -o "$out/build/$harness"
done

status=0
summary=()
stamp=$(date -u +%Y%m%dT%H%M%SZ)
for harness in "${harnesses[@]}"; do
    corpus="$out/corpus/$harness"
    artifacts="$out/artifacts/$harness-$stamp"
    log="$out/logs/$harness.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    # Each run has its own artifacts directory, so every file in it is a finding of this run.
    echo "== running $harness for ${seconds}s (new inputs: $corpus; log: $log) =="
    # The first corpus directory receives the new inputs; the committed seeds come second and are
    # only read. -timeout and -rss_limit_mb turn hangs and memory blow-ups into findings.
    set +e
    # shellcheck disable=SC2086
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$out/build/$harness" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 \
        -dict="$here/der.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        ${FUZZ_FLAGS:-} "$corpus" "$here/corpus/$harness" >"$log" 2>&1
    rc=$?
    set -e
    findings=$(find "$artifacts" -type f | sort)
    line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    [ -n "$line" ] || line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    summary+=("$harness: rc=$rc execs=${execs:-?} exec/s=${speed:-?} | ${line:-no status line}")
    if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
        status=1
        echo "FINDING in $harness (exit $rc); the end of $log:" >&2
        tail -40 "$log" >&2
        if [ -z "$findings" ]; then
            echo "FINDING in $harness: libFuzzer wrote no crash file (see $log)" >&2
        fi
        for file in $findings; do
            echo "FINDING in $harness: reproduce with: $out/build/$harness $file" >&2
        done
    fi
done

echo "== summary =="
printf '%s\n' "${summary[@]}"
if [ "$status" -ne 0 ]; then
    echo "fuzz/run.sh: FINDINGS above; crash files are under $out/artifacts/*-$stamp/" >&2
else
    echo "fuzz/run.sh: no findings"
fi
exit "$status"
