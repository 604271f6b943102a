/* fuzz_chain.c: libFuzzer harness for pinning_chain_match (a chain against a set of pins).
 *
 * Input layout (fuzz/make_corpus.py writes its seeds this way):
 *   byte 0       bits 0-2: the number of certificates (0..7);
 *                bit 3: use the lengths as read, so they may not add up to the rest of the input;
 *                bits 4-5: the number of pins read from the input (0..3);
 *                bit 6: when the certificates are empty, pass NULL for them (allowed, length 0);
 *   byte 1       bit i: also pin certificate i's SPKI digest (computed by pinning_spki_sha256), so
 *                that inputs reach the match branch and not only the "nothing pinned" one;
 *   then         the pins read from the input, 32 bytes each;
 *   then         one big-endian 16-bit length per certificate;
 *   the rest     the certificates back to back.
 * Checks: the status and index equal those of hashing each certificate alone with
 * pinning_spki_sha256 and comparing with every pin, in chain order, stopping at the first failure
 * or match; PINNING_ERR_ARGUMENT exactly when the lengths do not add up. Pins and lengths live in
 * exact-size heap blocks so that AddressSanitizer sees any access past them. */
#include "common.h"

#define PIN_FUZZ_MAX_PINS (3 + PIN_FUZZ_MAX_CERTS)

/* PIN_fuzz_arguments checks the argument errors once. */
static void PIN_fuzz_arguments(void) {
    static int done = 0;
    uint8_t pin[PINNING_SHA256_LEN] = {0};
    size_t index;
    size_t len = 1;
    if (done) {
        return;
    }
    done = 1;
    PIN_FUZZ_CHECK(pinning_chain_match(NULL, PIN_fuzz_hasher(), NULL, 0, NULL, 0, pin, 1) ==
                   PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_chain_match(&index, NULL, NULL, 0, NULL, 0, pin, 1) ==
                   PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_chain_match(&index, PIN_fuzz_hasher(), NULL, 0, NULL, 0, NULL, 1) ==
                   PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_chain_match(&index, PIN_fuzz_hasher(), pin, 1, NULL, 1, pin, 1) ==
                   PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_chain_match(&index, PIN_fuzz_hasher(), pin, 1, &len, 1, pin,
                                       SIZE_MAX / PINNING_SHA256_LEN + 1) == PINNING_ERR_ARGUMENT);
    PIN_FUZZ_CHECK(pinning_chain_match(&index, PIN_fuzz_hasher(), NULL, 0, NULL, 0, NULL, 0) ==
                   PINNING_OK);
    PIN_FUZZ_CHECK(index == 0);
}

/* PIN_fuzz_is_pinned compares |digest| with each pin in turn. */
static int PIN_fuzz_is_pinned(const uint8_t *digest, const uint8_t *pins, size_t num_pins) {
    for (size_t i = 0; i < num_pins; i++) {
        if (memcmp(&pins[i * PINNING_SHA256_LEN], digest, PINNING_SHA256_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

int PIN_fuzz_chain(const uint8_t *data, size_t size) {
    PIN_fuzz_reader reader = {data, size};
    uint8_t control = PIN_fuzz_u8(&reader);
    uint8_t pin_mask = PIN_fuzz_u8(&reader);
    size_t num_certs = control & 7u;
    int keep_lengths = (control & 0x08) != 0;
    size_t num_pins = (control >> 4) & 3u;
    uint8_t pins_read[PIN_FUZZ_MAX_PINS * PINNING_SHA256_LEN];
    size_t lens_read[PIN_FUZZ_MAX_CERTS];
    size_t total;
    const uint8_t *certs;
    size_t certs_len;
    size_t *cert_lens = NULL;
    uint8_t *pins = NULL;
    uint8_t digest[PINNING_SHA256_LEN];
    size_t index = (size_t)-1;
    pinning_status expected = PINNING_OK;
    size_t expected_index = num_certs;
    pinning_status status;
    size_t offset = 0;

    PIN_fuzz_arguments();
    for (size_t i = 0; i < num_pins * PINNING_SHA256_LEN; i++) {
        pins_read[i] = PIN_fuzz_u8(&reader);
    }
    total = PIN_fuzz_split(lens_read, &reader, num_certs, keep_lengths);
    /* reader.data, never NULL, stays the second opinion's pointer for its arithmetic. */
    certs = (control & 0x40) != 0 && reader.len == 0 ? NULL : reader.data;
    certs_len = reader.len;

    /* Add the digests of the certificates that byte 1 names, when the layout is consistent. */
    for (size_t i = 0; i < num_certs && total == certs_len; i++) {
        if ((pin_mask >> i) & 1u) {
            if (pinning_spki_sha256(&pins_read[num_pins * PINNING_SHA256_LEN], PIN_fuzz_hasher(),
                                    reader.data + offset, lens_read[i]) == PINNING_OK) {
                num_pins++;
            }
        }
        offset += lens_read[i];
    }
    if (num_certs != 0) {
        cert_lens = malloc(num_certs * sizeof(*cert_lens));
        PIN_FUZZ_CHECK(cert_lens != NULL);
        memcpy(cert_lens, lens_read, num_certs * sizeof(*cert_lens));
    }
    if (num_pins != 0) {
        pins = malloc(num_pins * PINNING_SHA256_LEN);
        PIN_FUZZ_CHECK(pins != NULL);
        memcpy(pins, pins_read, num_pins * PINNING_SHA256_LEN);
    }

    status = pinning_chain_match(&index, PIN_fuzz_hasher(), certs, certs_len, cert_lens, num_certs,
                                 pins, num_pins);
    PIN_FUZZ_CHECK(PIN_fuzz_status_valid(status));
    if (total != certs_len) {
        PIN_FUZZ_CHECK(status == PINNING_ERR_ARGUMENT);
    } else {
        /* The second opinion: hash each certificate alone and compare with every pin. */
        offset = 0;
        for (size_t i = 0; i < num_certs; i++) {
            pinning_status one_status =
                pinning_spki_sha256(digest, PIN_fuzz_hasher(), reader.data + offset, cert_lens[i]);
            PIN_FUZZ_CHECK(one_status != PINNING_ERR_ARGUMENT);
            if (one_status != PINNING_OK || PIN_fuzz_is_pinned(digest, pins, num_pins)) {
                expected = one_status;
                expected_index = i;
                break;
            }
            offset += cert_lens[i];
        }
        PIN_FUZZ_CHECK(status == expected);
        PIN_FUZZ_CHECK(index == expected_index);
    }
    free(cert_lens);
    free(pins);
    return 0;
}

#ifndef PIN_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return PIN_fuzz_chain(data, size);
}
#endif
