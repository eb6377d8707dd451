/* Parser for the text format of Mojo's validation corpus (`*.data`), used by
 * the conformance test and by the fuzz seed replay.
 *
 * Items are whitespace separated, `//` comments run to the end of the line.
 * `[u1|u2|u4|u8]N`, `[s1|s2|s4|s8]N` little-endian integers (decimal or 0x
 * hex); a bare item is a u1; `[b]01010101` one byte written MSB first;
 * `[f]`/`[d]` IEEE floats; `[dist4]ID` / `[dist8]ID` the distance in bytes
 * from the start of that item to `[anchr]ID`, which marks a position and
 * emits nothing; `[handles]N` (first item only) the number of handles
 * attached to the message.
 */
#ifndef CMOJO_TESTS_WIRE_VALIDATION_INPUT_H_
#define CMOJO_TESTS_WIRE_VALIDATION_INPUT_H_

#include <stddef.h>
#include <stdint.h>

typedef struct cm_vinput {
  uint8_t *bytes; /* malloc'd, may be NULL when num_bytes is 0 */
  size_t num_bytes;
  uint32_t num_handles;
} cm_vinput;

/* Parses `len` bytes of `text`. Returns 0 and fills *out, or -1 and writes
 * a message to `err` (of `err_len` bytes). */
int cm_vinput_parse(const char *text, size_t len, cm_vinput *out, char *err, size_t err_len);

void cm_vinput_free(cm_vinput *in);

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL on error. */
char *cm_vinput_read_file(const char *path, size_t *out_len);

/* Sorted names of the files in `dir` ending in `suffix`, with the suffix
 * cut off; NULL if the directory cannot be read. Free each name and the
 * array. */
char **cm_vinput_list(const char *dir, const char *suffix, size_t *count);

#endif /* CMOJO_TESTS_WIRE_VALIDATION_INPUT_H_ */
