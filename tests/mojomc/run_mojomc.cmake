# Runs mojomc once and compares what it prints with an expected file.
#
# cmake -DMOJOMC=<exe> -DINPUT=<file.mojom> -DEXPECTED=<file> -DSTREAM=stdout|stderr
#       -DEXIT=<status> [-DWORKDIR=<dir>] [-DINCLUDE=<dir>] -P run_mojomc.cmake
#
# STREAM=stdout compares the --dump-layout output (a golden test); STREAM=stderr
# compares the error messages (a negative test). INCLUDE is passed as -I.
# A first line "// mojomc-args: ..." in INPUT adds arguments (e.g. -D flags),
# so a test's command line lives next to its input. The input is passed by
# its file name relative to WORKDIR, which keeps paths in messages stable.
foreach(var MOJOMC INPUT EXPECTED STREAM EXIT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_mojomc.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT DEFINED WORKDIR)
  get_filename_component(WORKDIR "${INPUT}" DIRECTORY)
endif()
file(RELATIVE_PATH rel "${WORKDIR}" "${INPUT}")

set(args "")
if(STREAM STREQUAL "stdout")
  list(APPEND args --dump-layout)
endif()
if(DEFINED INCLUDE)
  list(APPEND args -I "${INCLUDE}")
endif()
file(STRINGS "${INPUT}" first LIMIT_COUNT 1)
if(first MATCHES "^// mojomc-args: (.*)$")
  separate_arguments(more UNIX_COMMAND "${CMAKE_MATCH_1}")
  list(APPEND args ${more})
endif()

execute_process(
  COMMAND "${MOJOMC}" ${args} "${rel}"
  WORKING_DIRECTORY "${WORKDIR}"
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE status
  TIMEOUT 30)

if(STREAM STREQUAL "stdout")
  set(actual "${out}")
else()
  set(actual "${err}")
endif()
file(READ "${EXPECTED}" expected)

set(failed FALSE)
if(NOT status STREQUAL "${EXIT}")
  message(SEND_ERROR "exit status ${status}, expected ${EXIT}\nstderr:\n${err}")
  set(failed TRUE)
endif()
if(NOT actual STREQUAL expected)
  # Leave the actual output next to the build tree for a diff.
  get_filename_component(name "${EXPECTED}" NAME)
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/${name}.actual" "${actual}")
  message(SEND_ERROR "${STREAM} differs from ${EXPECTED}; actual output written to "
                     "${CMAKE_CURRENT_BINARY_DIR}/${name}.actual\n--- actual:\n${actual}")
  set(failed TRUE)
endif()
if(failed)
  message(FATAL_ERROR "mojomc test failed: ${rel}")
endif()
