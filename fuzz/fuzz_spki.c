/* fuzz_spki.c: libFuzzer harness for pinning_spki and pinning_spki_sha256 (one certificate).
 *
 * The input is the certificate. Checks, on every input:
 *   - both functions return a status of the enum, and the same one, which is also the status of
 *     the independent reference walk in common.h (and, on PINNING_OK, the same SPKI view);
 *   - on PINNING_OK, the SPKI view lies inside the input and is one DER SEQUENCE holding one
 *     SEQUENCE and one BIT STRING (an independent reader in common.h), and the digest equals
 *     OpenSSL's one-shot SHA256() and EVP_Digest() of that view;
 *   - a second call gives the same digest (the reused hasher keeps no state between calls);
 *   - on PINNING_OK, the input with one byte appended gives PINNING_ERR_TRAILING_DATA and the input
 *     less its last byte gives PINNING_ERR_CERTIFICATE. */
#include "common.h"

/* PIN_fuzz_arguments checks the argument errors and the empty input once. */
static void PIN_fuzz_arguments(void) {
    static int done = 0;
    uint8_t digest[PINNING_SHA256_LEN];
    size_t offset;
    size_t len;
    if (done) {
        return;
    }
    done = 1;
    PIN_FUZZ_CHECK(pinning_spki(&offset, &len, NULL, 0) == PINNING_ERR_EMPTY);
    PIN_FUZZ_CHECK(pinning_spki(NULL, &len, digest, 1) == PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_spki(&offset, NULL, digest, 1) == PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_spki(&offset, &len, NULL, 1) == PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_spki_sha256(digest, PIN_fuzz_hasher(), NULL, 0) == PINNING_ERR_EMPTY);
    PIN_FUZZ_CHECK(pinning_spki_sha256(NULL, PIN_fuzz_hasher(), digest, 1) == PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_spki_sha256(digest, NULL, digest, 1) == PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_spki_sha256(digest, PIN_fuzz_hasher(), NULL, 1) == PINNING_ERR_ARGUMENT);
}

int PIN_fuzz_spki(const uint8_t *data, size_t size) {
    size_t offset = (size_t)-1;
    size_t len = (size_t)-1;
    size_t reference_offset = 0;
    size_t reference_len = 0;
    uint8_t digest[PINNING_SHA256_LEN];
    uint8_t again[PINNING_SHA256_LEN];
    uint8_t reference[PINNING_SHA256_LEN];
    pinning_status view_status;
    pinning_status hash_status;
    uint8_t *longer;

    PIN_fuzz_arguments();
    view_status = pinning_spki(&offset, &len, data, size);
    hash_status = pinning_spki_sha256(digest, PIN_fuzz_hasher(), data, size);
    PIN_FUZZ_CHECK(PIN_fuzz_status_valid(view_status));
    PIN_FUZZ_CHECK(view_status == hash_status);
    PIN_FUZZ_CHECK(view_status != PINNING_ERR_ARGUMENT && view_status != PINNING_ERR_DIGEST);
    PIN_FUZZ_CHECK((size == 0) == (view_status == PINNING_ERR_EMPTY));
    PIN_FUZZ_CHECK(PIN_fuzz_reference_walk(&reference_offset, &reference_len, data, size) ==
                   view_status);
    if (view_status != PINNING_OK) {
        return 0;
    }
    PIN_FUZZ_CHECK(offset == reference_offset && len == reference_len);

    PIN_fuzz_check_spki_view(data, size, offset, len);
    PIN_fuzz_reference_sha256(reference, data + offset, len);
    PIN_FUZZ_CHECK(memcmp(digest, reference, PINNING_SHA256_LEN) == 0);
    PIN_FUZZ_CHECK(pinning_spki_sha256(again, PIN_fuzz_hasher(), data, size) == PINNING_OK);
    PIN_FUZZ_CHECK(memcmp(again, reference, PINNING_SHA256_LEN) == 0);

    /* One byte more is trailing data; one byte less truncates the outer SEQUENCE. The longer input
     * is an exact-size heap copy, so that AddressSanitizer sees any read past its end. */
    longer = malloc(size + 1);
    PIN_FUZZ_CHECK(longer != NULL);
    memcpy(longer, data, size);
    longer[size] = 0;
    PIN_FUZZ_CHECK(pinning_spki_sha256(again, PIN_fuzz_hasher(), longer, size + 1) ==
                   PINNING_ERR_TRAILING_DATA);
    free(longer);
    PIN_FUZZ_CHECK(pinning_spki(&offset, &len, data, size - 1) == PINNING_ERR_CERTIFICATE);
    return 0;
}

#ifndef PIN_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return PIN_fuzz_spki(data, size);
}
#endif
