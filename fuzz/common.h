/* common.h: what the fuzz harnesses share (harness code, not part of the library).
 *
 * Every harness exposes one function, PIN_fuzz_<name>(data, size), that runs an input through its
 * entry points and checks the results against a second opinion, calling PIN_FUZZ_CHECK (which
 * traps) on any disagreement. The libFuzzer entry point LLVMFuzzerTestOneInput wraps it unless
 * PIN_FUZZ_REPLAY is defined; fuzz/replay.c then drives all three harnesses without libFuzzer
 * (for valgrind and plain gcc builds).
 *
 * The second opinions are deliberately independent of csrc/: a strict-DER header reader and the
 * RFC 5280 walk written again here (no shared code with der.c and cert.c), and OpenSSL's one-shot
 * SHA256() / EVP_Digest() in place of the reused pinning_hasher context. */
#ifndef PINNING_FUZZ_COMMON_H
#define PINNING_FUZZ_COMMON_H

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning.h"

/* PIN_FUZZ_CHECK stops the process when |condition| is false: a finding. It names the check on
 * stderr first, since a bare trap says nothing about which invariant broke. */
#define PIN_FUZZ_CHECK(condition)                                                              \
    do {                                                                                       \
        if (!(condition)) {                                                                    \
            fprintf(stderr, "pinning fuzz: check failed at %s:%d: %s\n", __FILE__, __LINE__,  \
                    #condition);                                                               \
            fflush(stderr);                                                                    \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The largest number of certificates the batch and chain harnesses split an input into. */
#define PIN_FUZZ_MAX_CERTS 8

/* PIN_fuzz_hasher returns the harness's one hasher, created on first use and freed at exit (so
 * that valgrind sees no leak). A harness file is single-threaded; the library itself keeps no such
 * state. */
static pinning_hasher *PIN_fuzz_the_hasher = NULL;

static inline void PIN_fuzz_free_hasher(void) {
    pinning_hasher_free(PIN_fuzz_the_hasher);
    PIN_fuzz_the_hasher = NULL;
}

static inline pinning_hasher *PIN_fuzz_hasher(void) {
    if (PIN_fuzz_the_hasher == NULL) {
        PIN_fuzz_the_hasher = pinning_hasher_new();
        PIN_FUZZ_CHECK(PIN_fuzz_the_hasher != NULL);
        atexit(PIN_fuzz_free_hasher);
    }
    return PIN_fuzz_the_hasher;
}

/* PIN_fuzz_status_valid returns 1 when |status| is one of the enum's values. */
static inline int PIN_fuzz_status_valid(pinning_status status) {
    return (int)status >= (int)PINNING_OK && (int)status <= (int)PINNING_ERR_ARGUMENT &&
           strcmp(pinning_status_name(status), "unknown") != 0 &&
           strcmp(pinning_status_field(status), "unknown") != 0;
}

/* PIN_fuzz_reference_sha256 hashes |len| bytes at |data| twice, with OpenSSL's low-level SHA256()
 * and with the one-shot EVP_Digest(), checks that the two agree and writes the digest. */
static inline void PIN_fuzz_reference_sha256(uint8_t *out_digest, const uint8_t *data,
                                             size_t len) {
    uint8_t evp_digest[EVP_MAX_MD_SIZE];
    unsigned int evp_len = 0;
    PIN_FUZZ_CHECK(SHA256(data, len, out_digest) != NULL);
    PIN_FUZZ_CHECK(EVP_Digest(data, len, evp_digest, &evp_len, EVP_sha256(), NULL) == 1);
    PIN_FUZZ_CHECK(evp_len == PINNING_SHA256_LEN);
    PIN_FUZZ_CHECK(memcmp(out_digest, evp_digest, PINNING_SHA256_LEN) == 0);
}

/* PIN_fuzz_der_element is an independent strict-DER header reader (X.690 8.1.2, 8.1.3, 10.1),
 * written without the library's cursor. It reads the element at the start of |len| bytes at |data|
 * and returns its total length (header included) with its identifier octet in |out_tag| and its
 * header length in |out_header_len|, or 0 when the bytes do not start with a strict-DER element. */
static inline size_t PIN_fuzz_der_element(uint8_t *out_tag, size_t *out_header_len,
                                          const uint8_t *data, size_t len) {
    size_t length;
    size_t header_len;
    if (len < 2 || (data[0] & 0x1f) == 0x1f || (data[0] & 0xdf) == 0) {
        return 0;
    }
    if (data[1] < 0x80) {
        length = data[1];
        header_len = 2;
    } else {
        size_t num_octets = data[1] & 0x7fu;
        if (num_octets == 0 || num_octets > 4 || len - 2 < num_octets || data[2] == 0) {
            return 0;
        }
        length = 0;
        for (size_t i = 0; i < num_octets; i++) {
            length = (length << 8) | data[2 + i];
        }
        if (length < 128) {
            return 0;
        }
        header_len = 2 + num_octets;
    }
    if (length > len - header_len) {
        return 0;
    }
    *out_tag = data[0];
    *out_header_len = header_len;
    return header_len + length;
}

/* PIN_fuzz_bit_string_ok checks the contents of a DER BIT STRING (|len| bytes at |data|): an
 * initial octet of 0..7 unused bits (X.690 8.6.2.2), 0 when nothing follows it (8.6.2.3), and the
 * unused bits of the last octet zero (11.2.1). */
static inline int PIN_fuzz_bit_string_ok(const uint8_t *data, size_t len) {
    if (len == 0 || data[0] > 7) {
        return 0;
    }
    if (len == 1) {
        return data[0] == 0;
    }
    return (data[len - 1] & ((1u << data[0]) - 1u)) == 0;
}

/* PIN_fuzz_check_spki_view checks that |len| bytes at |offset| lie inside |cert_len| bytes and hold
 * exactly one DER SEQUENCE made of one SEQUENCE (algorithm) and one well-formed BIT STRING
 * (subjectPublicKey). */
static inline void PIN_fuzz_check_spki_view(const uint8_t *cert, size_t cert_len,
                                            size_t offset, size_t len) {
    uint8_t tag = 0;
    size_t header_len = 0;
    size_t inner_header_len;
    size_t algorithm_len;
    size_t key_len;
    const uint8_t *contents;
    size_t contents_len;
    PIN_FUZZ_CHECK(offset <= cert_len && len <= cert_len - offset);
    PIN_FUZZ_CHECK(len != 0 && PIN_fuzz_der_element(&tag, &header_len, cert + offset, len) == len);
    PIN_FUZZ_CHECK(tag == 0x30);
    contents = cert + offset + header_len;
    contents_len = len - header_len;
    algorithm_len = PIN_fuzz_der_element(&tag, &inner_header_len, contents, contents_len);
    PIN_FUZZ_CHECK(algorithm_len != 0 && tag == 0x30);
    key_len = PIN_fuzz_der_element(&tag, &inner_header_len, contents + algorithm_len,
                                   contents_len - algorithm_len);
    PIN_FUZZ_CHECK(key_len != 0 && tag == 0x03);
    PIN_FUZZ_CHECK(algorithm_len + key_len == contents_len);
    PIN_FUZZ_CHECK(PIN_fuzz_bit_string_ok(contents + algorithm_len + inner_header_len,
                                          key_len - inner_header_len));
}

/* PIN_fuzz_integer_ok: DER INTEGER contents, at least one octet, the first nine bits not all equal
 * (X.690 8.3.1, 8.3.2). */
static inline int PIN_fuzz_integer_ok(const uint8_t *data, size_t len) {
    if (len == 0) {
        return 0;
    }
    return len == 1 || !((data[0] == 0x00 && data[1] < 0x80) || (data[0] == 0xff && data[1] >= 0x80));
}

/* PIN_fuzz_span is a (pointer, length) pair for the reference walk below. */
typedef struct {
    const uint8_t *data;
    size_t len;
} PIN_fuzz_span;

/* PIN_fuzz_take reads the element tagged |tag| off the front of |span| with PIN_fuzz_der_element,
 * setting |out_element| (header included; may be NULL) and |out_contents| (may be NULL). Returns 1,
 * or 0 (and leaves |span| as it is) on another tag or a malformed element. */
static inline int PIN_fuzz_take(PIN_fuzz_span *out_element, PIN_fuzz_span *out_contents,
                                PIN_fuzz_span *span, uint8_t tag) {
    uint8_t actual_tag = 0;
    size_t header_len = 0;
    size_t total = PIN_fuzz_der_element(&actual_tag, &header_len, span->data, span->len);
    if (total == 0 || actual_tag != tag) {
        return 0;
    }
    if (out_element != NULL) {
        out_element->data = span->data;
        out_element->len = total;
    }
    if (out_contents != NULL) {
        out_contents->data = span->data + header_len;
        out_contents->len = total - header_len;
    }
    span->data += total;
    span->len -= total;
    return 1;
}

/* PIN_fuzz_take_optional is PIN_fuzz_take for an element that may be absent: absent when |span| is
 * empty or does not start with |tag|. Returns 0 only when a present element is malformed. */
static inline int PIN_fuzz_take_optional(PIN_fuzz_span *span, uint8_t tag) {
    return span->len == 0 || span->data[0] != tag || PIN_fuzz_take(NULL, NULL, span, tag);
}

/* PIN_fuzz_tail_ok checks what follows the SPKI in tbsCertificate for a certificate of |version|
 * (0 for v1): unique identifiers (v2, v3) as BIT STRINGs, then [3] (v3) holding exactly one
 * non-empty SEQUENCE (the Extensions in it are not read), then nothing. */
static inline int PIN_fuzz_tail_ok(PIN_fuzz_span tbs, int version) {
    static const uint8_t kUniqueIdTags[2] = {0x81, 0x82};
    PIN_fuzz_span field;
    PIN_fuzz_span extensions;
    if (tbs.len == 0) {
        return 1;
    }
    if (version == 0) {
        return 0;
    }
    for (size_t i = 0; i < 2; i++) {
        if (tbs.len != 0 && tbs.data[0] == kUniqueIdTags[i] &&
            (!PIN_fuzz_take(NULL, &field, &tbs, kUniqueIdTags[i]) ||
             !PIN_fuzz_bit_string_ok(field.data, field.len))) {
            return 0;
        }
    }
    if (tbs.len != 0 && tbs.data[0] == 0xa3) {
        if (version != 2 || !PIN_fuzz_take(NULL, &field, &tbs, 0xa3) ||
            !PIN_fuzz_take(NULL, &extensions, &field, 0x30) || field.len != 0 ||
            extensions.len == 0) {
            return 0;
        }
    }
    return tbs.len == 0;
}

/* PIN_fuzz_reference_walk is a second, independent implementation of the RFC 5280 walk of
 * csrc/cert.c (same steps, same statuses, written again over PIN_fuzz_der_element). On PINNING_OK
 * it sets |out_offset| and |out_len| to the SPKI element, header included. */
static inline pinning_status PIN_fuzz_reference_walk(size_t *out_offset, size_t *out_len,
                                                     const uint8_t *cert, size_t cert_len) {
    PIN_fuzz_span rest = {cert, cert_len};
    PIN_fuzz_span certificate;
    PIN_fuzz_span tbs;
    PIN_fuzz_span field;
    PIN_fuzz_span spki;
    PIN_fuzz_span spki_contents;
    PIN_fuzz_span key;
    int version = 0;
    if (cert_len == 0) {
        return PINNING_ERR_EMPTY;
    }
    if (!PIN_fuzz_take(NULL, &certificate, &rest, 0x30)) {
        return PINNING_ERR_CERTIFICATE;
    }
    if (rest.len != 0) {
        return PINNING_ERR_TRAILING_DATA;
    }
    if (!PIN_fuzz_take(NULL, &tbs, &certificate, 0x30)) {
        return PINNING_ERR_TBS_CERTIFICATE;
    }
    if (tbs.len != 0 && tbs.data[0] == 0xa0) {
        /* [0] EXPLICIT holding exactly one INTEGER of one byte, 1 or 2 (0 is the DEFAULT). */
        PIN_fuzz_span explicit_version;
        PIN_fuzz_span integer;
        if (!PIN_fuzz_take(NULL, &explicit_version, &tbs, 0xa0) ||
            !PIN_fuzz_take(NULL, &integer, &explicit_version, 0x02) || explicit_version.len != 0 ||
            integer.len != 1 || integer.data[0] < 1 || integer.data[0] > 2) {
            return PINNING_ERR_VERSION;
        }
        version = integer.data[0];
    }
    if (!PIN_fuzz_take(NULL, &field, &tbs, 0x02) || !PIN_fuzz_integer_ok(field.data, field.len)) {
        return PINNING_ERR_SERIAL_NUMBER;
    }
    if (!PIN_fuzz_take(NULL, &field, &tbs, 0x30) || field.len == 0) {
        return PINNING_ERR_SIGNATURE;
    }
    if (!PIN_fuzz_take(NULL, NULL, &tbs, 0x30)) {
        return PINNING_ERR_ISSUER;
    }
    if (!PIN_fuzz_take(NULL, NULL, &tbs, 0x30)) {
        return PINNING_ERR_VALIDITY;
    }
    if (!PIN_fuzz_take(NULL, NULL, &tbs, 0x30)) {
        return PINNING_ERR_SUBJECT;
    }
    if (!PIN_fuzz_take(&spki, &spki_contents, &tbs, 0x30) ||
        !PIN_fuzz_take(NULL, &field, &spki_contents, 0x30) || field.len == 0 ||
        !PIN_fuzz_take(NULL, &key, &spki_contents, 0x03) || spki_contents.len != 0 ||
        !PIN_fuzz_bit_string_ok(key.data, key.len)) {
        return PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO;
    }
    if (!PIN_fuzz_tail_ok(tbs, version)) {
        return PINNING_ERR_EXTENSIONS;
    }
    if (!PIN_fuzz_take(NULL, &field, &certificate, 0x30) || field.len == 0) {
        return PINNING_ERR_SIGNATURE_ALGORITHM;
    }
    if (!PIN_fuzz_take(NULL, &key, &certificate, 0x03) || certificate.len != 0 ||
        !PIN_fuzz_bit_string_ok(key.data, key.len)) {
        return PINNING_ERR_SIGNATURE_VALUE;
    }
    *out_offset = (size_t)(spki.data - cert);
    *out_len = spki.len;
    return PINNING_OK;
}

/* PIN_fuzz_reader takes bytes off the front of a fuzz input, yielding zeros once it runs dry, so
 * that every input maps to some call. */
typedef struct {
    const uint8_t *data;
    size_t len;
} PIN_fuzz_reader;

static inline uint8_t PIN_fuzz_u8(PIN_fuzz_reader *reader) {
    uint8_t value;
    if (reader->len == 0) {
        return 0;
    }
    value = reader->data[0];
    reader->data++;
    reader->len--;
    return value;
}

static inline size_t PIN_fuzz_u16(PIN_fuzz_reader *reader) {
    size_t high = PIN_fuzz_u8(reader);
    return (high << 8) | PIN_fuzz_u8(reader);
}

/* PIN_fuzz_split reads a chain layout off |reader|: |num_certs| big-endian 16-bit lengths, each cut
 * down to what is left of the input after the lengths (the certificates follow back to back).
 * Unless |keep_lengths| is set, the last certificate takes everything left over so that the lengths
 * add up to the rest of the input; with it set they are used as read and may not add up. Returns
 * the total of the lengths. */
static inline size_t PIN_fuzz_split(size_t *out_lens, PIN_fuzz_reader *reader,
                                    size_t num_certs, int keep_lengths) {
    size_t total = 0;
    size_t rest;
    for (size_t i = 0; i < num_certs; i++) {
        out_lens[i] = PIN_fuzz_u16(reader);
    }
    rest = reader->len;
    for (size_t i = 0; i < num_certs; i++) {
        if (!keep_lengths) {
            if (out_lens[i] > rest - total) {
                out_lens[i] = rest - total;
            }
            if (i + 1 == num_certs) {
                out_lens[i] = rest - total;
            }
        }
        total += out_lens[i];
    }
    return total;
}

#endif /* PINNING_FUZZ_COMMON_H */
