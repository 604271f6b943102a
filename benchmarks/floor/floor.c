/* floor.c: the speed floor for SPKI pinning, measured on this machine.
 *
 * A plain C loop that walks each DER certificate to its SubjectPublicKeyInfo with the fewest checks
 * that keep it in bounds, and hashes the SPKI with the fastest SHA-256 that OpenSSL offers (the
 * low-level SHA256_Init/Update/Final on a stack context: no provider, no fetch, no allocation).
 * Nothing a library can do costs less, so `pinning bench` quotes every backend as a multiple of it.
 *
 * It is self-contained (one file, libcrypto only) so that `pinning bench` can build it from an
 * installed wheel: cc -O2 floor.c -lcrypto.
 *
 *   floor [--repeats N] [--min-ms MS] [--passes N] [--variants | --only VARIANT] FILE...
 *
 * Each FILE holds records of a 4-byte big-endian length and then that many bytes of one DER
 * certificate. For each file and each variant, the loop runs over all of the file's certificates
 * for at least MS milliseconds of CPU time, in N rounds that interleave the variants; it prints one
 * JSON object per line with the median and the fastest time of one pass over the file
 * ("ns_per_pass", for a file holding one chain that is the time per chain), per certificate, and
 * the median of the ratios to the floor timed in the same round ("ratio_to_floor"). Variants: "walk" (the walk alone) and "floor" (walk and
 * hash); --variants adds the ways OpenSSL 3's EVP interface can hash, to compare with the floor;
 * --only runs one variant. --passes fixes the number of passes per repeat instead of calibrating
 * (for instruction counts under valgrind: --repeats 1 --passes 100 --only floor).
 */
#define _POSIX_C_SOURCE 199309L
/* The floor deliberately uses the low-level SHA-256 functions, deprecated in OpenSSL 3. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if OPENSSL_VERSION_NUMBER >= 0x30000000L && defined(OPENSSL_NO_DEPRECATED_3_0)
#define FLOOR_NO_LOW_LEVEL 1
#endif

typedef struct {
    const uint8_t *data;
    size_t len;
} span;

typedef struct {
    const char *name;
    uint8_t *bytes;
    span *certs;
    size_t num_certs;
    size_t spki_bytes;
} corpus;

typedef enum {
    V_WALK,
    V_FLOOR,
    V_SHA256_ONESHOT,
    V_EVP_DIGEST_IMPLICIT,
    V_EVP_DIGEST_FETCHED,
    V_EVP_CTX_REUSED,
    V_COUNT
} variant;

static const char *const variant_names[V_COUNT] = {
    "walk", "floor", "sha256_oneshot", "evp_digest_implicit", "evp_digest_fetched",
    "evp_ctx_reused",
};

static EVP_MD *fetched_md;
static EVP_MD_CTX *reused_ctx;
static volatile uint8_t sink;

/* header reads the DER header at |p| (|avail| bytes): tag, then short or long length. Returns the
 * header length and sets *out_len to the contents length, or returns 0 when out of bounds. */
static size_t header(size_t *out_len, const uint8_t *p, size_t avail) {
    size_t len;
    size_t num;
    if (avail < 2) {
        return 0;
    }
    if (p[1] < 0x80) {
        *out_len = p[1];
        return p[1] <= avail - 2 ? 2 : 0;
    }
    num = p[1] & 0x7fu;
    if (num == 0 || num > 4 || avail < 2 + num) {
        return 0;
    }
    len = 0;
    for (size_t i = 0; i < num; i++) {
        len = (len << 8) | p[2 + i];
    }
    if (len > avail - 2 - num) {
        return 0;
    }
    *out_len = len;
    return 2 + num;
}

/* spki finds the SubjectPublicKeyInfo element of |cert|, header included. Returns 1 or 0. */
static int spki(span *out, span cert) {
    const uint8_t *p = cert.data;
    size_t avail = cert.len;
    size_t len;
    size_t hdr;
    /* Certificate, then tbsCertificate: step into both. */
    for (int i = 0; i < 2; i++) {
        hdr = header(&len, p, avail);
        if (hdr == 0) {
            return 0;
        }
        p += hdr;
        avail = len;
    }
    /* [0] version if present, serialNumber, signature, issuer, validity, subject: skip. */
    for (int i = 0; i < 6; i++) {
        if (i == 0 && (avail == 0 || p[0] != 0xa0)) {
            continue;
        }
        hdr = header(&len, p, avail);
        if (hdr == 0) {
            return 0;
        }
        p += hdr + len;
        avail -= hdr + len;
    }
    hdr = header(&len, p, avail);
    if (hdr == 0) {
        return 0;
    }
    out->data = p;
    out->len = hdr + len;
    return 1;
}

static int hash(uint8_t *digest, variant v, span data) {
    switch (v) {
        case V_WALK:
            digest[0] = (uint8_t)data.len;
            return 1;
        case V_FLOOR: {
#ifdef FLOOR_NO_LOW_LEVEL
            unsigned int n = 0;
            return EVP_DigestInit_ex(reused_ctx, fetched_md, NULL) == 1 &&
                   EVP_DigestUpdate(reused_ctx, data.data, data.len) == 1 &&
                   EVP_DigestFinal_ex(reused_ctx, digest, &n) == 1;
#else
            SHA256_CTX ctx;
            return SHA256_Init(&ctx) == 1 && SHA256_Update(&ctx, data.data, data.len) == 1 &&
                   SHA256_Final(digest, &ctx) == 1;
#endif
        }
        case V_SHA256_ONESHOT:
            return SHA256(data.data, data.len, digest) != NULL;
        case V_EVP_DIGEST_IMPLICIT:
            return EVP_Digest(data.data, data.len, digest, NULL, EVP_sha256(), NULL) == 1;
        case V_EVP_DIGEST_FETCHED:
            return EVP_Digest(data.data, data.len, digest, NULL, fetched_md, NULL) == 1;
        case V_EVP_CTX_REUSED: {
            unsigned int n = 0;
            return EVP_DigestInit_ex(reused_ctx, fetched_md, NULL) == 1 &&
                   EVP_DigestUpdate(reused_ctx, data.data, data.len) == 1 &&
                   EVP_DigestFinal_ex(reused_ctx, digest, &n) == 1;
        }
        case V_COUNT:
            break;
    }
    return 0;
}

/* one_pass walks and hashes every certificate of |c| once. Returns 1, or 0 on a failure. */
static int one_pass(const corpus *c, variant v) {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    uint8_t acc = 0;
    span s;
    for (size_t i = 0; i < c->num_certs; i++) {
        if (!spki(&s, c->certs[i]) || !hash(digest, v, s)) {
            return 0;
        }
        acc ^= digest[0];
    }
    sink ^= acc;
    return 1;
}

/* now_ns is the CPU time of this thread: a busy machine does not inflate it (the Python side of
 * `pinning bench` uses the same clock, time.thread_time). */
static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static int read_corpus(corpus *out, const char *path) {
    FILE *f = fopen(path, "rb");
    long size;
    size_t pos = 0;
    size_t cap = 0;
    memset(out, 0, sizeof(*out));
    out->name = path;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return 0;
    }
    out->bytes = malloc((size_t)size + 1);
    if (out->bytes == NULL || fread(out->bytes, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    while (pos < (size_t)size) {
        size_t len;
        span s;
        if ((size_t)size - pos < 4) {
            return 0;
        }
        len = (size_t)out->bytes[pos] << 24 | (size_t)out->bytes[pos + 1] << 16 |
              (size_t)out->bytes[pos + 2] << 8 | (size_t)out->bytes[pos + 3];
        pos += 4;
        if (len > (size_t)size - pos) {
            return 0;
        }
        if (out->num_certs == cap) {
            cap = cap ? cap * 2 : 64;
            out->certs = realloc(out->certs, cap * sizeof(span));
            if (out->certs == NULL) {
                return 0;
            }
        }
        out->certs[out->num_certs].data = out->bytes + pos;
        out->certs[out->num_certs].len = len;
        if (!spki(&s, out->certs[out->num_certs])) {
            fprintf(stderr, "floor: %s: record %zu is not a certificate\n", path, out->num_certs);
            return 0;
        }
        out->spki_bytes += s.len;
        out->num_certs++;
        pos += len;
    }
    return out->num_certs > 0;
}

/* time_passes runs |passes| passes of variant |v| over |c| and returns the nanoseconds of CPU
 * time they took, or -1 on a failure. */
static double time_passes(const corpus *c, variant v, size_t passes) {
    double start = now_ns();
    for (size_t i = 0; i < passes; i++) {
        if (!one_pass(c, v)) {
            return -1;
        }
    }
    return now_ns() - start;
}

/* calibrate returns how many passes of |v| over |c| take at least |min_ns|, or 0 on a failure. */
static size_t calibrate(const corpus *c, variant v, double min_ns) {
    size_t passes = 1;
    for (;;) {
        double elapsed = time_passes(c, v, passes);
        if (elapsed < 0) {
            return 0;
        }
        if (elapsed >= min_ns / 4 || passes > ((size_t)1 << 40)) {
            if (elapsed < min_ns && elapsed > 0) {
                passes = (size_t)((double)passes * min_ns / elapsed) + 1;
            }
            return passes;
        }
        passes *= 2;
    }
}

/* measure times the variants |wanted| (a bit set) over |c|, interleaved: each of the |repeats|
 * rounds times every variant once, so that a change of machine load hits all of them alike. It
 * prints one JSON line per variant with the median and fastest round, and the median over the
 * rounds of the ratio to the floor variant timed in the same round. */
static int measure(const corpus *c, unsigned wanted, int repeats, double min_ns,
                   size_t fixed_passes) {
    double *times[V_COUNT] = {NULL};
    size_t passes[V_COUNT] = {0};
    double *ratios = malloc((size_t)repeats * sizeof(double));
    int ok = ratios != NULL;
    for (int v = 0; ok && v < V_COUNT; v++) {
        if (wanted & (1u << v)) {
            times[v] = malloc((size_t)repeats * sizeof(double));
            passes[v] = fixed_passes ? fixed_passes : calibrate(c, (variant)v, min_ns);
            ok = times[v] != NULL && passes[v] != 0;
        }
    }
    for (int r = 0; ok && r < repeats; r++) {
        for (int v = 0; ok && v < V_COUNT; v++) {
            if (times[v] != NULL) {
                double elapsed = time_passes(c, (variant)v, passes[v]);
                times[v][r] = elapsed / (double)passes[v];
                ok = elapsed >= 0;
            }
        }
    }
    for (int v = 0; ok && v < V_COUNT; v++) {
        double ratio = -1;
        if (times[v] == NULL) {
            continue;
        }
        if (times[V_FLOOR] != NULL) {
            for (int r = 0; r < repeats; r++) {
                ratios[r] = times[v][r] / times[V_FLOOR][r];
            }
            qsort(ratios, (size_t)repeats, sizeof(double), compare_doubles);
            ratio = ratios[repeats / 2];
        }
        qsort(times[v], (size_t)repeats, sizeof(double), compare_doubles);
        printf("{\"file\": \"%s\", \"variant\": \"%s\", \"certs\": %zu, \"spki_bytes\": %zu, "
               "\"repeats\": %d, \"passes\": %zu, \"ns_per_pass\": %.1f, "
               "\"ns_per_pass_min\": %.1f, \"ns_per_cert\": %.2f, \"ns_per_cert_min\": %.2f, "
               "\"ratio_to_floor\": %.4f}\n",
               c->name, variant_names[v], c->num_certs, c->spki_bytes, repeats, passes[v],
               times[v][repeats / 2], times[v][0], times[v][repeats / 2] / (double)c->num_certs,
               times[v][0] / (double)c->num_certs, ratio);
    }
    fflush(stdout);
    for (int v = 0; v < V_COUNT; v++) {
        free(times[v]);
    }
    free(ratios);
    return ok;
}

int main(int argc, char **argv) {
    int repeats = 11;
    double min_ms = 20.0;
    int variants = 0;
    int only = -1;
    unsigned wanted = (1u << V_WALK) | (1u << V_FLOOR);
    size_t fixed_passes = 0;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
            repeats = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--min-ms") == 0 && i + 1 < argc) {
            min_ms = atof(argv[++i]);
        } else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
            fixed_passes = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--variants") == 0) {
            variants = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            i++;
            for (int v = 0; v < V_COUNT; v++) {
                if (strcmp(argv[i], variant_names[v]) == 0) {
                    only = v;
                }
            }
            if (only < 0) {
                fprintf(stderr, "floor: unknown variant %s\n", argv[i]);
                return 2;
            }
        } else {
            first_file = i;
            break;
        }
    }
    if (first_file >= argc || repeats < 1 || min_ms <= 0) {
        fprintf(stderr, "usage: floor [--repeats N] [--min-ms MS] [--passes N] "
                        "[--variants | --only VARIANT] FILE...\n");
        return 2;
    }
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    fetched_md = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
    fetched_md = (EVP_MD *)EVP_sha256();
#endif
    reused_ctx = EVP_MD_CTX_new();
    if (fetched_md == NULL || reused_ctx == NULL) {
        fprintf(stderr, "floor: OpenSSL has no SHA-256\n");
        return 1;
    }
    printf("{\"openssl\": \"%s\", \"floor_hash\": \"%s\"}\n", OpenSSL_version(OPENSSL_VERSION),
#ifdef FLOOR_NO_LOW_LEVEL
           "EVP_DigestInit_ex on a reused EVP_MD_CTX (no low-level SHA-256 in this OpenSSL)"
#else
           "SHA256_Init/Update/Final on a stack SHA256_CTX"
#endif
    );
    if (only >= 0) {
        wanted = 1u << only;
    } else if (variants) {
        wanted = (1u << V_COUNT) - 1;
    }
    for (int i = first_file; i < argc; i++) {
        corpus c;
        if (!read_corpus(&c, argv[i])) {
            fprintf(stderr, "floor: cannot read certificates from %s\n", argv[i]);
            return 1;
        }
        if (!measure(&c, wanted, repeats, min_ms * 1e6, fixed_passes)) {
            fprintf(stderr, "floor: a variant failed on %s\n", argv[i]);
            return 1;
        }
        free(c.certs);
        free(c.bytes);
    }
    return 0;
}
