# ctest script: builds the export probe library, then checks which of its
# symbols are exported. Inputs: BUILD_DIR, TARGET, LIBRARY, NM.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} failed")
endif()
execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()
if(NOT symbols MATCHES "[ \t]T[ \t]+MojoGetTimeTicksNow\n")
  message(FATAL_ERROR "MOJO_SYSTEM_EXPORT function is not exported:\n${symbols}")
endif()
if(symbols MATCHES "cm_export_probe_hidden")
  message(FATAL_ERROR "a function without MOJO_SYSTEM_EXPORT is exported")
endif()
