/* test_core.c: unit tests of the pinning C core, as tables of tiny inputs.
 *
 * Each row of kRows is a certificate in hex with a one-line comment naming its defect, the status
 * the walk must return, and for PINNING_OK where the SPKI lies. Every row runs through all four
 * entry points: pinning_spki, pinning_spki_sha256, pinning_spki_sha256_many (as the middle
 * certificate of three) and pinning_chain_match (first and last in a chain of two). Inputs are
 * copied into buffers of exactly their size, so that a sanitizer build (PINNING_SANITIZE) catches
 * any read past the end.
 *
 * The base certificate of most rows; the walk checks the framing of the fields other than the
 * SPKI, not their contents, so empty SEQUENCEs stand in for them:
 *   30 1f                        Certificate
 *      30 18                     tbsCertificate
 *         a0 03 02 01 02         version [0] EXPLICIT INTEGER 2 (v3)
 *         02 01 01               serialNumber 1
 *         30 00 30 00 30 00 30 00   signature, issuer, validity, subject
 *         30 06 30 00 03 02 00 aa   subjectPublicKeyInfo (offset 20, 8 bytes)
 *      30 00                     signatureAlgorithm
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
    /* a minimal v3 certificate (contents beyond framing are not checked) */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_OK, 20, 8},
    /* v1: no [0] version */
    {"30 1a 30 13 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 00 aa 30 00 03 "
     "01 00", PINNING_OK, 15, 8},
    /* version 0 written out ([0] may hold 0..2) */
    {"30 1f 30 18 a0 03 02 01 00 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_OK, 20, 8},
    /* with extensions */
    {"30 23 30 1c a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa a3 02 30 00 30 00 03 01 00", PINNING_OK, 20, 8},
    /* with issuerUniqueID, subjectUniqueID and extensions */
    {"30 29 30 22 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 81 01 00 82 01 00 a3 02 30 00 30 00 03 01 00", PINNING_OK, 20, 8},
    /* empty input */
    {"", PINNING_ERR_EMPTY, 0, 0},
    /* truncated: the identifier octet only */
    {"30", PINNING_ERR_CERTIFICATE, 0, 0},
    /* truncated: the header only */
    {"30 1f", PINNING_ERR_CERTIFICATE, 0, 0},
    /* truncated: the last byte missing */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01", PINNING_ERR_CERTIFICATE, 0, 0},
    /* indefinite length (0x80) on the Certificate */
    {"30 80 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00 00 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* non-minimal length 0x81 0x1f on the Certificate */
    {"30 81 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* non-minimal length 0x82 0x00 0x1f on the Certificate */
    {"30 82 00 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 "
     "03 02 00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* five length octets (0x85) */
    {"30 85 00 00 00 00 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 "
     "06 30 00 03 02 00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* reserved length octet 0xff */
    {"30 ff 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* length larger than the input by one */
    {"30 20 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* length 0xffffffff */
    {"30 84 ff ff ff ff 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 "
     "30 00 03 02 00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* tag 0 (end-of-contents) */
    {"00 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* tag 0, constructed (0x20) */
    {"20 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* high-tag-number form (0x1f 0x21) */
    {"1f 21 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* high-tag-number form, context-specific (0xbf 0x21) */
    {"bf 21 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* Certificate as a SET */
    {"31 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_CERTIFICATE, 0, 0},
    /* a zero byte after the Certificate */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00 00", PINNING_ERR_TRAILING_DATA, 0, 0},
    /* a second Certificate after the first */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00 30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 "
     "00 30 06 30 00 03 02 00 aa 30 00 03 01 00", PINNING_ERR_TRAILING_DATA, 0, 0},
    /* an empty Certificate SEQUENCE */
    {"30 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* tbsCertificate as a SET */
    {"30 1f 31 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* tbsCertificate truncated inside the Certificate */
    {"30 19 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* tbsCertificate in the indefinite form */
    {"30 21 30 80 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 00 00 30 00 03 01 00", PINNING_ERR_TBS_CERTIFICATE, 0, 0},
    /* version 3 */
    {"30 1f 30 18 a0 03 02 01 03 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version 0xff */
    {"30 1f 30 18 a0 03 02 01 ff 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version as a two-byte INTEGER */
    {"30 20 30 19 a0 04 02 02 00 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* [0] holding two INTEGERs */
    {"30 22 30 1b a0 06 02 01 02 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 "
     "00 03 02 00 aa 30 00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* an empty [0] */
    {"30 1c 30 15 a0 00 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 00 aa 30 "
     "00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* [0] holding an OCTET STRING */
    {"30 1f 30 18 a0 03 04 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* [0] with a non-minimal length (0x81 0x03) */
    {"30 20 30 19 a0 81 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_VERSION, 0, 0},
    /* version as [1]: absent version, then serialNumber meets [1] */
    {"30 1f 30 18 a1 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* version with tag 0: absent version, then serialNumber meets tag 0 */
    {"30 1f 30 18 00 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* an empty serialNumber */
    {"30 1e 30 17 a0 03 02 01 02 02 00 30 00 30 00 30 00 30 00 30 06 30 00 03 02 00 "
     "aa 30 00 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber as a BIT STRING */
    {"30 1f 30 18 a0 03 02 01 02 03 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* serialNumber with length 0x81 0x01 */
    {"30 20 30 19 a0 03 02 01 02 02 81 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_SERIAL_NUMBER, 0, 0},
    /* tbsCertificate ending after serialNumber */
    {"30 0f 30 08 a0 03 02 01 02 02 01 01 30 00 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* signature as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 31 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* signature with length 0x81 0x00 */
    {"30 20 30 19 a0 03 02 01 02 02 01 01 30 81 00 30 00 30 00 30 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_SIGNATURE, 0, 0},
    /* issuer as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 31 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_ISSUER, 0, 0},
    /* issuer in the indefinite form */
    {"30 21 30 1a a0 03 02 01 02 02 01 01 30 00 30 80 00 00 30 00 30 00 30 06 30 00 "
     "03 02 00 aa 30 00 03 01 00", PINNING_ERR_ISSUER, 0, 0},
    /* validity as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 31 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_VALIDITY, 0, 0},
    /* validity with tag 0 */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 00 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_VALIDITY, 0, 0},
    /* subject as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 31 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SUBJECT, 0, 0},
    /* subject in the high-tag-number form */
    {"30 20 30 19 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 3f 21 00 30 06 30 00 03 "
     "02 00 aa 30 00 03 01 00", PINNING_ERR_SUBJECT, 0, 0},
    /* subjectPublicKeyInfo as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 31 06 30 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* tbsCertificate ending after subject */
    {"30 17 30 10 a0 03 02 01 02 02 01 01 "
     "30 00 30 00 30 00 30 00 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI algorithm as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 31 00 03 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI key as an OCTET STRING */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 04 02 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI without its key */
    {"30 1b 30 14 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 02 30 00 30 00 "
     "03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI with the key first */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 03 02 00 aa "
     "30 00 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI with an extra NULL */
    {"30 21 30 1a a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 08 30 00 03 02 "
     "00 aa 05 00 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* SPKI key claiming one byte more than the SPKI holds */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 03 "
     "00 aa 30 00 03 01 00", PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO, 0, 0},
    /* extensions as primitive [3] */
    {"30 23 30 1c a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 83 02 30 00 30 00 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* extensions twice */
    {"30 27 30 20 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa a3 02 30 00 a3 02 30 00 30 00 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* subjectUniqueID before issuerUniqueID */
    {"30 25 30 1e a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 82 01 00 81 01 00 30 00 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* extensions in the indefinite form */
    {"30 25 30 1e a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa a3 80 30 00 00 00 30 00 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* a zero byte after extensions in tbsCertificate */
    {"30 24 30 1d a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa a3 02 30 00 00 30 00 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* a NULL after the SPKI in tbsCertificate */
    {"30 21 30 1a a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 05 00 30 00 03 01 00", PINNING_ERR_EXTENSIONS, 0, 0},
    /* a Certificate holding only tbsCertificate */
    {"30 1a 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa", PINNING_ERR_SIGNATURE_ALGORITHM, 0, 0},
    /* signatureAlgorithm as a SET */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 31 00 03 01 00", PINNING_ERR_SIGNATURE_ALGORITHM, 0, 0},
    /* a Certificate without signatureValue */
    {"30 1c 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue as an OCTET STRING */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 04 01 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* signatureValue claiming one byte more than the Certificate holds */
    {"30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 02 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* a zero byte after signatureValue inside the Certificate */
    {"30 20 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
    /* a second signatureValue inside the Certificate */
    {"30 22 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 "
     "00 aa 30 00 03 01 00 03 01 00", PINNING_ERR_SIGNATURE_VALUE, 0, 0},
};

/* NUM_ROWS is the number of rows of kRows. */
#define NUM_ROWS (sizeof(kRows) / sizeof(kRows[0]))

/* kBase is the first row: the valid base certificate. */
static const char kBase[] =
    "30 1f 30 18 a0 03 02 01 02 02 01 01 30 00 30 00 30 00 30 00 30 06 30 00 03 02 00 aa "
    "30 00 03 01 00";

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

    reference_sha256(base_digest, base + 20, 8);
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

/* test_long_lengths builds certificates whose extensions hold |size| bytes, so that the lengths
 * of extensions, tbsCertificate and Certificate take one to four long-form octets; then the same
 * with one length octet too many on the extensions (X.690 10.1). */
static void test_long_lengths(pinning_hasher *hasher) {
    static const uint8_t kTbsStart[] = {0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01,
                                        0x30, 0x00, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00,
                                        0x30, 0x06, 0x30, 0x00, 0x03, 0x02, 0x00, 0xaa};
    static const uint8_t kSignature[] = {0x30, 0x00, 0x03, 0x01, 0x00};
    static const size_t kSizes[] = {0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000};
    for (size_t s = 0; s < sizeof(kSizes) / sizeof(kSizes[0]); s++) {
        for (size_t padded = 0; padded <= 1; padded++) {
            size_t size = kSizes[s];
            uint8_t header[8];
            size_t ext_octets = 0;
            size_t ext_header_len;
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
                ext_octets = put_header(header, 0xa3, size, 0) - 1;
                ext_octets = size < 0x80 ? 1 : ext_octets;
            }
            ext_header_len = put_header(header, 0xa3, size, ext_octets);
            tbs_len = sizeof(kTbsStart) + ext_header_len + size;
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
            pos += put_header(cert + pos, 0xa3, size, ext_octets);
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
                CHECK(status == PINNING_OK && offset == cert_header_len + tbs_header_len + 16 &&
                          spki_len == 8,
                      "size %zu: %s, SPKI at %zu+%zu", size, pinning_status_name(status), offset,
                      spki_len);
                reference_sha256(expected, kTbsStart + 16, 8);
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
    reference_sha256(expected, cert + 20, 8);
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
