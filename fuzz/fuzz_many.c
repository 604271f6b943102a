/* fuzz_many.c: libFuzzer harness for pinning_spki_sha256_many (a batch of certificates).
 *
 * Input layout (fuzz/make_corpus.py writes its seeds this way):
 *   byte 0       bits 0-2: the number of certificates (0..7);
 *                bit 3: use the lengths as read, so they may not add up to the rest of the input
 *                       (else the last certificate takes what is left);
 *                bit 4: with 2 or more certificates, lengths whose sum wraps around size_t to the
 *                       length of the rest (the overflow check);
 *                bit 5: when the rest is empty, pass NULL for it (allowed with length 0);
 *   then         one big-endian 16-bit length per certificate;
 *   the rest     the certificates back to back.
 * Checks: the batch gives the same status, failed index and digests as calling pinning_spki_sha256
 * on each certificate in turn (each digest also equal to OpenSSL's one-shot SHA-256 of the view
 * pinning_spki gives), and PINNING_ERR_ARGUMENT exactly when the lengths do not add up.
 * The digests and lengths live in exact-size heap blocks so that AddressSanitizer sees any access
 * past them. */
#include "common.h"

int PIN_fuzz_many(const uint8_t *data, size_t size) {
    PIN_fuzz_reader reader = {data, size};
    uint8_t control = PIN_fuzz_u8(&reader);
    size_t num_certs = control & 7u;
    int keep_lengths = (control & 0x08) != 0;
    int overflow = (control & 0x10) != 0 && num_certs >= 2;
    size_t lens_read[PIN_FUZZ_MAX_CERTS];
    size_t total = PIN_fuzz_split(lens_read, &reader, num_certs, keep_lengths);
    const uint8_t *rest = reader.data; /* never NULL: the second opinion's pointer arithmetic */
    const uint8_t *certs = (control & 0x20) != 0 && reader.len == 0 ? NULL : rest;
    size_t certs_len = reader.len;
    size_t *cert_lens = NULL;
    uint8_t *digests = NULL;
    uint8_t one[PINNING_SHA256_LEN];
    uint8_t reference[PINNING_SHA256_LEN];
    size_t view_offset;
    size_t view_len;
    size_t failed_index = (size_t)-1;
    pinning_status expected = PINNING_OK;
    size_t expected_index = num_certs;
    pinning_status status;
    size_t offset = 0;

    if (num_certs != 0) {
        cert_lens = malloc(num_certs * sizeof(*cert_lens));
        digests = malloc(num_certs * PINNING_SHA256_LEN);
        PIN_FUZZ_CHECK(cert_lens != NULL && digests != NULL);
        memcpy(cert_lens, lens_read, num_certs * sizeof(*cert_lens));
    }
    if (overflow) {
        /* Lengths whose sum wraps around to exactly |certs_len|: only a check for overflow refuses
         * them. */
        size_t others = 0;
        for (size_t i = 1; i < num_certs; i++) {
            others += cert_lens[i];
        }
        if (others <= certs_len) {
            cert_lens[1] += certs_len + 1 - others;
            others = certs_len + 1;
        }
        cert_lens[0] = certs_len - others; /* wraps: SIZE_MAX + 1 - (others - certs_len) */
    }
    status = pinning_spki_sha256_many(digests, &failed_index, PIN_fuzz_hasher(), certs, certs_len,
                                      cert_lens, num_certs);
    PIN_FUZZ_CHECK(PIN_fuzz_status_valid(status));

    if (overflow || total != certs_len) {
        PIN_FUZZ_CHECK(status == PINNING_ERR_ARGUMENT);
    } else {
        /* The second opinion: one call per certificate, stopping at the first failure. */
        for (size_t i = 0; i < num_certs; i++) {
            pinning_status one_status =
                pinning_spki_sha256(one, PIN_fuzz_hasher(), rest + offset, cert_lens[i]);
            PIN_FUZZ_CHECK(one_status != PINNING_ERR_ARGUMENT);
            if (one_status != PINNING_OK) {
                expected = one_status;
                expected_index = i;
                break;
            }
            PIN_FUZZ_CHECK(memcmp(&digests[i * PINNING_SHA256_LEN], one, PINNING_SHA256_LEN) == 0);
            PIN_FUZZ_CHECK(pinning_spki(&view_offset, &view_len, rest + offset, cert_lens[i]) ==
                           PINNING_OK);
            PIN_fuzz_check_spki_view(rest + offset, cert_lens[i], view_offset, view_len);
            PIN_fuzz_reference_sha256(reference, rest + offset + view_offset, view_len);
            PIN_FUZZ_CHECK(memcmp(one, reference, PINNING_SHA256_LEN) == 0);
            offset += cert_lens[i];
        }
        PIN_FUZZ_CHECK(status == expected);
        if (status != PINNING_OK) {
            PIN_FUZZ_CHECK(failed_index == expected_index);
        }
    }
    free(cert_lens);
    free(digests);
    return 0;
}

#ifndef PIN_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return PIN_fuzz_many(data, size);
}
#endif
