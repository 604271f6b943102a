/* test_core.c: unit tests of the pinning C core, as tables of tiny inputs.
 *
 * Each row of kRows is a certificate in hex with a one-line comment naming its defect, the status
 * the walk must return, and for PINNING_OK where the SPKI lies. Every row runs through all four
 * entry points: pinning_spki, pinning_spki_sha256, pinning_spki_sha256_many (as the middle
 * certificate of three) and pinning_chain_match (first and last in a chain of two). Inputs are
 * copied into buffers of exactly their size, so that a sanitizer build (PINNING_SANITIZE) catches
 * any read past the end.
 *
 * The base certificate of most rows, as small as the walk allows: the walk does
 * not read Names, validity, the contents of an AlgorithmIdentifier or the bits of a key, so small
 * or empty ones stand in for them (the rows are generated with correct lengths; each breaks one
 * rule, or, marked "accepted", one the walk does not check):
 *   30 2c                        Certificate
 *      30 22                     tbsCertificate
 *         a0 03 02 01 02         version [0] EXPLICIT INTEGER 2 (v3)
 *         02 01 01               serialNumber 1
 *         30 03 06 01 2a         signature AlgorithmIdentifier { OID 1.2 }
 *         30 00                  issuer
 *         30 04 17 00 17 00      validity { UTCTime, UTCTime }
 *         30 00                  subject
 *         30 09 30 03 06 01 2a 03 02 00 aa   subjectPublicKeyInfo (offset 27, 11 bytes)
 *      30 03 06 01 2a            signatureAlgorithm
 *      03 01 00                  signatureValue
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning.h"

/* num_checks and num_failures count the checks made and failed. */
static int num_checks;
static int num_failures;

/* CHECK counts a check, and reports it with a printf-style message when |condition| is false. */
#define CHECK(condition, ...)                                                       \
    do {                                                                            \
        num_checks++;                                                               \
        if (!(condition)) {                                                         \
            num_failures++;                                                         \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__,        \
                    #condition);                                                    \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
        }                                                                           \
    } while (0)

typedef struct {
    const char *hex;         /* the input, hex octets separated by spaces */
    pinning_status expected; /* what every entry point must return for it */
    size_t spki_offset;      /* for PINNING_OK: where the SPKI starts */
    size_t spki_len;         /* for PINNING_OK: its length, header included */
} test_row;

static const test_row kRows[] = {
    /* a minimal v3 certificate (Names, validity, AlgorithmIdentifier contents and key bits are
     * not read) */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* v1: no [0] version */
    {"30 27 30 1d 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 30 03 "
     "06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 22, 11},
    /* v2: [0] holding 1 */
    {"30 2c 30 22 a0 03 02 01 01 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* with extensions: one Extension {extnID 1.2, extnValue empty} */
    {"30 37 30 2d a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 09 30 07 30 05 06 01 2a 04 00 30 03 06 "
     "01 2a 03 01 00", PINNING_OK, 27, 11},
    /* with a critical Extension (BOOLEAN TRUE, 0xff) */
    {"30 3a 30 30 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0c 30 0a 30 08 06 01 2a 01 01 ff 04 00 "
     "30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* with issuerUniqueID, subjectUniqueID and extensions */
    {"30 3d 30 33 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 81 01 00 82 01 00 a3 09 30 07 30 05 06 01 "
     "2a 04 00 30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* v2 with issuerUniqueID and subjectUniqueID */
    {"30 33 30 29 a0 03 02 01 01 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 81 01 00 82 02 04 f0 30 03 06 01 2a 03 01 "
     "00", PINNING_OK, 27, 11},
    /* AlgorithmIdentifiers with a NULL parameter, an OID with a 0x80 octet inside (1.3.6.1.4.1.16384) */
    {"30 37 30 2b a0 03 02 01 02 02 01 01 30 05 06 01 2a 05 00 30 00 30 04 17 00 17 "
     "00 30 00 30 10 30 0a 06 08 2b 06 01 04 01 81 80 00 03 02 00 aa 30 05 06 01 2a "
     "05 00 03 01 00", PINNING_OK, 29, 18},
    /* GeneralizedTime validity and minimal serials 00 80 */
    {"30 2d 30 23 a0 03 02 01 02 02 02 00 80 30 03 06 01 2a 30 00 30 04 18 00 18 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 28, 11},
    /* a negative serialNumber ff 7f (DER minimality only) */
    {"30 2d 30 23 a0 03 02 01 02 02 02 ff 7f 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 28, 11},
    /* a subjectPublicKey with 4 zero unused bits */
    {"30 2d 30 23 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 0a 30 03 06 01 2a 03 03 04 aa f0 30 03 06 01 2a 03 01 00", PINNING_OK, 27, 12},
    /* empty input */
    {"", PINNING_ERR_EMPTY, 0, 0},
    /* truncated: the identifier octet only */
    {"30", PINNING_ERR_CERTIFICATE, 0, 0},
    /* truncated: the header only */
    {"30 2c", PINNING_ERR_CERTIFICATE, 0, 0},
    /* truncated: the last byte missing */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01", PINNING_ERR_CERTIFICATE, 0, 0},
    /* indefinite length (0x80) on the Certificate */
    {"30 80 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00 00 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* non-minimal length 0x81 0x2c on the Certificate */
    {"30 81 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* non-minimal length 0x82 0x00 0x2c on the Certificate */
    {"30 82 00 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 "
     "00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* five length octets (0x85) */
    {"30 85 00 00 00 00 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 "
     "17 00 17 00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* reserved length octet 0xff */
    {"30 ff 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* length larger than the input by one */
    {"30 2d 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* length 0xffffffff */
    {"30 84 ff ff ff ff 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 "
     "00 17 00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* tag 0 (end-of-contents) */
    {"00 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* tag 0, constructed (0x20) */
    {"20 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* high-tag-number form (0x1f 0x21) */
    {"1f 21 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* high-tag-number form, context-specific (0xbf 0x21) */
    {"bf 21 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* Certificate as a SET */
    {"31 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* a zero byte after the Certificate */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00 00", PINNING_ERR_TRAILING_DATA, 0, 0},
    /* a second Certificate after the first */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00 30 2c 30 22 a0 03 "
     "02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 30 03 06 "
     "01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_TRAILING_DATA, 0, 0},
    /* an empty Certificate SEQUENCE */
    {"30 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* tbsCertificate as a SET */
    {"30 2c 31 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* tbsCertificate truncated inside the Certificate */
    {"30 23 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* tbsCertificate in the indefinite form */
    {"30 2e 30 80 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 00 00 30 03 06 01 2a 03 01 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* version 3 */
    {"30 2c 30 22 a0 03 02 01 03 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version 0xff */
    {"30 2c 30 22 a0 03 02 01 ff 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version 0 written out (v1 is the DEFAULT: DER leaves it out) */
    {"30 2c 30 22 a0 03 02 01 00 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version as a two-byte INTEGER */
    {"30 2d 30 23 a0 04 02 02 00 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* [0] holding two INTEGERs */
    {"30 2f 30 25 a0 06 02 01 02 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 "
     "17 00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* an empty [0] */
    {"30 29 30 1f a0 00 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 "
     "30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* [0] holding an OCTET STRING */
    {"30 2c 30 22 a0 03 04 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* [0] with a non-minimal length (0x81 0x03) */
    {"30 2d 30 23 a0 81 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version as [1]: absent version, then serialNumber meets [1] */
    {"30 2c 30 22 a1 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* version with tag 0: absent version, then serialNumber meets tag 0 */
    {"30 2c 30 22 00 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* an empty serialNumber */
    {"30 2b 30 21 a0 03 02 01 02 02 00 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 "
     "30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber as a BIT STRING */
    {"30 2c 30 22 a0 03 02 01 02 03 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber with length 0x81 0x01 */
    {"30 2d 30 23 a0 03 02 01 02 02 81 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber 00 01: a leading zero octet */
    {"30 2d 30 23 a0 03 02 01 02 02 02 00 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber 00 00: a leading zero octet */
    {"30 2d 30 23 a0 03 02 01 02 02 02 00 00 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber ff 80: a leading 0xff octet */
    {"30 2d 30 23 a0 03 02 01 02 02 02 ff 80 30 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber ff ff ff: a leading 0xff octet */
    {"30 2e 30 24 a0 03 02 01 02 02 03 ff ff ff 30 03 06 01 2a 30 00 30 04 17 00 17 "
     "00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* tbsCertificate ending after serialNumber */
    {"30 12 30 08 a0 03 02 01 02 02 01 01 30 03 06 01 2a 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* signature as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 31 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* signature with length 0x81 0x03 */
    {"30 2d 30 23 a0 03 02 01 02 02 01 01 30 81 03 06 01 2a 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* an empty signature AlgorithmIdentifier */
    {"30 29 30 1f a0 03 02 01 02 02 01 01 30 00 30 00 30 04 17 00 17 00 30 00 30 09 "
     "30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* signature starting with a NULL, not an OID: accepted (contents not read) */
    {"30 2b 30 21 a0 03 02 01 02 02 01 01 30 02 05 00 30 00 30 04 17 00 17 00 30 00 "
     "30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 26, 11},
    /* signature: OID, NULL and a third element: accepted (contents not read) */
    {"30 30 30 26 a0 03 02 01 02 02 01 01 30 07 06 01 2a 05 00 05 00 30 00 30 04 17 "
     "00 17 00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 31, 11},
    /* signature: an empty OID: accepted (contents not read) */
    {"30 2b 30 21 a0 03 02 01 02 02 01 01 30 02 06 00 30 00 30 04 17 00 17 00 30 00 "
     "30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 26, 11},
    /* signature: an OID subidentifier starting with 0x80: accepted (contents not read) */
    {"30 2d 30 23 a0 03 02 01 02 02 01 01 30 04 06 02 80 01 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 28, 11},
    /* signature: an OID ending inside a subidentifier: accepted (contents not read) */
    {"30 2d 30 23 a0 03 02 01 02 02 01 01 30 04 06 02 2a 86 30 00 30 04 17 00 17 00 "
     "30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 28, 11},
    /* signature: an OID padded inside (2a 80 01): accepted (contents not read) */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 05 06 03 2a 80 01 30 00 30 04 17 00 17 "
     "00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 29, 11},
    /* issuer as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 31 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_ISSUER, 0, 0},
    /* issuer in the indefinite form */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 80 00 00 30 04 17 00 17 "
     "00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_ISSUER, 0, 0},
    /* validity as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 31 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VALIDITY, 0, 0},
    /* validity with tag 0 */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 00 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_VALIDITY, 0, 0},
    /* an empty validity: accepted (contents not read) */
    {"30 28 30 1e a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 00 30 00 30 09 30 "
     "03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 23, 11},
    /* validity with one Time: accepted (contents not read) */
    {"30 2a 30 20 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 02 17 00 30 00 30 "
     "09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 25, 11},
    /* validity with three Times: accepted (contents not read) */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 06 17 00 17 00 18 "
     "00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 29, 11},
    /* validity holding OCTET STRINGs: accepted (contents not read) */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 04 00 04 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* validity: a UTCTime in the indefinite form: accepted (contents not read) */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 06 17 80 00 00 17 "
     "00 30 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 29, 11},
    /* subject as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 31 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT, 0, 0},
    /* subject in the high-tag-number form */
    {"30 2d 30 23 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 3f "
     "21 00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT, 0, 0},
    /* subjectPublicKeyInfo as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 31 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* tbsCertificate ending after subject */
    {"30 21 30 17 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI algorithm as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 31 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI key as an OCTET STRING */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 04 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI without its key */
    {"30 28 30 1e a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 05 30 03 06 01 2a 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI with the key first */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 03 02 00 aa 30 03 06 01 2a 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI with an extra NULL */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 0b 30 03 06 01 2a 03 02 00 aa 05 00 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI key claiming one byte more than the SPKI holds */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 03 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI with an empty AlgorithmIdentifier */
    {"30 29 30 1f a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 06 30 00 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI algorithm without its OID: accepted (contents not read) */
    {"30 2b 30 21 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 08 30 02 05 00 03 02 00 aa 30 03 06 01 2a 03 01 00", PINNING_OK, 27, 10},
    /* SPKI key with 8 unused bits */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 08 aa 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI key whose unused bit is set */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 01 ab 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI key BIT STRING with no contents */
    {"30 2a 30 20 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 07 30 03 06 01 2a 03 00 30 03 06 01 2a 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* extensions as primitive [3] */
    {"30 37 30 2d a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 83 09 30 07 30 05 06 01 2a 04 00 30 03 06 "
     "01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* extensions twice */
    {"30 42 30 38 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 09 30 07 30 05 06 01 2a 04 00 a3 09 30 "
     "07 30 05 06 01 2a 04 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* subjectUniqueID before issuerUniqueID */
    {"30 32 30 28 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 82 01 00 81 01 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* extensions in the indefinite form */
    {"30 39 30 2f a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 80 30 07 30 05 06 01 2a 04 00 00 00 30 "
     "03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* a zero byte after extensions in tbsCertificate */
    {"30 38 30 2e a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 09 30 07 30 05 06 01 2a 04 00 00 30 03 "
     "06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* a NULL after the SPKI in tbsCertificate */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 05 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* v1 (no [0]) with extensions */
    {"30 32 30 28 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 30 03 "
     "06 01 2a 03 02 00 aa a3 09 30 07 30 05 06 01 2a 04 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* v1 with an issuerUniqueID */
    {"30 2a 30 20 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 30 03 "
     "06 01 2a 03 02 00 aa 81 01 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* v1 with a subjectUniqueID */
    {"30 2a 30 20 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 30 03 "
     "06 01 2a 03 02 00 aa 82 01 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* v2 with extensions */
    {"30 37 30 2d a0 03 02 01 01 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 09 30 07 30 05 06 01 2a 04 00 30 03 06 "
     "01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* issuerUniqueID with 8 unused bits */
    {"30 30 30 26 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 81 02 08 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* subjectUniqueID whose unused bits are set */
    {"30 30 30 26 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 82 02 04 0f 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* issuerUniqueID with no contents */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 81 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* an empty [3] */
    {"30 2e 30 24 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* [3] holding an empty SEQUENCE (SIZE (1..MAX)) */
    {"30 30 30 26 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 02 30 00 30 03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* [3] holding a SET */
    {"30 37 30 2d a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 09 31 07 30 05 06 01 2a 04 00 30 03 06 "
     "01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* [3] holding the Extensions and a NULL */
    {"30 39 30 2f a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0b 30 07 30 05 06 01 2a 04 00 05 00 30 "
     "03 06 01 2a 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* an Extension as a SET: accepted (Extensions not read) */
    {"30 37 30 2d a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 09 30 07 31 05 06 01 2a 04 00 30 03 06 "
     "01 2a 03 01 00", PINNING_OK, 27, 11},
    /* an Extension without extnID: accepted (Extensions not read) */
    {"30 34 30 2a a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 06 30 04 30 02 04 00 30 03 06 01 2a 03 "
     "01 00", PINNING_OK, 27, 11},
    /* an Extension with an empty extnID: accepted (Extensions not read) */
    {"30 36 30 2c a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 08 30 06 30 04 06 00 04 00 30 03 06 01 "
     "2a 03 01 00", PINNING_OK, 27, 11},
    /* critical FALSE written out (DEFAULT FALSE): accepted (Extensions not read) */
    {"30 3a 30 30 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0c 30 0a 30 08 06 01 2a 01 01 00 04 00 "
     "30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* critical 0x01 (DER TRUE is 0xff): accepted (Extensions not read) */
    {"30 3a 30 30 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0c 30 0a 30 08 06 01 2a 01 01 01 04 00 "
     "30 03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* critical with no contents: accepted (Extensions not read) */
    {"30 39 30 2f a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0b 30 09 30 07 06 01 2a 01 00 04 00 30 "
     "03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* an Extension without extnValue: accepted (Extensions not read) */
    {"30 38 30 2e a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0a 30 08 30 06 06 01 2a 01 01 ff 30 03 "
     "06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* an Extension with a NULL after extnValue: accepted (Extensions not read) */
    {"30 39 30 2f a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0b 30 09 30 07 06 01 2a 04 00 05 00 30 "
     "03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* a second Extension that is malformed: accepted (Extensions not read) */
    {"30 39 30 2f a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa a3 0b 30 09 30 05 06 01 2a 04 00 30 00 30 "
     "03 06 01 2a 03 01 00", PINNING_OK, 27, 11},
    /* a Certificate holding only tbsCertificate */
    {"30 24 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa", PINNING_ERR_SIGNATURE_ALGORITHM, 0, 0},
    /* signatureAlgorithm as a SET */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 31 03 06 01 2a 03 01 00", PINNING_ERR_SIGNATURE_ALGORITHM, 0, 0},
    /* an empty signatureAlgorithm */
    {"30 29 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 00 03 01 00", PINNING_ERR_SIGNATURE_ALGORITHM, 0, 0},
    /* signatureAlgorithm holding an INTEGER, not an OID: accepted (contents not read) */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 02 01 01 03 01 00", PINNING_OK, 27, 11},
    /* a Certificate without signatureValue */
    {"30 29 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue as an OCTET STRING */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 04 01 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue claiming one byte more than the Certificate holds */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 02 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* a zero byte after signatureValue inside the Certificate */
    {"30 2d 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* a second signatureValue inside the Certificate */
    {"30 2f 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00 03 01 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue with 8 unused bits */
    {"30 2d 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 02 08 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue whose unused bits are set */
    {"30 2d 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 02 04 01", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue with unused bits and no octet */
    {"30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 03", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue with no contents */
    {"30 2b 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 "
     "00 30 09 30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},

};

/* NUM_ROWS is the number of rows of kRows. */
#define NUM_ROWS (sizeof(kRows) / sizeof(kRows[0]))

/* kBase is the first row: the valid base certificate. */
static const char kBase[] =
    "30 2c 30 22 a0 03 02 01 02 02 01 01 30 03 06 01 2a 30 00 30 04 17 00 17 00 30 00 30 09 "
    "30 03 06 01 2a 03 02 00 aa 30 03 06 01 2a 03 01 00";

/* Where the SPKI of kBase lies. */
#define BASE_SPKI_OFFSET 27
#define BASE_SPKI_LEN 11

/* hex_decode returns a buffer of exactly the decoded size (malloc(1) for an empty input, so
 * that the pointer is not NULL) and writes the size to |out_len|. Aborts on bad hex. */
static uint8_t *hex_decode(size_t *out_len, const char *hex) {
    size_t len = 0;
    uint8_t *out;
    for (const char *p = hex; *p != '\0'; p++) {
        if (*p != ' ') {
            len++;
        }
    }
    if (len % 2 != 0) {
        fprintf(stderr, "odd hex string: %s\n", hex);
        exit(2);
    }
    len /= 2;
    out = malloc(len == 0 ? 1 : len);
    if (out == NULL) {
        exit(2);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned int octet;
        while (*hex == ' ') {
            hex++;
        }
        if (sscanf(hex, "%2x", &octet) != 1) {
            fprintf(stderr, "bad hex near: %s\n", hex);
            exit(2);
        }
        out[i] = (uint8_t)octet;
        hex += 2;
    }
    *out_len = len;
    return out;
}

/* reference_sha256 hashes |data| with OpenSSL's one-shot API, independently of the hasher. */
static void reference_sha256(uint8_t out[PINNING_SHA256_LEN], const uint8_t *data, size_t len) {
    unsigned int out_len = 0;
    if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 ||
        out_len != PINNING_SHA256_LEN) {
        fprintf(stderr, "EVP_Digest failed\n");
        exit(2);
    }
}

/* concat3 returns |a|, |b| and |c| back to back in one buffer of their total size (plus one
 * byte, so that it is never empty). */
static uint8_t *concat3(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                        const uint8_t *c, size_t c_len) {
    uint8_t *out = malloc(a_len + b_len + c_len + 1);
    if (out == NULL) {
        exit(2);
    }
    if (a_len != 0) {
        memcpy(out, a, a_len);
    }
    if (b_len != 0) {
        memcpy(out + a_len, b, b_len);
    }
    if (c_len != 0) {
        memcpy(out + a_len + b_len, c, c_len);
    }
    return out;
}

/* test_row_everywhere runs one row through the four entry points. */
static void test_row_everywhere(pinning_hasher *hasher, const test_row *row, size_t row_index) {
    size_t len;
    size_t base_len;
    uint8_t *cert = hex_decode(&len, row->hex);
    uint8_t *base = hex_decode(&base_len, kBase);
    uint8_t base_digest[PINNING_SHA256_LEN];
    uint8_t digest[PINNING_SHA256_LEN];
    uint8_t expected_digest[PINNING_SHA256_LEN];
    uint8_t digests[3 * PINNING_SHA256_LEN];
    size_t offset = 0;
    size_t spki_len = 0;
    size_t index = 99;
    pinning_status status;
    int ok = row->expected == PINNING_OK;

    reference_sha256(base_digest, base + BASE_SPKI_OFFSET, BASE_SPKI_LEN);
    if (ok) {
        reference_sha256(expected_digest, cert + row->spki_offset, row->spki_len);
    }

    /* pinning_spki: the status, and the SPKI's place in the input. */
    status = pinning_spki(&offset, &spki_len, cert, len);
    CHECK(status == row->expected, "row %zu (%s): pinning_spki gave %s, expected %s", row_index,
          row->hex, pinning_status_name(status), pinning_status_name(row->expected));
    if (ok && status == PINNING_OK) {
        CHECK(offset == row->spki_offset && spki_len == row->spki_len,
              "row %zu: SPKI at %zu+%zu, expected %zu+%zu", row_index, offset, spki_len,
              row->spki_offset, row->spki_len);
    }

    /* pinning_spki_sha256: the same status; the digest of exactly the SPKI bytes. */
    status = pinning_spki_sha256(digest, hasher, cert, len);
    CHECK(status == row->expected, "row %zu: pinning_spki_sha256 gave %s", row_index,
          pinning_status_name(status));
    if (ok && status == PINNING_OK) {
        CHECK(memcmp(digest, expected_digest, PINNING_SHA256_LEN) == 0, "row %zu: wrong digest",
              row_index);
    }

    /* pinning_spki_sha256_many: the row between two good certificates. */
    {
        uint8_t *chain = concat3(base, base_len, cert, len, base, base_len);
        size_t lens[3] = {base_len, len, base_len};
        index = 99;
        status = pinning_spki_sha256_many(digests, &index, hasher, chain, 2 * base_len + len,
                                          lens, 3);
        CHECK(status == row->expected, "row %zu: pinning_spki_sha256_many gave %s", row_index,
              pinning_status_name(status));
        if (ok) {
            CHECK(status == PINNING_OK &&
                      memcmp(digests, base_digest, PINNING_SHA256_LEN) == 0 &&
                      memcmp(digests + PINNING_SHA256_LEN, expected_digest,
                             PINNING_SHA256_LEN) == 0 &&
                      memcmp(digests + 2 * PINNING_SHA256_LEN, base_digest,
                             PINNING_SHA256_LEN) == 0,
                  "row %zu: wrong digests from pinning_spki_sha256_many", row_index);
        } else {
            CHECK(index == 1, "row %zu: pinning_spki_sha256_many failed index %zu", row_index,
                  index);
        }
        free(chain);
    }

    /* pinning_chain_match: the row first (it is read), then last (the match stops before it). */
    {
        uint8_t *chain = concat3(cert, len, base, base_len, NULL, 0);
        size_t lens[2] = {len, base_len};
        index = 99;
        status = pinning_chain_match(&index, hasher, chain, len + base_len, lens, 2, base_digest,
                                     1);
        CHECK(status == row->expected, "row %zu: pinning_chain_match gave %s", row_index,
              pinning_status_name(status));
        if (ok) {
            size_t expected_index =
                memcmp(expected_digest, base_digest, PINNING_SHA256_LEN) == 0 ? 0 : 1;
            CHECK(index == expected_index, "row %zu: matched at %zu", row_index, index);
        } else {
            CHECK(index == 0, "row %zu: pinning_chain_match failed index %zu", row_index, index);
        }
        free(chain);

        chain = concat3(base, base_len, cert, len, NULL, 0);
        lens[0] = base_len;
        lens[1] = len;
        index = 99;
        status = pinning_chain_match(&index, hasher, chain, len + base_len, lens, 2, base_digest,
                                     1);
        CHECK(status == PINNING_OK && index == 0, "row %zu: a match before the row gave %s at %zu",
              row_index, pinning_status_name(status), index);
        index = 99;
        status = pinning_chain_match(&index, hasher, chain, len + base_len, lens, 2, NULL, 0);
        CHECK(status == row->expected && index == (ok ? 2 : 1),
              "row %zu: no pins gave %s at %zu", row_index, pinning_status_name(status), index);
        free(chain);
    }
    free(cert);
    free(base);
}

/* test_prefixes_and_bytes walks every proper prefix of each valid row and every one-byte change
 * of it: a walk status or PINNING_OK, never an argument or digest error, and an SPKI that lies
 * inside the input. */
static void test_prefixes_and_bytes(pinning_hasher *hasher) {
    for (size_t r = 0; r < NUM_ROWS; r++) {
        size_t len;
        uint8_t *cert;
        if (kRows[r].expected != PINNING_OK) {
            continue;
        }
        cert = hex_decode(&len, kRows[r].hex);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *prefix = malloc(cut == 0 ? 1 : cut);
            size_t offset;
            size_t spki_len;
            pinning_status status;
            if (prefix == NULL) {
                exit(2);
            }
            memcpy(prefix, cert, cut);
            status = pinning_spki(&offset, &spki_len, prefix, cut);
            CHECK(status != PINNING_OK && status != PINNING_ERR_ARGUMENT &&
                      status != PINNING_ERR_DIGEST,
                  "row %zu cut at %zu: %s", r, cut, pinning_status_name(status));
            free(prefix);
        }
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned int value = 0; value < 256; value++) {
                uint8_t *copy = malloc(len);
                uint8_t digest[PINNING_SHA256_LEN];
                size_t offset = 0;
                size_t spki_len = 0;
                pinning_status status;
                pinning_status hashed;
                if (copy == NULL) {
                    exit(2);
                }
                memcpy(copy, cert, len);
                copy[pos] = (uint8_t)value;
                status = pinning_spki(&offset, &spki_len, copy, len);
                hashed = pinning_spki_sha256(digest, hasher, copy, len);
                CHECK(status == hashed && status != PINNING_ERR_ARGUMENT &&
                          status != PINNING_ERR_DIGEST,
                      "row %zu byte %zu = %02x: %s / %s", r, pos, value,
                      pinning_status_name(status), pinning_status_name(hashed));
                if (status == PINNING_OK) {
                    CHECK(offset < len && spki_len <= len - offset && copy[offset] == 0x30,
                          "row %zu byte %zu = %02x: SPKI at %zu+%zu", r, pos, value, offset,
                          spki_len);
                }
                free(copy);
            }
        }
        free(cert);
    }
}

/* put_header writes an identifier octet and the length |len| on |num_octets| long-form octets
 * (0: the minimal form) to |out|, and returns how many bytes it wrote. */
static size_t put_header(uint8_t *out, uint8_t tag, size_t len, size_t num_octets) {
    size_t minimal = 0;
    for (size_t rest = len; rest != 0; rest >>= 8) {
        minimal++;
    }
    out[0] = tag;
    if (num_octets == 0 && len < 0x80) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (num_octets == 0) {
        num_octets = minimal;
    }
    out[1] = (uint8_t)(0x80 | num_octets);
    for (size_t i = 0; i < num_octets; i++) {
        out[2 + i] = (uint8_t)(len >> (8 * (num_octets - 1 - i)));
    }
    return 2 + num_octets;
}

/* test_long_lengths builds certificates with one Extension whose extnValue holds |size| bytes, so
 * that the lengths of the extnValue, the Extension, the Extensions, [3], tbsCertificate and
 * Certificate take one to four long-form octets; then the same with one length octet too many on
 * [3] (X.690 10.1). */
static void test_long_lengths(pinning_hasher *hasher) {
    static const uint8_t kTbsStart[] = {0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01, 0x30,
                                        0x03, 0x06, 0x01, 0x2a, 0x30, 0x00, 0x30, 0x04, 0x17,
                                        0x00, 0x17, 0x00, 0x30, 0x00, 0x30, 0x09, 0x30, 0x03,
                                        0x06, 0x01, 0x2a, 0x03, 0x02, 0x00, 0xaa};
    static const uint8_t kExtnId[] = {0x06, 0x01, 0x2a};
    static const uint8_t kSignature[] = {0x30, 0x03, 0x06, 0x01, 0x2a, 0x03, 0x01, 0x00};
    static const size_t kSpkiStart = 23;
    static const size_t kSizes[] = {0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xfffff0, 0x1000000};
    for (size_t s = 0; s < sizeof(kSizes) / sizeof(kSizes[0]); s++) {
        for (size_t padded = 0; padded <= 1; padded++) {
            size_t size = kSizes[s];
            uint8_t header[8];
            size_t value_len = put_header(header, 0x04, size, 0) + size;
            size_t extension_len = sizeof(kExtnId) + value_len;
            size_t extension_header_len = put_header(header, 0x30, extension_len, 0);
            size_t extensions_len = extension_header_len + extension_len;
            size_t extensions_header_len = put_header(header, 0x30, extensions_len, 0);
            size_t explicit_len = extensions_header_len + extensions_len;
            size_t explicit_octets = 0;
            size_t explicit_header_len;
            size_t tbs_len;
            size_t tbs_header_len;
            size_t cert_len;
            size_t cert_header_len;
            size_t total;
            size_t pos = 0;
            size_t offset = 0;
            size_t spki_len = 0;
            uint8_t *cert;
            pinning_status status;
            uint8_t digest[PINNING_SHA256_LEN];
            uint8_t expected[PINNING_SHA256_LEN];
            if (padded) {
                /* 0x81 for a length under 128, or one leading zero octet. */
                explicit_octets = put_header(header, 0xa3, explicit_len, 0) - 1;
                explicit_octets = explicit_len < 0x80 ? 1 : explicit_octets;
            }
            explicit_header_len = put_header(header, 0xa3, explicit_len, explicit_octets);
            tbs_len = sizeof(kTbsStart) + explicit_header_len + explicit_len;
            tbs_header_len = put_header(header, 0x30, tbs_len, 0);
            cert_len = tbs_header_len + tbs_len + sizeof(kSignature);
            cert_header_len = put_header(header, 0x30, cert_len, 0);
            total = cert_header_len + cert_len;
            cert = malloc(total);
            if (cert == NULL) {
                exit(2);
            }
            pos += put_header(cert + pos, 0x30, cert_len, 0);
            pos += put_header(cert + pos, 0x30, tbs_len, 0);
            memcpy(cert + pos, kTbsStart, sizeof(kTbsStart));
            pos += sizeof(kTbsStart);
            pos += put_header(cert + pos, 0xa3, explicit_len, explicit_octets);
            pos += put_header(cert + pos, 0x30, extensions_len, 0);
            pos += put_header(cert + pos, 0x30, extension_len, 0);
            memcpy(cert + pos, kExtnId, sizeof(kExtnId));
            pos += sizeof(kExtnId);
            pos += put_header(cert + pos, 0x04, size, 0);
            memset(cert + pos, 0x5a, size);
            pos += size;
            memcpy(cert + pos, kSignature, sizeof(kSignature));
            pos += sizeof(kSignature);
            CHECK(pos == total, "size %zu: built %zu of %zu bytes", size, pos, total);

            status = pinning_spki(&offset, &spki_len, cert, total);
            if (padded) {
                CHECK(status == PINNING_ERR_EXTENSIONS, "size %zu padded: %s", size,
                      pinning_status_name(status));
            } else {
                CHECK(status == PINNING_OK &&
                          offset == cert_header_len + tbs_header_len + kSpkiStart &&
                          spki_len == BASE_SPKI_LEN,
                      "size %zu: %s, SPKI at %zu+%zu", size, pinning_status_name(status), offset,
                      spki_len);
                reference_sha256(expected, kTbsStart + kSpkiStart, BASE_SPKI_LEN);
                status = pinning_spki_sha256(digest, hasher, cert, total);
                CHECK(status == PINNING_OK &&
                          memcmp(digest, expected, PINNING_SHA256_LEN) == 0,
                      "size %zu: digest", size);
            }
            free(cert);
        }
    }
}

/* test_arguments checks the argument errors: NULL pointers and lengths that do not add up. */
static void test_arguments(pinning_hasher *hasher) {
    size_t len;
    uint8_t *cert = hex_decode(&len, kBase);
    uint8_t *pair = concat3(cert, len, cert, len, NULL, 0);
    uint8_t digests[2 * PINNING_SHA256_LEN];
    uint8_t digest[PINNING_SHA256_LEN];
    size_t lens[2] = {len, len};
    size_t overflowing[2] = {SIZE_MAX, 2};
    size_t offset;
    size_t spki_len;
    size_t index;

    /* pinning_spki: NULL outputs, or a NULL certificate with a length. */
    CHECK(pinning_spki(NULL, &spki_len, cert, len) == PINNING_ERR_ARGUMENT, "NULL out_offset");
    CHECK(pinning_spki(&offset, NULL, cert, len) == PINNING_ERR_ARGUMENT, "NULL out_len");
    CHECK(pinning_spki(&offset, &spki_len, NULL, 5) == PINNING_ERR_ARGUMENT, "NULL cert, len 5");
    /* A NULL certificate of length 0 is an empty input, not an argument error. */
    CHECK(pinning_spki(&offset, &spki_len, NULL, 0) == PINNING_ERR_EMPTY, "NULL cert, len 0");

    /* pinning_spki_sha256: NULL digest, NULL hasher, NULL certificate with a length. */
    CHECK(pinning_spki_sha256(NULL, hasher, cert, len) == PINNING_ERR_ARGUMENT, "NULL digest");
    CHECK(pinning_spki_sha256(digest, NULL, cert, len) == PINNING_ERR_ARGUMENT, "NULL hasher");
    CHECK(pinning_spki_sha256(digest, hasher, NULL, 1) == PINNING_ERR_ARGUMENT, "NULL cert");
    CHECK(pinning_spki_sha256(digest, hasher, NULL, 0) == PINNING_ERR_EMPTY, "NULL cert, len 0");

    /* pinning_spki_sha256_many. */
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, pair, 2 * len, lens, 2) ==
              PINNING_OK,
          "a valid pair");
    CHECK(pinning_spki_sha256_many(digests, NULL, hasher, pair, 2 * len, lens, 2) ==
              PINNING_ERR_ARGUMENT,
          "NULL out_failed_index");
    CHECK(pinning_spki_sha256_many(digests, &index, NULL, pair, 2 * len, lens, 2) ==
              PINNING_ERR_ARGUMENT,
          "NULL hasher");
    CHECK(pinning_spki_sha256_many(NULL, &index, hasher, pair, 2 * len, lens, 2) ==
              PINNING_ERR_ARGUMENT,
          "NULL out_digests");
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, NULL, 2 * len, lens, 2) ==
              PINNING_ERR_ARGUMENT,
          "NULL certs with a length");
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, pair, 2 * len, NULL, 2) ==
              PINNING_ERR_ARGUMENT,
          "NULL cert_lens");
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, pair, 2 * len - 1, lens, 2) ==
              PINNING_ERR_ARGUMENT,
          "lengths add up to more than certs_len");
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, pair, 2 * len, lens, 1) ==
              PINNING_ERR_ARGUMENT,
          "lengths add up to less than certs_len");
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, pair, 1, overflowing, 2) ==
              PINNING_ERR_ARGUMENT,
          "lengths that overflow size_t");
    CHECK(pinning_spki_sha256_many(digests, &index, hasher, pair, 2 * len, lens,
                                   SIZE_MAX / PINNING_SHA256_LEN + 1) == PINNING_ERR_ARGUMENT,
          "num_certs * 32 overflows size_t");
    /* No certificates: nothing to do, and no pointer but the outputs is needed. */
    CHECK(pinning_spki_sha256_many(NULL, &index, hasher, NULL, 0, NULL, 0) == PINNING_OK,
          "no certificates");

    /* pinning_chain_match. */
    CHECK(pinning_chain_match(&index, hasher, pair, 2 * len, lens, 2, NULL, 0) == PINNING_OK &&
              index == 2,
          "no pins: no match");
    CHECK(pinning_chain_match(NULL, hasher, pair, 2 * len, lens, 2, NULL, 0) ==
              PINNING_ERR_ARGUMENT,
          "NULL out_index");
    CHECK(pinning_chain_match(&index, NULL, pair, 2 * len, lens, 2, NULL, 0) ==
              PINNING_ERR_ARGUMENT,
          "NULL hasher");
    CHECK(pinning_chain_match(&index, hasher, NULL, 2 * len, lens, 2, NULL, 0) ==
              PINNING_ERR_ARGUMENT,
          "NULL certs with a length");
    CHECK(pinning_chain_match(&index, hasher, pair, 2 * len, NULL, 2, NULL, 0) ==
              PINNING_ERR_ARGUMENT,
          "NULL cert_lens");
    CHECK(pinning_chain_match(&index, hasher, pair, 2 * len, lens, 2, NULL, 1) ==
              PINNING_ERR_ARGUMENT,
          "NULL pins with num_pins 1");
    CHECK(pinning_chain_match(&index, hasher, pair, 2 * len, lens, 2, digest,
                              SIZE_MAX / PINNING_SHA256_LEN + 1) == PINNING_ERR_ARGUMENT,
          "num_pins * 32 overflows size_t");
    CHECK(pinning_chain_match(&index, hasher, pair, 2 * len + 1, lens, 2, NULL, 0) ==
              PINNING_ERR_ARGUMENT,
          "lengths add up to less than certs_len");
    CHECK(pinning_chain_match(&index, hasher, pair, 1, overflowing, 2, NULL, 0) ==
              PINNING_ERR_ARGUMENT,
          "lengths that overflow size_t");
    CHECK(pinning_chain_match(&index, hasher, NULL, 0, NULL, 0, NULL, 0) == PINNING_OK &&
              index == 0,
          "an empty chain: no match, index 0");
    /* NULL data with zero-length certificates: each is an empty input, and the cursor must never
     * offset the NULL pointer, not even by zero (a UBSan finding of fuzz_many and fuzz_chain). */
    {
        const size_t empty_lens[2] = {0, 0};
        index = 99;
        CHECK(pinning_spki_sha256_many(digests, &index, hasher, NULL, 0, empty_lens, 2) ==
                      PINNING_ERR_EMPTY &&
                  index == 0,
              "NULL batch of two empty certificates: the first is empty");
        CHECK(pinning_chain_match(&index, hasher, NULL, 0, empty_lens, 2, digest, 1) ==
                      PINNING_ERR_EMPTY &&
                  index == 0,
              "NULL chain of two empty certificates: the first is empty");
    }
    free(pair);
    free(cert);
}

/* test_status_names checks that every status has a name and a field, and others are "unknown". */
static void test_status_names(void) {
    for (int value = PINNING_OK; value <= PINNING_ERR_ARGUMENT; value++) {
        pinning_status status = (pinning_status)value;
        CHECK(strncmp(pinning_status_name(status), "PINNING_", 8) == 0, "name of %d", value);
        CHECK(strcmp(pinning_status_field(status), "unknown") != 0, "field of %d", value);
        CHECK((value == PINNING_OK) == (pinning_status_field(status)[0] == '\0'),
              "field of %d", value);
    }
    CHECK(strcmp(pinning_status_name((pinning_status)99), "unknown") == 0, "name of 99");
    CHECK(strcmp(pinning_status_field((pinning_status)99), "unknown") == 0, "field of 99");
    CHECK(strcmp(pinning_status_field(PINNING_ERR_ISSUER), "issuer") == 0, "issuer");
}

/* test_hasher_reuse hashes with one hasher many times, and with two at once. */
static void test_hasher_reuse(pinning_hasher *hasher) {
    size_t len;
    uint8_t *cert = hex_decode(&len, kBase);
    uint8_t expected[PINNING_SHA256_LEN];
    uint8_t digest[PINNING_SHA256_LEN];
    pinning_hasher *other = pinning_hasher_new();
    CHECK(other != NULL, "a second hasher");
    reference_sha256(expected, cert + BASE_SPKI_OFFSET, BASE_SPKI_LEN);
    for (int i = 0; i < 1000; i++) {
        memset(digest, 0, sizeof(digest));
        CHECK(pinning_spki_sha256(digest, (i % 2 != 0) ? other : hasher, cert, len) ==
                      PINNING_OK &&
                  memcmp(digest, expected, PINNING_SHA256_LEN) == 0,
              "digest %d", i);
    }
    pinning_hasher_free(other);
    pinning_hasher_free(NULL);
    free(cert);
}

int main(void) {
    pinning_hasher *hasher = pinning_hasher_new();
    if (hasher == NULL) {
        fprintf(stderr, "pinning_hasher_new failed\n");
        return 2;
    }
    for (size_t i = 0; i < NUM_ROWS; i++) {
        test_row_everywhere(hasher, &kRows[i], i);
    }
    test_prefixes_and_bytes(hasher);
    test_long_lengths(hasher);
    test_arguments(hasher);
    test_status_names();
    test_hasher_reuse(hasher);
    pinning_hasher_free(hasher);
    printf("test_core: %zu rows, %d checks, %d failures\n", NUM_ROWS, num_checks, num_failures);
    return num_failures == 0 ? 0 : 1;
}
