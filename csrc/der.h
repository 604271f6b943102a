/* der.h: a non-owning, bounds-checked cursor over strict DER (internal to the pinning core).
 *
 * Modelled on BoringSSL's CBS: a cursor is a (pointer, length) view into the caller's buffer and
 * never owns memory. PIN_cursor_skip in der.c is the only place that advances the pointer, after
 * checking the length; every reader is built on it, so no other code does pointer arithmetic.
 * Readers return 1 on success and 0 on failure; on failure the cursor is left unchanged. */
#ifndef PINNING_DER_H
#define PINNING_DER_H

#include <stddef.h>
#include <stdint.h>

/* Tags are the raw identifier octet (X.690 8.1.2). */
#define PIN_TAG_INTEGER 0x02
#define PIN_TAG_BIT_STRING 0x03
#define PIN_TAG_SEQUENCE 0x30
#define PIN_TAG_VERSION 0xa0           /* [0] EXPLICIT, constructed */
#define PIN_TAG_ISSUER_UID 0x81        /* [1] IMPLICIT BIT STRING, primitive */
#define PIN_TAG_SUBJECT_UID 0x82       /* [2] IMPLICIT BIT STRING, primitive */
#define PIN_TAG_EXTENSIONS 0xa3        /* [3] EXPLICIT, constructed */

/* PIN_cursor is a view of |len| bytes at |data|. */
typedef struct {
    const uint8_t *data;
    size_t len;
} PIN_cursor;

/* PIN_cursor_init sets |cursor| to view |len| bytes at |data|. */
void PIN_cursor_init(PIN_cursor *cursor, const uint8_t *data, size_t len);

/* PIN_cursor_get_u8 reads one byte into |out|. Returns 1, or 0 when the cursor is empty. */
int PIN_cursor_get_u8(uint8_t *out, PIN_cursor *cursor);

/* PIN_cursor_get_bytes moves the next |len| bytes into the view |out| (NULL: skip them). Returns 1,
 * or 0 when fewer than |len| bytes remain. */
int PIN_cursor_get_bytes(PIN_cursor *out, PIN_cursor *cursor, size_t len);

/* PIN_cursor_get_any_element reads one strict-DER element, header included, into |out| (NULL:
 * skip it), with its identifier octet in |out_tag| and its header length in |out_header_len| (both
 * may be NULL). Returns 1, or 0 when the element is not strict DER or is truncated. */
int PIN_cursor_get_any_element(PIN_cursor *out, uint8_t *out_tag, size_t *out_header_len,
                               PIN_cursor *cursor);

/* PIN_cursor_get_element reads one strict-DER element whose identifier octet is |tag|, header
 * included, into |out| (NULL: skip it). Returns 1, or 0 on a malformed element or another tag. */
int PIN_cursor_get_element(PIN_cursor *out, PIN_cursor *cursor, uint8_t tag);

/* PIN_cursor_get_contents is PIN_cursor_get_element but |out| gets the contents only. */
int PIN_cursor_get_contents(PIN_cursor *out, PIN_cursor *cursor, uint8_t tag);

/* PIN_cursor_get_optional_contents reads an element tagged |tag| if the next byte is |tag|, setting
 * *out_present to 1, or leaves the cursor as it is and sets *out_present to 0. Returns 0 only when
 * a present element is malformed. |out| may be NULL. */
int PIN_cursor_get_optional_contents(PIN_cursor *out, int *out_present, PIN_cursor *cursor,
                                     uint8_t tag);

/* PIN_cursor_offset writes to |out_offset| where |part| starts inside |whole|. Returns 1, or 0 when
 * |part| does not lie inside |whole|. */
int PIN_cursor_offset(size_t *out_offset, const PIN_cursor *whole, const PIN_cursor *part);

#endif /* PINNING_DER_H */
