/*
 * Error reporting in the one format every stage uses:
 *
 *   file:line:col: error: message
 *   <the source line>
 *   <spaces>^
 *
 * The caret line is only printed when the location names a source. Errors
 * are counted so each stage can stop the pipeline once something failed; the
 * count is process-wide because mojomc handles one compilation per process.
 */
#ifndef MOJOMC_DIAG_H
#define MOJOMC_DIAG_H

#include "ast.h"

void mc_error(struct mc_loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error that belongs to no source position (command line, I/O). */
void mc_error_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mc_error_count(void);

#endif
