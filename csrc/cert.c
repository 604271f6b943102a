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
 *   UniqueIdentifier  ::=  BIT STRING
 *   Extensions  ::=  SEQUENCE SIZE (1..MAX) OF Extension
 *   SubjectPublicKeyInfo  ::=  SEQUENCE  {
 *        algorithm            AlgorithmIdentifier,
 *        subjectPublicKey     BIT STRING  }
 *
 * Every element is read as strict DER (der.c). Beyond framing, the walk checks the rules of DER
 * and RFC 5280 that cost it no measurable time: the version (1 or 2 when written out), the
 * serialNumber's minimal INTEGER, non-empty AlgorithmIdentifiers, every BIT STRING, the
 * tail's order and versions, and [3] holding one non-empty SEQUENCE. It does not read Names,
 * validity, AlgorithmIdentifier contents or the Extensions inside that SEQUENCE (docs/checks.md
 * lists the rules). The pure-Python mirror (src/pinning/core/pure.py) follows the same steps in
 * the same order, so that both report the same status for the same input. */
#include "cert.h"

#include "der.h"

/* PIN_read_version reads the optional [0] EXPLICIT version into |out_version| (0 for v1 when it is
 * absent): one INTEGER of one byte, 1 (v2) or 2 (v3). v1 is the DEFAULT, which DER never encodes
 * (X.690 11.5), so [0] holding 0 is refused. */
static int PIN_read_version(int *out_version, PIN_cursor *tbs) {
    PIN_cursor version;
    PIN_cursor integer;
    uint8_t value;
    int present;
    if (!PIN_cursor_get_optional_contents(&version, &present, tbs, PIN_TAG_VERSION)) {
        return 0;
    }
    if (!present) {
        *out_version = 0;
        return 1;
    }
    if (!PIN_cursor_get_contents(&integer, &version, PIN_TAG_INTEGER) || version.len != 0 ||
        !PIN_cursor_get_u8(&value, &integer) || integer.len != 0 || value < 1 || value > 2) {
        return 0;
    }
    *out_version = value;
    return 1;
}

/* PIN_integer_ok checks the contents of a DER INTEGER: at least one octet (X.690 8.3.1), and the
 * fewest (8.3.2): the first nine bits are neither all zero nor all one. */
static int PIN_integer_ok(const PIN_cursor *contents) {
    PIN_cursor rest = *contents;
    uint8_t first;
    uint8_t second;
    if (!PIN_cursor_get_u8(&first, &rest)) {
        return 0;
    }
    if (!PIN_cursor_get_u8(&second, &rest)) {
        return 1;
    }
    return !(first == 0x00 && (second & 0x80) == 0) && !(first == 0xff && (second & 0x80) != 0);
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

/* PIN_read_bit_string reads an element tagged |tag| whose contents are a DER BIT STRING. */
static int PIN_read_bit_string(PIN_cursor *cursor, uint8_t tag) {
    PIN_cursor contents;
    return PIN_cursor_get_contents(&contents, cursor, tag) && PIN_bit_string_ok(&contents);
}

/* PIN_read_algorithm reads an AlgorithmIdentifier: a SEQUENCE that is not empty (its algorithm
 * OBJECT IDENTIFIER and parameters are not read). */
static int PIN_read_algorithm(PIN_cursor *cursor) {
    PIN_cursor algorithm;
    return PIN_cursor_get_contents(&algorithm, cursor, PIN_TAG_SEQUENCE) && algorithm.len != 0;
}

/* PIN_read_spki reads the SubjectPublicKeyInfo element, header included, into |out_spki|, checking
 * that it holds one AlgorithmIdentifier and one well-formed BIT STRING, nothing else. */
static int PIN_read_spki(PIN_cursor *out_spki, PIN_cursor *tbs) {
    PIN_cursor spki;
    PIN_cursor contents;
    uint8_t tag;
    size_t header_len;
    if (!PIN_cursor_get_any_element(&spki, &tag, &header_len, tbs) || tag != PIN_TAG_SEQUENCE) {
        return 0;
    }
    contents = spki;
    if (!PIN_cursor_get_bytes(NULL, &contents, header_len) ||
        !PIN_read_algorithm(&contents) ||                      /* algorithm */
        !PIN_read_bit_string(&contents, PIN_TAG_BIT_STRING) || /* subjectPublicKey */
        contents.len != 0) {
        return 0;
    }
    *out_spki = spki;
    return 1;
}

/* PIN_read_tbs_tail reads what may follow the SPKI in tbsCertificate, in this order, then nothing:
 * issuerUniqueID and subjectUniqueID (BIT STRINGs, v2 or v3 only), and extensions (v3 only):
 * [3] holding exactly one SEQUENCE of one or more Extensions (RFC 5280: SIZE (1..MAX)), whose
 * contents are not read. */
static int PIN_read_tbs_tail(PIN_cursor *tbs, int version) {
    PIN_cursor unique_id;
    PIN_cursor explicit_extensions;
    PIN_cursor extensions;
    int present;
    if (tbs->len == 0) {
        return 1;
    }
    if (version == 0) {
        return 0;
    }
    if (!PIN_cursor_get_optional_contents(&unique_id, &present, tbs, PIN_TAG_ISSUER_UID) ||
        (present && !PIN_bit_string_ok(&unique_id)) ||
        !PIN_cursor_get_optional_contents(&unique_id, &present, tbs, PIN_TAG_SUBJECT_UID) ||
        (present && !PIN_bit_string_ok(&unique_id)) ||
        !PIN_cursor_get_optional_contents(&explicit_extensions, &present, tbs,
                                          PIN_TAG_EXTENSIONS)) {
        return 0;
    }
    if (present) {
        if (version != 2 ||
            !PIN_cursor_get_contents(&extensions, &explicit_extensions, PIN_TAG_SEQUENCE) ||
            explicit_extensions.len != 0 || extensions.len == 0) {
            return 0;
        }
    }
    return tbs->len == 0;
}

pinning_status PIN_certificate_spki(PIN_cursor *out_spki, const PIN_cursor *input) {
    PIN_cursor rest = *input;
    PIN_cursor certificate;
    PIN_cursor tbs;
    PIN_cursor serial;
    PIN_cursor spki;
    int version = 0;

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
    if (!PIN_read_version(&version, &tbs)) {
        return PINNING_ERR_VERSION;
    }
    if (!PIN_cursor_get_contents(&serial, &tbs, PIN_TAG_INTEGER) || !PIN_integer_ok(&serial)) {
        return PINNING_ERR_SERIAL_NUMBER;
    }
    if (!PIN_read_algorithm(&tbs)) {
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
    if (!PIN_read_tbs_tail(&tbs, version)) {
        return PINNING_ERR_EXTENSIONS;
    }
    if (!PIN_read_algorithm(&certificate)) {
        return PINNING_ERR_SIGNATURE_ALGORITHM;
    }
    if (!PIN_read_bit_string(&certificate, PIN_TAG_BIT_STRING) || certificate.len != 0) {
        return PINNING_ERR_SIGNATURE_VALUE;
    }
    *out_spki = spki;
    return PINNING_OK;
}
