# Golden test of mojomc's C output (see CMakeLists.txt).
#   cmake -DMOJOMC=<exe> -DINPUT_DIR=<dir> -DEXPECTED_DIR=<dir> -DWORK_DIR=<dir>
#         [-DUPDATE=1] -P run_emit.cmake
# Compiles every .mojom under INPUT_DIR (with -I INPUT_DIR) twice, the second
# time with the inputs in reverse order; both outputs must be identical, and
# equal to EXPECTED_DIR. UPDATE=1 rewrites EXPECTED_DIR instead.
foreach(var MOJOMC INPUT_DIR EXPECTED_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_emit.cmake: ${var} is not set")
  endif()
endforeach()

file(GLOB_RECURSE inputs RELATIVE ${INPUT_DIR} ${INPUT_DIR}/*.mojom)
list(SORT inputs)
set(reversed ${inputs})
list(REVERSE reversed)

function(generate out_dir)
  file(REMOVE_RECURSE ${out_dir})
  execute_process(COMMAND ${MOJOMC} -I ${INPUT_DIR} -o ${out_dir} ${ARGN}
                  WORKING_DIRECTORY ${INPUT_DIR}
                  RESULT_VARIABLE status ERROR_VARIABLE err TIMEOUT 30)
  if(NOT status STREQUAL "0")
    message(FATAL_ERROR "mojomc failed (${status}):\n${err}")
  endif()
endfunction()

generate(${WORK_DIR}/out ${inputs})
generate(${WORK_DIR}/out_reversed ${reversed})

file(GLOB_RECURSE produced RELATIVE ${WORK_DIR}/out ${WORK_DIR}/out/*)
list(SORT produced)
if(UPDATE)
  file(REMOVE_RECURSE ${EXPECTED_DIR})
  file(COPY ${WORK_DIR}/out/ DESTINATION ${EXPECTED_DIR})
  message(STATUS "rewrote ${EXPECTED_DIR}: ${produced}")
  return()
endif()

file(GLOB_RECURSE expected RELATIVE ${EXPECTED_DIR} ${EXPECTED_DIR}/*)
list(SORT expected)
set(failed FALSE)
if(NOT produced STREQUAL expected)
  message(SEND_ERROR "files differ:\n  produced: ${produced}\n  expected: ${expected}")
  set(failed TRUE)
endif()
foreach(f ${produced})
  file(READ ${WORK_DIR}/out/${f} got)
  file(READ ${WORK_DIR}/out_reversed/${f} again)
  if(NOT got STREQUAL again)
    message(SEND_ERROR "${f}: output depends on the order of the inputs")
    set(failed TRUE)
  endif()
  if(EXISTS ${EXPECTED_DIR}/${f})
    file(READ ${EXPECTED_DIR}/${f} want)
    if(NOT got STREQUAL want)
      message(SEND_ERROR "${f} differs from ${EXPECTED_DIR}/${f}; "
                         "actual output in ${WORK_DIR}/out/${f}")
      set(failed TRUE)
    endif()
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "mojomc_emit_golden failed")
endif()
