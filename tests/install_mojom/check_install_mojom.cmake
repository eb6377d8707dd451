# Driver of install_mojom_generate (see CMakeLists.txt).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rv EQUAL 0)
    message(FATAL_ERROR "failed (${rv}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --build ${BUILD_DIR} --target cmojo cmojo_static mojomc cmojo-validate)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# pkg-config names the installed compiler.
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig:${prefix}/lib/x86_64-linux-gnu/pkgconfig)
execute_process(COMMAND pkg-config --variable=mojomc cmojo OUTPUT_VARIABLE mojomc
                RESULT_VARIABLE rv OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rv EQUAL 0 OR NOT EXISTS "${mojomc}")
  message(FATAL_ERROR "pkg-config --variable=mojomc cmojo gave '${mojomc}' (exit ${rv})")
endif()
run(${mojomc} -I ${SOURCE_DIR}/consumer/mojom -o ${WORK_DIR}/pc_out
    ${SOURCE_DIR}/consumer/mojom/hello/greeter.mojom)
if(NOT EXISTS ${WORK_DIR}/pc_out/hello/greeter.mojom.c)
  message(FATAL_ERROR "the installed mojomc wrote nothing")
endif()
if(NOT EXISTS ${prefix}/bin/cmojo-validate)
  message(FATAL_ERROR "cmojo-validate is not installed")
endif()

# find_package(cmojo) + cmojo_mojom_generate().
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/consumer -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
execute_process(COMMAND ${WORK_DIR}/consumer/greeter OUTPUT_VARIABLE out RESULT_VARIABLE rv)
if(NOT rv EQUAL 0 OR NOT out STREQUAL "ok\n")
  message(FATAL_ERROR "the consumer printed '${out}' (exit ${rv})")
endif()
