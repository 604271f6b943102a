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

/* PIN_parse_header reads the identifier and length octets of the strict-DER element at the front of
 * |cursor| without moving it: its identifier octet into |out_tag|, its header length into
 * |out_header_len| and its whole length (header and contents, known to fit in |cursor|) into
 * |out_element_len|. Returns 1, or 0 when the element is not strict DER or is truncated. Every read
 * below is at an index already checked against cursor->len. */
static int PIN_parse_header(uint8_t *out_tag, size_t *out_header_len, size_t *out_element_len,
                            const PIN_cursor *cursor) {
    const uint8_t *bytes = cursor->data;
    size_t avail = cursor->len;
    size_t length;
    size_t header_len;
    uint8_t tag;
    uint8_t first_length_octet;

    if (avail < 2) {
        return 0;
    }
    tag = bytes[0];
    /* 8.1.2.4: the high-tag-number form (tag number 31 and up) is not needed by X.509; refuse it.
     * 8.1.5, X.680 8.6: universal tag number 0 is reserved for end-of-contents (BER only). */
    if ((tag & 0x1f) == 0x1f || (tag & 0xdf) == 0x00) {
        return 0;
    }
    first_length_octet = bytes[1];
    if ((first_length_octet & 0x80) == 0) {
        /* 8.1.3.4: the short form, lengths 0..127. */
        length = first_length_octet;
        header_len = 2;
    } else {
        size_t num_length_octets = first_length_octet & 0x7fu;
        /* 8.1.3.6 and 10.1: 0x80 is the indefinite form, which DER forbids. 8.1.3.5: at most 4
         * length octets here (4 GiB), which also refuses the reserved 0xff. */
        if (num_length_octets == 0 || num_length_octets > 4 || avail - 2 < num_length_octets) {
            return 0;
        }
        /* 10.1: the fewest octets; a leading zero octet is not minimal. */
        if (bytes[2] == 0) {
            return 0;
        }
        length = 0;
        for (size_t i = 0; i < num_length_octets; i++) {
            length = (length << 8) | bytes[2 + i];
        }
        /* 10.1: lengths under 128 must use the short form. */
        if (length < 128) {
            return 0;
        }
        header_len = 2 + num_length_octets;
    }
    /* The contents must fit in what remains (this also rules out size_t overflow). */
    if (length > avail - header_len) {
        return 0;
    }
    *out_tag = tag;
    *out_header_len = header_len;
    *out_element_len = header_len + length;
    return 1;
}

int PIN_cursor_get_any_element(PIN_cursor *out, uint8_t *out_tag, size_t *out_header_len,
                               PIN_cursor *cursor) {
    uint8_t tag;
    size_t header_len;
    size_t element_len;
    if (!PIN_parse_header(&tag, &header_len, &element_len, cursor) ||
        !PIN_cursor_get_bytes(out, cursor, element_len)) {
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
    uint8_t actual_tag;
    size_t header_len;
    size_t element_len;
    return PIN_parse_header(&actual_tag, &header_len, &element_len, cursor) &&
           actual_tag == tag && PIN_cursor_get_bytes(out, cursor, element_len);
}

int PIN_cursor_get_contents(PIN_cursor *out, PIN_cursor *cursor, uint8_t tag) {
    uint8_t actual_tag;
    size_t header_len;
    size_t element_len;
    if (!PIN_parse_header(&actual_tag, &header_len, &element_len, cursor) || actual_tag != tag ||
        !PIN_cursor_skip(cursor, header_len)) {
        return 0;
    }
    return PIN_cursor_get_bytes(out, cursor, element_len - header_len);
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
