/* Whole-file reads and crash-safe replacement of small files. */
#ifndef PMBASE_FILE_H
#define PMBASE_FILE_H

#include "pmbase/error.h"

#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole regular file into a NUL-terminated buffer the caller frees.
 * Refuses anything that is not a regular file (a FIFO would block forever) and
 * files larger than max_bytes (0: no limit). Fails with PMB_EINPUT for a path
 * that cannot be used and PMB_ERUNTIME for an I/O error while reading. */
int pmb_file_read(const char *path, size_t max_bytes, char **data, size_t *len, pmb_error *err);

/* Reads an open stream to its end; name labels messages (e.g. "stdin"). */
int pmb_stream_read(FILE *f, const char *name, size_t max_bytes, char **data, size_t *len,
                    pmb_error *err);

/* Replaces path with data so that a reader or a crash sees either the old or
 * the new content: a fresh temporary in the same directory (O_EXCL, never
 * through a symbolic link), fsync, rename over path, fsync the directory. */
int pmb_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          pmb_error *err);

/* Creates dir and its missing parents (mode 0755); succeeds when it exists. */
int pmb_mkdirs(const char *dir, pmb_error *err);

#ifdef __cplusplus
}
#endif

#endif
