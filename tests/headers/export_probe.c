/* Built as a shared library the way libcmojo is built (-fvisibility=hidden,
 * CMOJO_IMPLEMENTATION defined) by tests/headers/CMakeLists.txt, whose test
 * then checks the dynamic symbol table: a function declared with
 * MOJO_SYSTEM_EXPORT must be exported, an ordinary one must not. */

#include "mojo/public/c/system/functions.h"

MojoTimeTicks MojoGetTimeTicksNow(void) {
  return 0;
}

int cm_export_probe_hidden(void);
int cm_export_probe_hidden(void) {
  return 1;
}
