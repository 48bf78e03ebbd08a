/* Library code that must say why writes one line to a caller's buffer and
 * returns the error it was given: `return errbuf(r, err, errlen, "...", ...);`. */
#ifndef EPHEMERA_ERRBUF_H
#define EPHEMERA_ERRBUF_H

#include <stddef.h>

int errbuf(int r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
