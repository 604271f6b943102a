/* cert.h: the certificate walk (internal to the pinning core). */
#ifndef PINNING_CERT_H
#define PINNING_CERT_H

#include "der.h"
#include "pinning.h"

/* PIN_certificate_spki walks the DER certificate in |input|, which must hold exactly one
 * Certificate, and sets |out_spki| to its SubjectPublicKeyInfo element, header included. Returns
 * PINNING_OK or the status naming the first field that failed. */
pinning_status PIN_certificate_spki(PIN_cursor *out_spki, const PIN_cursor *input);

#endif /* PINNING_CERT_H */
