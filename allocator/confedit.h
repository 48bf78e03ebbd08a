/* Editing the [gateway] accounts line of ephemera.conf in place.  Every other
 * line (comments, other sections, the order) stays as it was, and the file
 * keeps its owner and mode.  The new text is written to a temporary file in
 * the same directory, fsynced, read back with config_load() (it must parse,
 * and say what was asked), then renamed over the old file and the directory
 * fsynced: a reader sees the old file or the new one, never half of it. */
#ifndef EPHEMERA_CONFEDIT_H
#define EPHEMERA_CONFEDIT_H

#include <stdbool.h>
#include <stddef.h>

/* Adds user to (add) or removes it from the accounts of [gateway] in the file
 * at path.  A missing [gateway] section or accounts line is created (a
 * missing file too, mode 0644).  Returns 1 when the file changed, 0 when it
 * already said so, -errno with a reason in err otherwise.  The file and its
 * directory must be root's and not writable by group or others. */
int confedit_gateway(const char *path, const char *user, bool add, char *err, size_t errlen);

#endif
