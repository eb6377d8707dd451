/* embedder: cmojo's I/O on the application's thread (cmojo/embedder.h).
 * The loop is the node controller's cm_io_loop, which in embedder mode has
 * no thread: its poller's epoll fd is the fd the application watches, and
 * cmojo_process() runs one non-blocking iteration of it. */
#include "cmojo/embedder.h"

#include "core/core.h"
#include "core/node_controller.h"

static bool embedded_ready(void) {
  return cm_core_is_initialized() && cm_node_controller_embedded();
}

int cmojo_get_fd(void) {
  if (!embedded_ready())
    return -1;
  return cm_platform_handle_fd(cm_io_loop_handle(cm_node_controller_loop()));
}

MojoResult cmojo_process(void) {
  if (!embedded_ready())
    return MOJO_RESULT_FAILED_PRECONDITION;
  return cm_io_loop_run_once(cm_node_controller_loop(), 0);
}

int64_t cmojo_get_timeout_us(void) {
  /* cmojo keeps no timers: everything it has to do makes the fd readable. */
  return -1;
}
