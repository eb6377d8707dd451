/* A program outside cmojo's tree: builds a Greet request with the
 * generated wrapper, validates it with the generated interface table and
 * decodes it back. Prints "ok" when all of that works. */
#include <stdio.h>
#include <string.h>

#include "hello/greeter.mojom.h"

int main(void) {
  hello_mojom_Greeting g = {{5, "hello"}, 3};
  cmojo_wire_message m;
  if (hello_mojom_Greeter_Greet_build_request(0, 1, &g, &m) != MOJO_RESULT_OK)
    return 1;
  cmojo_wire_error e = cmojo_wire_validate_message(
      m.bytes, m.num_bytes, 0, &hello_mojom_Greeter_desc, CMOJO_WIRE_REQUEST, NULL, NULL);
  hello_mojom_Greeter_Greet_Params *p = NULL;
  if (e != CMOJO_WIRE_ERROR_NONE || hello_mojom_Greeter_Greet_decode_request(
                                        m.bytes, m.num_bytes, NULL, 0, &p, NULL) != MOJO_RESULT_OK)
    return 1;
  int same = p->greeting->times == 3 && memcmp(p->greeting->text.data, "hello", 5) == 0;
  cmojo_wire_free(p);
  cmojo_wire_message_free(&m);
  puts(same ? "ok" : "mismatch");
  return same ? 0 : 1;
}
