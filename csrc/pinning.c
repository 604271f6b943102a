/* pinning.c: the public functions of the pinning core (see pinning.h): status names, the SHA-256
 * hasher, and the single, batch and chain entry points. */
#include "pinning.h"

/* SHA-256: a hasher decides once, when it is created, how it hashes (see pinning.h). By default
 * through OpenSSL's low-level SHA256_Init/Update/Final: measured on OpenSSL 3.0 with SHA-NI
 * (benchmarks/RESULTS.md), EVP_DigestInit_ex on a reused EVP_MD_CTX frees and re-creates the
 * provider context on every digest (one malloc per call, fixed only in 3.1) and adds about 650
 * instructions, 17-31% of the time of hashing a 300-byte SPKI; the low-level functions allocate
 * nothing and run the same SHA-256 assembly. But they bypass the providers and so OpenSSL's
 * configuration: when OpenSSL 3 is in FIPS mode (default properties fips=yes), a hasher hashes
 * through EVP instead, and is refused when no provider offers a FIPS SHA-256, as hashlib is.
 * PIN_SHA256_EVP_ONLY (the CMake option PINNING_SHA256_EVP, or an OpenSSL built without its
 * deprecated interfaces) makes every hasher use EVP. The low-level functions are deprecated in
 * OpenSSL 3 but present in every 3.x release, so the deprecation warnings are silenced here, for
 * this file only. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cert.h"
#include "der.h"

#if defined(PINNING_SHA256_EVP) || \
    (OPENSSL_VERSION_NUMBER >= 0x30000000L && defined(OPENSSL_NO_DEPRECATED_3_0))
#define PIN_SHA256_EVP_ONLY 1
#endif

struct pinning_hasher {
    /* EVP: SHA-256 fetched once (OpenSSL 3 would otherwise fetch it on every call) and a reused
     * context; both NULL when the hasher uses the low-level functions. */
    EVP_MD *md;
    EVP_MD_CTX *ctx;
#ifndef PIN_SHA256_EVP_ONLY
    SHA256_CTX sha; /* the low-level context, reused for every digest; it allocates nothing */
#endif
    char error[PINNING_ERROR_LEN]; /* why the last digest failed, "" if none did */
};

const char *pinning_status_name(pinning_status status) {
    switch (status) {
        case PINNING_OK: return "PINNING_OK";
        case PINNING_ERR_EMPTY: return "PINNING_ERR_EMPTY";
        case PINNING_ERR_CERTIFICATE: return "PINNING_ERR_CERTIFICATE";
        case PINNING_ERR_TRAILING_DATA: return "PINNING_ERR_TRAILING_DATA";
        case PINNING_ERR_TBS_CERTIFICATE: return "PINNING_ERR_TBS_CERTIFICATE";
        case PINNING_ERR_VERSION: return "PINNING_ERR_VERSION";
        case PINNING_ERR_SERIAL_NUMBER: return "PINNING_ERR_SERIAL_NUMBER";
        case PINNING_ERR_SIGNATURE: return "PINNING_ERR_SIGNATURE";
        case PINNING_ERR_ISSUER: return "PINNING_ERR_ISSUER";
        case PINNING_ERR_VALIDITY: return "PINNING_ERR_VALIDITY";
        case PINNING_ERR_SUBJECT: return "PINNING_ERR_SUBJECT";
        case PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO: return "PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO";
        case PINNING_ERR_EXTENSIONS: return "PINNING_ERR_EXTENSIONS";
        case PINNING_ERR_SIGNATURE_ALGORITHM: return "PINNING_ERR_SIGNATURE_ALGORITHM";
        case PINNING_ERR_SIGNATURE_VALUE: return "PINNING_ERR_SIGNATURE_VALUE";
        case PINNING_ERR_DIGEST: return "PINNING_ERR_DIGEST";
        case PINNING_ERR_ARGUMENT: return "PINNING_ERR_ARGUMENT";
    }
    return "unknown";
}

const char *pinning_status_field(pinning_status status) {
    switch (status) {
        case PINNING_OK: return "";
        case PINNING_ERR_EMPTY: return "certificate (empty input)";
        case PINNING_ERR_CERTIFICATE: return "Certificate";
        case PINNING_ERR_TRAILING_DATA: return "data after the Certificate";
        case PINNING_ERR_TBS_CERTIFICATE: return "tbsCertificate";
        case PINNING_ERR_VERSION: return "version";
        case PINNING_ERR_SERIAL_NUMBER: return "serialNumber";
        case PINNING_ERR_SIGNATURE: return "signature";
        case PINNING_ERR_ISSUER: return "issuer";
        case PINNING_ERR_VALIDITY: return "validity";
        case PINNING_ERR_SUBJECT: return "subject";
        case PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO: return "subjectPublicKeyInfo";
        case PINNING_ERR_EXTENSIONS: return "extensions";
        case PINNING_ERR_SIGNATURE_ALGORITHM: return "signatureAlgorithm";
        case PINNING_ERR_SIGNATURE_VALUE: return "signatureValue";
        case PINNING_ERR_DIGEST: return "SHA-256 digest";
        case PINNING_ERR_ARGUMENT: return "arguments";
    }
    return "unknown";
}

/* PIN_copy_text copies |text| into |out| (|out_len| bytes, NUL-terminated, truncated to fit). */
static void PIN_copy_text(char *out, size_t out_len, const char *text) {
    if (out == NULL || out_len == 0) {
        return;
    }
    (void)snprintf(out, out_len, "%s", text);
}

/* PIN_take_openssl_error writes |what| and the first error of OpenSSL's error queue (its text and
 * any data OpenSSL attached, such as the algorithm and properties of a failed fetch) to |out|, and
 * empties the queue, so that no error is left behind for the next OpenSSL user of the thread. */
static void PIN_take_openssl_error(char *out, size_t out_len, const char *what) {
    const char *data = NULL;
    int flags = 0;
    char reason[256];
    unsigned long code;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
#else
    code = ERR_get_error_line_data(NULL, NULL, &data, &flags);
#endif
    /* |data| belongs to the queue: it is read before the queue is emptied. */
    if (out != NULL && out_len != 0) {
        if (code == 0) {
            (void)snprintf(out, out_len, "%s (OpenSSL gave no reason)", what);
        } else {
            ERR_error_string_n(code, reason, sizeof(reason));
            if (data != NULL && (flags & ERR_TXT_STRING) && data[0] != '\0') {
                (void)snprintf(out, out_len, "%s: %s (%s)", what, reason, data);
            } else {
                (void)snprintf(out, out_len, "%s: %s", what, reason);
            }
        }
    }
    ERR_clear_error();
}

#ifndef PIN_SHA256_EVP_ONLY
/* PIN_fips_mode returns 1 when OpenSSL's default properties ask for FIPS-approved algorithms
 * (OpenSSL 3 only; the configuration file is loaded first, as OpenSSL itself would on first use). */
static int PIN_fips_mode(void) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    (void)OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    ERR_clear_error(); /* a configuration error is OpenSSL's to report; the fetch below decides */
    return EVP_default_properties_is_fips_enabled(NULL) == 1;
#else
    return 0;
#endif
}
#endif

/* PIN_use_evp sets |hasher| up to hash through EVP. Returns 1, or 0 with a message in |out_error|
 * when OpenSSL refuses. */
static int PIN_use_evp(pinning_hasher *hasher, const char *why, char *out_error,
                       size_t error_len) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    hasher->md = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
    hasher->md = (EVP_MD *)EVP_sha256();
#endif
    if (hasher->md == NULL) {
        PIN_take_openssl_error(out_error, error_len, why);
        return 0;
    }
    hasher->ctx = EVP_MD_CTX_new();
    if (hasher->ctx == NULL || EVP_DigestInit_ex(hasher->ctx, hasher->md, NULL) != 1) {
        PIN_take_openssl_error(out_error, error_len, "OpenSSL could not start SHA-256");
        return 0;
    }
    return 1;
}

pinning_status pinning_hasher_create(pinning_hasher **out_hasher, char *out_error,
                                     size_t error_len) {
    pinning_hasher *hasher;
    const char *why;
    int evp;
    PIN_copy_text(out_error, error_len, "");
    if (out_hasher == NULL) {
        PIN_copy_text(out_error, error_len, "pinning_hasher_create: out_hasher is NULL");
        return PINNING_ERR_ARGUMENT;
    }
    *out_hasher = NULL;
#ifdef PIN_SHA256_EVP_ONLY
    evp = 1;
    why = "OpenSSL refused SHA-256 under its configuration";
#else
    evp = PIN_fips_mode();
    why = "OpenSSL refused SHA-256 in FIPS mode (default properties fips=yes; no provider "
          "offers a FIPS SHA-256)";
#endif
    hasher = OPENSSL_zalloc(sizeof(*hasher));
    if (hasher == NULL) {
        ERR_clear_error();
        PIN_copy_text(out_error, error_len, "out of memory for a SHA-256 context");
        return PINNING_ERR_DIGEST;
    }
    if (evp) {
        if (!PIN_use_evp(hasher, why, out_error, error_len)) {
            pinning_hasher_free(hasher);
            return PINNING_ERR_DIGEST;
        }
    }
#ifndef PIN_SHA256_EVP_ONLY
    else if (SHA256_Init(&hasher->sha) != 1) {
        PIN_take_openssl_error(out_error, error_len, "OpenSSL could not start SHA-256");
        pinning_hasher_free(hasher);
        return PINNING_ERR_DIGEST;
    }
#endif
    *out_hasher = hasher;
    return PINNING_OK;
}

pinning_hasher *pinning_hasher_new(void) {
    pinning_hasher *hasher = NULL;
    (void)pinning_hasher_create(&hasher, NULL, 0);
    return hasher;
}

void pinning_hasher_free(pinning_hasher *hasher) {
    if (hasher == NULL) {
        return;
    }
    EVP_MD_CTX_free(hasher->ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    EVP_MD_free(hasher->md);
#endif
    OPENSSL_free(hasher);
}

void pinning_hasher_error(const pinning_hasher *hasher, char *out_error, size_t error_len) {
    PIN_copy_text(out_error, error_len, hasher == NULL ? "" : hasher->error);
}

/* PIN_sha256 writes the SHA-256 of |data| to |out_digest| with the hasher's reused context.
 * Returns 1, or 0 when OpenSSL fails (with the reason in hasher->error). */
static int PIN_sha256(uint8_t *out_digest, pinning_hasher *hasher, const PIN_cursor *data) {
    unsigned int digest_len = 0;
#ifndef PIN_SHA256_EVP_ONLY
    if (hasher->ctx == NULL) {
        if (SHA256_Init(&hasher->sha) == 1 &&
            SHA256_Update(&hasher->sha, data->data, data->len) == 1 &&
            SHA256_Final(out_digest, &hasher->sha) == 1) {
            return 1;
        }
        PIN_take_openssl_error(hasher->error, sizeof(hasher->error), "OpenSSL's SHA-256 failed");
        return 0;
    }
#endif
    if (EVP_DigestInit_ex(hasher->ctx, hasher->md, NULL) == 1 &&
        EVP_DigestUpdate(hasher->ctx, data->data, data->len) == 1 &&
        EVP_DigestFinal_ex(hasher->ctx, out_digest, &digest_len) == 1 &&
        digest_len == PINNING_SHA256_LEN) {
        return 1;
    }
    PIN_take_openssl_error(hasher->error, sizeof(hasher->error), "OpenSSL's SHA-256 failed");
    return 0;
}

/* PIN_spki_sha256 walks the certificate |cert| and hashes its SPKI into |out_digest|. */
static pinning_status PIN_spki_sha256(uint8_t *out_digest, pinning_hasher *hasher,
                                      const PIN_cursor *cert) {
    PIN_cursor spki;
    pinning_status status = PIN_certificate_spki(&spki, cert);
    if (status != PINNING_OK) {
        return status;
    }
    if (!PIN_sha256(out_digest, hasher, &spki)) {
        return PINNING_ERR_DIGEST;
    }
    return PINNING_OK;
}

/* PIN_check_chain_lengths returns 1 when |num_certs| lengths add up to |certs_len| without
 * overflow, else 0. */
static int PIN_check_chain_lengths(size_t certs_len, const size_t *cert_lens, size_t num_certs) {
    size_t total = 0;
    for (size_t i = 0; i < num_certs; i++) {
        if (cert_lens[i] > SIZE_MAX - total) {
            return 0;
        }
        total += cert_lens[i];
    }
    return total == certs_len;
}

pinning_status pinning_spki(size_t *out_offset, size_t *out_len, const uint8_t *cert,
                            size_t cert_len) {
    PIN_cursor input;
    PIN_cursor spki;
    pinning_status status;
    if (out_offset != NULL) {
        *out_offset = 0;
    }
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (out_offset == NULL || out_len == NULL || (cert == NULL && cert_len != 0)) {
        return PINNING_ERR_ARGUMENT;
    }
    PIN_cursor_init(&input, cert, cert_len);
    status = PIN_certificate_spki(&spki, &input);
    if (status != PINNING_OK) {
        return status;
    }
    if (!PIN_cursor_offset(out_offset, &input, &spki)) {
        *out_offset = 0;
        return PINNING_ERR_ARGUMENT;
    }
    *out_len = spki.len;
    return PINNING_OK;
}

pinning_status pinning_spki_sha256(uint8_t *out_digest, pinning_hasher *hasher,
                                   const uint8_t *cert, size_t cert_len) {
    PIN_cursor input;
    if (out_digest == NULL || hasher == NULL || (cert == NULL && cert_len != 0)) {
        return PINNING_ERR_ARGUMENT;
    }
    PIN_cursor_init(&input, cert, cert_len);
    return PIN_spki_sha256(out_digest, hasher, &input);
}

pinning_status pinning_spki_sha256_many(uint8_t *out_digests, size_t *out_failed_index,
                                        pinning_hasher *hasher, const uint8_t *certs,
                                        size_t certs_len, const size_t *cert_lens,
                                        size_t num_certs) {
    PIN_cursor rest;
    PIN_cursor cert;
    pinning_status status;
    if (out_failed_index != NULL) {
        *out_failed_index = num_certs;
    }
    if (out_failed_index == NULL || hasher == NULL || (certs == NULL && certs_len != 0) ||
        (num_certs != 0 && (out_digests == NULL || cert_lens == NULL)) ||
        num_certs > SIZE_MAX / PINNING_SHA256_LEN ||
        !PIN_check_chain_lengths(certs_len, cert_lens, num_certs)) {
        return PINNING_ERR_ARGUMENT;
    }
    PIN_cursor_init(&rest, certs, certs_len);
    for (size_t i = 0; i < num_certs; i++) {
        if (!PIN_cursor_get_bytes(&cert, &rest, cert_lens[i])) {
            *out_failed_index = i;
            return PINNING_ERR_ARGUMENT;
        }
        status = PIN_spki_sha256(&out_digests[i * PINNING_SHA256_LEN], hasher, &cert);
        if (status != PINNING_OK) {
            *out_failed_index = i;
            return status;
        }
    }
    return PINNING_OK;
}

/* PIN_is_pinned returns 1 when |digest| is one of the |num_pins| pins back to back in |pins|. */
static int PIN_is_pinned(const uint8_t *digest, const PIN_cursor *pins, size_t num_pins) {
    PIN_cursor rest = *pins;
    PIN_cursor pin;
    for (size_t i = 0; i < num_pins; i++) {
        if (!PIN_cursor_get_bytes(&pin, &rest, PINNING_SHA256_LEN)) {
            return 0;
        }
        if (memcmp(pin.data, digest, PINNING_SHA256_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

pinning_status pinning_chain_match(size_t *out_index, pinning_hasher *hasher,
                                   const uint8_t *certs, size_t certs_len,
                                   const size_t *cert_lens, size_t num_certs,
                                   const uint8_t *pins, size_t num_pins) {
    PIN_cursor rest;
    PIN_cursor cert;
    PIN_cursor pin_list;
    uint8_t digest[PINNING_SHA256_LEN];
    pinning_status status;
    if (out_index != NULL) {
        *out_index = num_certs;
    }
    if (out_index == NULL || hasher == NULL || (certs == NULL && certs_len != 0) ||
        (num_certs != 0 && cert_lens == NULL) || (pins == NULL && num_pins != 0) ||
        num_pins > SIZE_MAX / PINNING_SHA256_LEN ||
        !PIN_check_chain_lengths(certs_len, cert_lens, num_certs)) {
        return PINNING_ERR_ARGUMENT;
    }
    PIN_cursor_init(&pin_list, pins, num_pins * PINNING_SHA256_LEN);
    PIN_cursor_init(&rest, certs, certs_len);
    for (size_t i = 0; i < num_certs; i++) {
        *out_index = i;
        if (!PIN_cursor_get_bytes(&cert, &rest, cert_lens[i])) {
            return PINNING_ERR_ARGUMENT;
        }
        status = PIN_spki_sha256(digest, hasher, &cert);
        if (status != PINNING_OK) {
            return status;
        }
        if (PIN_is_pinned(digest, &pin_list, num_pins)) {
            return PINNING_OK;
        }
    }
    *out_index = num_certs;
    return PINNING_OK;
}
