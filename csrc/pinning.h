/* pinning.h: the public interface of the pinning C core.
 *
 * This is the only header cffi sees: csrc/gen_cffi.py hands the declarations between the cffi
 * markers below to cffi at build time. It walks DER X.509 certificates to their
 * SubjectPublicKeyInfo (SPKI) and hashes that element, header included, with SHA-256.
 *
 * Threading: the library has no global mutable state. Every function is reentrant; a
 * pinning_hasher must not be used by two threads at once (give each thread its own). */
#ifndef PINNING_H
#define PINNING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cffi:begin (csrc/gen_cffi.py hands the text between the markers to cffi's cdef) */

/* PINNING_SHA256_LEN is the length in bytes of a SHA-256 digest, and so of a pin. */
#define PINNING_SHA256_LEN 32

/* pinning_status is the result of every public function. PINNING_OK (0) means success; every other
 * value names the first field of the certificate (RFC 5280, section 4.1) that is not well-formed
 * strict DER or does not have the expected tag or contents. */
typedef enum {
    PINNING_OK = 0,
    PINNING_ERR_EMPTY = 1,                   /* the input holds no bytes */
    PINNING_ERR_CERTIFICATE = 2,             /* the outer Certificate SEQUENCE */
    PINNING_ERR_TRAILING_DATA = 3,           /* bytes after the Certificate */
    PINNING_ERR_TBS_CERTIFICATE = 4,         /* the tbsCertificate SEQUENCE */
    PINNING_ERR_VERSION = 5,                 /* [0] EXPLICIT version: one INTEGER 0..2 */
    PINNING_ERR_SERIAL_NUMBER = 6,           /* serialNumber INTEGER */
    PINNING_ERR_SIGNATURE = 7,               /* signature AlgorithmIdentifier SEQUENCE */
    PINNING_ERR_ISSUER = 8,                  /* issuer Name SEQUENCE */
    PINNING_ERR_VALIDITY = 9,                /* validity SEQUENCE */
    PINNING_ERR_SUBJECT = 10,                /* subject Name SEQUENCE */
    PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO = 11, /* subjectPublicKeyInfo SEQUENCE */
    PINNING_ERR_EXTENSIONS = 12,             /* what follows the SPKI in tbsCertificate */
    PINNING_ERR_SIGNATURE_ALGORITHM = 13,    /* signatureAlgorithm SEQUENCE */
    PINNING_ERR_SIGNATURE_VALUE = 14,        /* signatureValue BIT STRING, and nothing after it */
    PINNING_ERR_DIGEST = 15,                 /* OpenSSL refused or failed SHA-256 */
    PINNING_ERR_ARGUMENT = 16                /* a NULL pointer or inconsistent lengths */
} pinning_status;

/* pinning_hasher is an opaque SHA-256 context, created once and reused so that no call fetches the
 * digest algorithm or allocates memory. A hasher serves one call at a time (the Python binding
 * keeps a pool of them: each call takes one and gives it back).
 *
 * How it hashes is decided once, when it is created: with OpenSSL 3 in FIPS mode (the default
 * properties ask for fips=yes, EVP_default_properties_is_fips_enabled), through EVP and the
 * providers, so that OpenSSL's configuration applies and an unavailable SHA-256 is refused;
 * otherwise, and always on OpenSSL 1.1.1, through the low-level SHA-256 functions (the fastest, no
 * allocation). A build with the CMake option PINNING_SHA256_EVP always hashes through EVP. */
typedef struct pinning_hasher pinning_hasher;

/* PINNING_ERROR_LEN is a size of error buffer that holds any message of pinning_hasher_create and
 * pinning_hasher_error in full. */
#define PINNING_ERROR_LEN 512

/* pinning_status_name returns the enum name of |status| ("PINNING_ERR_ISSUER"), or "unknown"; the
 * string is static. */
const char *pinning_status_name(pinning_status status);

/* pinning_status_field returns the certificate field that |status| names, as RFC 5280 spells it
 * ("issuer"), or "" for PINNING_OK; the string is static. */
const char *pinning_status_field(pinning_status status);

/* pinning_hasher_create makes a new hasher in *out_hasher. Returns PINNING_OK, or
 * PINNING_ERR_DIGEST when OpenSSL refuses SHA-256 under its configuration (for example FIPS mode
 * with no FIPS provider loaded) or memory is exhausted, or PINNING_ERR_ARGUMENT when |out_hasher|
 * is NULL. On any error *out_hasher (when not NULL) is set to NULL and, when |out_error| is not
 * NULL, a NUL-terminated message (at most |error_len| bytes, OpenSSL's own error text included)
 * is written to |out_error|. OpenSSL's error queue of the calling thread is left empty. */
pinning_status pinning_hasher_create(pinning_hasher **out_hasher, char *out_error,
                                     size_t error_len);

/* pinning_hasher_new returns a new hasher, or NULL when pinning_hasher_create fails (use that to
 * learn why). Free it with pinning_hasher_free. */
pinning_hasher *pinning_hasher_new(void);

/* pinning_hasher_error writes to |out_error| (at most |error_len| bytes, NUL-terminated) why the
 * last function that returned PINNING_ERR_DIGEST with |hasher| failed, with OpenSSL's error text,
 * or "" when none did. */
void pinning_hasher_error(const pinning_hasher *hasher, char *out_error, size_t error_len);

/* pinning_hasher_free frees |hasher|; NULL is allowed. */
void pinning_hasher_free(pinning_hasher *hasher);

/* pinning_spki finds the SubjectPublicKeyInfo of the DER certificate |cert| (|cert_len| bytes). On
 * PINNING_OK, *out_offset and *out_len give the SPKI element, header included, as a view into
 * |cert|; on any other status both (when not NULL) are set to 0. Returns the status of the walk. */
pinning_status pinning_spki(size_t *out_offset, size_t *out_len, const uint8_t *cert,
                            size_t cert_len);

/* pinning_spki_sha256 writes the SHA-256 of the SPKI of |cert| to |out_digest|
 * (PINNING_SHA256_LEN bytes). Returns the status of the walk, or PINNING_ERR_DIGEST (see
 * pinning_hasher_error). On any error |out_digest| is left as it was. */
pinning_status pinning_spki_sha256(uint8_t *out_digest, pinning_hasher *hasher,
                                   const uint8_t *cert, size_t cert_len);

/* pinning_spki_sha256_many hashes the SPKI of |num_certs| certificates stored back to back in
 * |certs| (|certs_len| bytes; certificate i is |cert_lens[i]| bytes long) into |out_digests|
 * (num_certs * PINNING_SHA256_LEN bytes). Returns PINNING_OK, or the status of the first certificate
 * that fails with its index in *out_failed_index. The lengths must add up to |certs_len|, or
 * PINNING_ERR_ARGUMENT is returned. *out_failed_index (when not NULL) is always set: to |num_certs|
 * on PINNING_OK, to the failing index, or to |num_certs| when the arguments are refused before any
 * certificate is read. Digests of the certificates before a failing one are written. */
pinning_status pinning_spki_sha256_many(uint8_t *out_digests, size_t *out_failed_index,
                                        pinning_hasher *hasher, const uint8_t *certs,
                                        size_t certs_len, const size_t *cert_lens,
                                        size_t num_certs);

/* pinning_chain_match looks for the first certificate of a chain (laid out as for
 * pinning_spki_sha256_many) whose SPKI SHA-256 is one of |num_pins| pins stored back to back in
 * |pins| (num_pins * PINNING_SHA256_LEN bytes). On PINNING_OK, *out_index is that certificate's
 * index, or |num_certs| when none is pinned. Certificates are read in order and the walk stops at
 * the first match; a certificate before it that fails gives its status, with its index in
 * *out_index. *out_index (when not NULL) is always set: to |num_certs| when the arguments are
 * refused before any certificate is read. */
pinning_status pinning_chain_match(size_t *out_index, pinning_hasher *hasher,
                                   const uint8_t *certs, size_t certs_len,
                                   const size_t *cert_lens, size_t num_certs,
                                   const uint8_t *pins, size_t num_pins);

/* cffi:end */

#ifdef __cplusplus
}
#endif

#endif /* PINNING_H */
