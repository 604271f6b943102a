/* pinning.c: the public functions of the pinning core (see pinning.h): status names, the SHA-256
 * hasher, and the single, batch and chain entry points. */
#include "pinning.h"

/* SHA-256 goes through OpenSSL's low-level SHA256_Init/Update/Final by default, through EVP when
 * PINNING_SHA256_EVP is defined (a build that must hash through providers, e.g. a FIPS one) or
 * when OpenSSL was built without its deprecated interfaces. Measured on OpenSSL 3.0 with SHA-NI
 * (benchmarks/RESULTS.md): EVP_DigestInit_ex on a reused EVP_MD_CTX frees and re-creates the
 * provider context on every digest (one malloc per call, fixed only in 3.1) and adds about 650
 * instructions, 17-31% of the time of hashing a 300-byte SPKI; the low-level functions allocate
 * nothing and run the same SHA-256 assembly. They are deprecated in OpenSSL 3 but present in
 * every 3.x release, so the deprecation warnings are silenced here, for this file only. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <string.h>

#include "cert.h"
#include "der.h"

#if defined(PINNING_SHA256_EVP) || \
    (OPENSSL_VERSION_NUMBER >= 0x30000000L && defined(OPENSSL_NO_DEPRECATED_3_0))
#define PIN_SHA256_EVP 1
#endif

struct pinning_hasher {
#ifdef PIN_SHA256_EVP
    EVP_MD *md;      /* SHA-256, fetched once: OpenSSL 3 would otherwise fetch it on every call */
    EVP_MD_CTX *ctx; /* reused for every digest */
#else
    SHA256_CTX ctx; /* reused for every digest; the low-level context allocates nothing */
#endif
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

pinning_hasher *pinning_hasher_new(void) {
    pinning_hasher *hasher = OPENSSL_zalloc(sizeof(*hasher));
    if (hasher == NULL) {
        return NULL;
    }
#ifdef PIN_SHA256_EVP
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    hasher->md = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
    hasher->md = (EVP_MD *)EVP_sha256();
#endif
    hasher->ctx = EVP_MD_CTX_new();
    if (hasher->md == NULL || hasher->ctx == NULL ||
        EVP_DigestInit_ex(hasher->ctx, hasher->md, NULL) != 1) {
        pinning_hasher_free(hasher);
        return NULL;
    }
#else
    if (SHA256_Init(&hasher->ctx) != 1) {
        pinning_hasher_free(hasher);
        return NULL;
    }
#endif
    return hasher;
}

void pinning_hasher_free(pinning_hasher *hasher) {
    if (hasher == NULL) {
        return;
    }
#ifdef PIN_SHA256_EVP
    EVP_MD_CTX_free(hasher->ctx);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    EVP_MD_free(hasher->md);
#endif
#endif
    OPENSSL_free(hasher);
}

/* PIN_sha256 writes the SHA-256 of |data| to |out_digest| with the hasher's reused context.
 * Returns 1, or 0 when OpenSSL fails. */
static int PIN_sha256(uint8_t *out_digest, pinning_hasher *hasher, const PIN_cursor *data) {
#ifdef PIN_SHA256_EVP
    unsigned int digest_len = 0;
    return EVP_DigestInit_ex(hasher->ctx, hasher->md, NULL) == 1 &&
           EVP_DigestUpdate(hasher->ctx, data->data, data->len) == 1 &&
           EVP_DigestFinal_ex(hasher->ctx, out_digest, &digest_len) == 1 &&
           digest_len == PINNING_SHA256_LEN;
#else
    return SHA256_Init(&hasher->ctx) == 1 &&
           SHA256_Update(&hasher->ctx, data->data, data->len) == 1 &&
           SHA256_Final(out_digest, &hasher->ctx) == 1;
#endif
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
    if (out_offset == NULL || out_len == NULL || (cert == NULL && cert_len != 0)) {
        return PINNING_ERR_ARGUMENT;
    }
    PIN_cursor_init(&input, cert, cert_len);
    status = PIN_certificate_spki(&spki, &input);
    if (status != PINNING_OK) {
        return status;
    }
    if (!PIN_cursor_offset(out_offset, &input, &spki)) {
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
