/* der.c: the strict DER cursor. See der.h. Clause numbers refer to ITU-T X.690 (02/2021). */
#include "der.h"

void PIN_cursor_init(PIN_cursor *cursor, const uint8_t *data, size_t len) {
    cursor->data = data;
    cursor->len = len;
}

/* PIN_cursor_skip is the one place that advances a cursor. It moves |cursor| past |len| bytes and
 * returns 1, or returns 0 and leaves it unchanged when fewer than |len| bytes remain. */
static int PIN_cursor_skip(PIN_cursor *cursor, size_t len) {
    if (len > cursor->len) {
        return 0;
    }
    /* An empty cursor may hold a NULL pointer (the API allows NULL with length 0), and NULL + 0 is
     * undefined in C (C11 6.5.6p8; UBSan: "applying zero offset to null pointer"). */
    if (len == 0) {
        return 1;
    }
    cursor->data += len;
    cursor->len -= len;
    return 1;
}

int PIN_cursor_get_u8(uint8_t *out, PIN_cursor *cursor) {
    if (cursor->len < 1) {
        return 0;
    }
    *out = cursor->data[0];
    return PIN_cursor_skip(cursor, 1);
}

int PIN_cursor_get_bytes(PIN_cursor *out, PIN_cursor *cursor, size_t len) {
    const uint8_t *start = cursor->data;
    if (!PIN_cursor_skip(cursor, len)) {
        return 0;
    }
    if (out != NULL) {
        PIN_cursor_init(out, start, len);
    }
    return 1;
}

int PIN_cursor_get_any_element(PIN_cursor *out, uint8_t *out_tag, size_t *out_header_len,
                               PIN_cursor *cursor) {
    PIN_cursor header = *cursor;
    uint8_t tag;
    uint8_t first_length_octet;
    size_t length;
    size_t header_len;

    if (!PIN_cursor_get_u8(&tag, &header)) {
        return 0;
    }
    /* 8.1.2.4: the high-tag-number form (tag number 31 and up) is not needed by X.509; refuse it. */
    if ((tag & 0x1f) == 0x1f) {
        return 0;
    }
    /* 8.1.5, X.680 8.6: universal tag number 0 is reserved for end-of-contents (BER only). */
    if ((tag & 0xdf) == 0x00) {
        return 0;
    }
    if (!PIN_cursor_get_u8(&first_length_octet, &header)) {
        return 0;
    }
    if ((first_length_octet & 0x80) == 0) {
        /* 8.1.3.4: the short form, lengths 0..127. */
        length = first_length_octet;
    } else {
        size_t num_length_octets = first_length_octet & 0x7f;
        uint8_t octet;
        /* 8.1.3.6 and 10.1: 0x80 is the indefinite form, which DER forbids. */
        if (num_length_octets == 0) {
            return 0;
        }
        /* 8.1.3.5: at most 4 length octets here (4 GiB), which also refuses the reserved 0xff. */
        if (num_length_octets > 4) {
            return 0;
        }
        length = 0;
        for (size_t i = 0; i < num_length_octets; i++) {
            if (!PIN_cursor_get_u8(&octet, &header)) {
                return 0;
            }
            /* 10.1: the fewest octets; a leading zero octet is not minimal. */
            if (i == 0 && octet == 0) {
                return 0;
            }
            length = (length << 8) | octet;
        }
        /* 10.1: lengths under 128 must use the short form. */
        if (length < 128) {
            return 0;
        }
    }
    header_len = cursor->len - header.len;
    /* The header and contents must not overflow size_t (possible on 32-bit targets). */
    if (length > SIZE_MAX - header_len) {
        return 0;
    }
    if (!PIN_cursor_get_bytes(out, cursor, header_len + length)) {
        return 0;
    }
    if (out_tag != NULL) {
        *out_tag = tag;
    }
    if (out_header_len != NULL) {
        *out_header_len = header_len;
    }
    return 1;
}

int PIN_cursor_get_element(PIN_cursor *out, PIN_cursor *cursor, uint8_t tag) {
    PIN_cursor copy = *cursor;
    PIN_cursor element;
    uint8_t actual_tag;
    if (!PIN_cursor_get_any_element(&element, &actual_tag, NULL, &copy) || actual_tag != tag) {
        return 0;
    }
    if (out != NULL) {
        *out = element;
    }
    *cursor = copy;
    return 1;
}

int PIN_cursor_get_contents(PIN_cursor *out, PIN_cursor *cursor, uint8_t tag) {
    PIN_cursor copy = *cursor;
    PIN_cursor element;
    uint8_t actual_tag;
    size_t header_len;
    if (!PIN_cursor_get_any_element(&element, &actual_tag, &header_len, &copy) ||
        actual_tag != tag || !PIN_cursor_skip(&element, header_len)) {
        return 0;
    }
    if (out != NULL) {
        *out = element;
    }
    *cursor = copy;
    return 1;
}

int PIN_cursor_get_optional_contents(PIN_cursor *out, int *out_present, PIN_cursor *cursor,
                                     uint8_t tag) {
    if (cursor->len == 0 || cursor->data[0] != tag) {
        *out_present = 0;
        return 1;
    }
    *out_present = 1;
    return PIN_cursor_get_contents(out, cursor, tag);
}

int PIN_cursor_offset(size_t *out_offset, const PIN_cursor *whole, const PIN_cursor *part) {
    /* Compare addresses as integers: relational operators on pointers into different objects are
     * undefined behaviour. */
    uintptr_t whole_start = (uintptr_t)whole->data;
    uintptr_t part_start = (uintptr_t)part->data;
    if (part_start < whole_start || part_start - whole_start > whole->len ||
        part->len > whole->len - (part_start - whole_start)) {
        return 0;
    }
    *out_offset = part_start - whole_start;
    return 1;
}
