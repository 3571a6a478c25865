/*
 * Small files that hold secrets: key files, wrapped shares, PIN state.
 *
 * Writes are atomic and private: a 0600 temp file in the same directory,
 * fsync, rename (or link, for MK_FILE_EXCL), fsync of the directory, so a
 * reader sees the old or the new content, never a mix, even after a crash.
 * Reads have a hard size cap and can refuse a file other users could read.
 * The CLI's profile directory, the keytool and mkeyd's KEK file use both.
 */
#ifndef MK_UTIL_FILE_H
#define MK_UTIL_FILE_H

#include "mkey/mkey.h"
#include "util/buf.h"

#define MK_FILE_MAX (64u * 1024u) /* default cap for key and share files */

enum mk_file_flags {
  /* write: fail with MK_ECONFLICT when path exists instead of replacing it,
   * so two processes creating the same key file agree on one content. */
  MK_FILE_EXCL = 1u << 0,
  /* read: refuse (MK_EPERM) a file that is not a regular file owned by this
   * user with no group or other permission bits (0600 or 0400). */
  MK_FILE_PRIVATE = 1u << 1,
};

/* Write len bytes of data to path with mode 0600, atomically (see above).
 * flags: 0 or MK_FILE_EXCL. The directory must exist. On failure path is
 * untouched and no temp file is left behind. */
int mk_file_write_private(const char *path, const void *data, size_t len, unsigned flags,
                          mk_err *e) MK_MUST_CHECK;

/* Read the whole of path into out, which this function initialises with cap
 * max (out is empty on failure; the caller frees it with mk_buf_free_secret
 * on success). flags: 0 or MK_FILE_PRIVATE, checked on the opened file so a
 * rename in between cannot swap it. MK_ENOTFOUND when path does not exist,
 * MK_ETOOBIG when it holds more than max bytes. */
int mk_file_read_capped(const char *path, size_t max, unsigned flags, mk_buf *out,
                        mk_err *e) MK_MUST_CHECK;

#endif
