# Driver of the install_consumers test (see CMakeLists.txt).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rv EQUAL 0)
    message(FATAL_ERROR "failed (${rv}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --build ${BUILD_DIR} --target cmojo cmojo_static)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# The example program of README.md, taken from the README itself so the two
# cannot drift apart.
file(READ ${SOURCE_DIR}/README.md readme)
string(REGEX MATCH "```c\n(#include <stdio.h>[^`]*)```" _ "${readme}")
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "README.md has no C example")
endif()
file(WRITE ${WORK_DIR}/example.c "${CMAKE_MATCH_1}")

# 1. pkg-config
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig:${prefix}/lib/x86_64-linux-gnu/pkgconfig)
execute_process(COMMAND pkg-config --cflags --libs cmojo OUTPUT_VARIABLE flags
                RESULT_VARIABLE rv OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "pkg-config cannot find cmojo.pc under ${prefix}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${C_COMPILER} ${WORK_DIR}/example.c ${flags} -o ${WORK_DIR}/example_pc)
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib
                        ${WORK_DIR}/example_pc
                OUTPUT_VARIABLE out RESULT_VARIABLE rv)
if(NOT rv EQUAL 0 OR NOT out STREQUAL "hello\n")
  message(FATAL_ERROR "pkg-config build printed '${out}' (exit ${rv})")
endif()

# 2. find_package(cmojo)
file(MAKE_DIRECTORY ${WORK_DIR}/consumer)
file(WRITE ${WORK_DIR}/consumer/CMakeLists.txt
"cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(cmojo REQUIRED)
add_executable(example ${WORK_DIR}/example.c)
target_link_libraries(example PRIVATE cmojo::cmojo_static)
")
run(${CMAKE_COMMAND} -S ${WORK_DIR}/consumer -B ${WORK_DIR}/consumer/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer/build)
execute_process(COMMAND ${WORK_DIR}/consumer/build/example OUTPUT_VARIABLE out RESULT_VARIABLE rv)
if(NOT rv EQUAL 0 OR NOT out STREQUAL "hello\n")
  message(FATAL_ERROR "find_package build printed '${out}' (exit ${rv})")
endif()
