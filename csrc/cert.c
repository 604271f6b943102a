/* cert.c: the RFC 5280 walk from a DER certificate to its SubjectPublicKeyInfo.
 *
 *   Certificate  ::=  SEQUENCE  {
 *        tbsCertificate       TBSCertificate,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING  }
 *
 *   TBSCertificate  ::=  SEQUENCE  {
 *        version         [0]  EXPLICIT Version DEFAULT v1,
 *        serialNumber         CertificateSerialNumber,
 *        signature            AlgorithmIdentifier,
 *        issuer               Name,
 *        validity             Validity,
 *        subject              Name,
 *        subjectPublicKeyInfo SubjectPublicKeyInfo,
 *        issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
 *        subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
 *        extensions      [3]  EXPLICIT Extensions OPTIONAL  }
 *
 *   Version  ::=  INTEGER  {  v1(0), v2(1), v3(2)  }
 *   CertificateSerialNumber  ::=  INTEGER
 *   SubjectPublicKeyInfo  ::=  SEQUENCE  {
 *        algorithm            AlgorithmIdentifier,
 *        subjectPublicKey     BIT STRING  }
 *
 * Every element is read as strict DER (der.c); fields other than the SPKI are checked for their
 * tag and framing only. The pure-Python mirror (src/pinning/_pure.py) follows the same steps in the
 * same order, so that both report the same status for the same input. */
#include "cert.h"

#include "der.h"

/* PIN_read_version reads the optional [0] EXPLICIT version: one INTEGER of one byte, 0..2. */
static int PIN_read_version(PIN_cursor *tbs) {
    PIN_cursor version;
    PIN_cursor integer;
    uint8_t value;
    int present;
    if (!PIN_cursor_get_optional_contents(&version, &present, tbs, PIN_TAG_VERSION)) {
        return 0;
    }
    if (!present) {
        return 1;
    }
    return PIN_cursor_get_contents(&integer, &version, PIN_TAG_INTEGER) && version.len == 0 &&
           PIN_cursor_get_u8(&value, &integer) && integer.len == 0 && value <= 2;
}

/* PIN_bit_string_ok checks the contents of a DER BIT STRING: an initial octet giving 0..7 unused
 * bits (X.690 8.6.2.2), 0 when there are no further octets (8.6.2.3), and unused bits set to zero
 * (11.2.1). */
static int PIN_bit_string_ok(const PIN_cursor *contents) {
    PIN_cursor rest = *contents;
    uint8_t unused_bits;
    uint8_t last;
    if (!PIN_cursor_get_u8(&unused_bits, &rest) || unused_bits > 7) {
        return 0;
    }
    if (rest.len == 0) {
        return unused_bits == 0;
    }
    return PIN_cursor_get_bytes(NULL, &rest, rest.len - 1) && PIN_cursor_get_u8(&last, &rest) &&
           (last & ((1u << unused_bits) - 1u)) == 0;
}

/* PIN_read_spki reads the SubjectPublicKeyInfo element, header included, into |out_spki|, checking
 * that it holds one AlgorithmIdentifier SEQUENCE and one well-formed BIT STRING, nothing else. */
static int PIN_read_spki(PIN_cursor *out_spki, PIN_cursor *tbs) {
    PIN_cursor spki;
    PIN_cursor contents;
    PIN_cursor key;
    uint8_t tag;
    size_t header_len;
    if (!PIN_cursor_get_any_element(&spki, &tag, &header_len, tbs) || tag != PIN_TAG_SEQUENCE) {
        return 0;
    }
    contents = spki;
    if (!PIN_cursor_get_bytes(NULL, &contents, header_len) ||
        !PIN_cursor_get_element(NULL, &contents, PIN_TAG_SEQUENCE) ||   /* algorithm */
        !PIN_cursor_get_contents(&key, &contents, PIN_TAG_BIT_STRING) || /* subjectPublicKey */
        !PIN_bit_string_ok(&key) || contents.len != 0) {
        return 0;
    }
    *out_spki = spki;
    return 1;
}

/* PIN_read_tbs_tail reads what may follow the SPKI in tbsCertificate: the optional unique
 * identifiers and extensions, in that order, and then nothing. */
static int PIN_read_tbs_tail(PIN_cursor *tbs) {
    int present;
    return PIN_cursor_get_optional_contents(NULL, &present, tbs, PIN_TAG_ISSUER_UID) &&
           PIN_cursor_get_optional_contents(NULL, &present, tbs, PIN_TAG_SUBJECT_UID) &&
           PIN_cursor_get_optional_contents(NULL, &present, tbs, PIN_TAG_EXTENSIONS) &&
           tbs->len == 0;
}

pinning_status PIN_certificate_spki(PIN_cursor *out_spki, const PIN_cursor *input) {
    PIN_cursor rest = *input;
    PIN_cursor certificate;
    PIN_cursor tbs;
    PIN_cursor serial;
    PIN_cursor spki;

    if (rest.len == 0) {
        return PINNING_ERR_EMPTY;
    }
    if (!PIN_cursor_get_contents(&certificate, &rest, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_CERTIFICATE;
    }
    if (rest.len != 0) {
        return PINNING_ERR_TRAILING_DATA;
    }
    if (!PIN_cursor_get_contents(&tbs, &certificate, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_TBS_CERTIFICATE;
    }
    if (!PIN_read_version(&tbs)) {
        return PINNING_ERR_VERSION;
    }
    if (!PIN_cursor_get_contents(&serial, &tbs, PIN_TAG_INTEGER) || serial.len == 0) {
        return PINNING_ERR_SERIAL_NUMBER;
    }
    if (!PIN_cursor_get_element(NULL, &tbs, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_SIGNATURE;
    }
    if (!PIN_cursor_get_element(NULL, &tbs, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_ISSUER;
    }
    if (!PIN_cursor_get_element(NULL, &tbs, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_VALIDITY;
    }
    if (!PIN_cursor_get_element(NULL, &tbs, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_SUBJECT;
    }
    if (!PIN_read_spki(&spki, &tbs)) {
        return PINNING_ERR_SUBJECT_PUBLIC_KEY_INFO;
    }
    if (!PIN_read_tbs_tail(&tbs)) {
        return PINNING_ERR_EXTENSIONS;
    }
    if (!PIN_cursor_get_element(NULL, &certificate, PIN_TAG_SEQUENCE)) {
        return PINNING_ERR_SIGNATURE_ALGORITHM;
    }
    if (!PIN_cursor_get_element(NULL, &certificate, PIN_TAG_BIT_STRING) || certificate.len != 0) {
        return PINNING_ERR_SIGNATURE_VALUE;
    }
    *out_spki = spki;
    return PINNING_OK;
}
